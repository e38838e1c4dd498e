"""What the sampling commands write: WAVs with spectrogram PNGs, and embeddings.

Every file is written atomically, and existing ones are kept unless ``force``.
"""

import json
import os
from pathlib import Path

import h5py
import numpy as np

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_hdf5, atomic_path
from chainer_wavenet.visualizations.plots import save_spectrogram, save_spectrograms_side_by_side


def check_free(folder, stems, force, suffixes=(".wav", ".png")):
    """WaveNetError for the first output that exists, unless ``force``: checked before slow work."""
    if force:
        return
    for stem in stems:
        for suffix in suffixes:
            path = Path(folder) / f"{stem}{suffix}"
            if os.path.lexists(path):
                raise WaveNetError(f"{path}: already exists; pass --force to overwrite it "
                                   f"or choose another --out")


def unused_stems(folder, stems, force, suffixes=(".wav", ".png")):
    """``stems``, or with ``force`` as they are; otherwise, if any of their files exists,
    each with the smallest ``_<n>`` (n >= 2) that names no existing file: a second run (a
    temperature sweep) adds files beside the first run's instead of stopping."""
    if force:
        return list(stems)

    def taken(candidates):
        return any(os.path.lexists(Path(folder) / f"{stem}{suffix}")
                   for stem in candidates for suffix in suffixes)

    candidates, n = list(stems), 1
    while taken(candidates):
        n += 1
        candidates = [f"{stem}_{n}" for stem in stems]
    return candidates


def write_outputs(folder, stem, audio, rate, force=False, original=None, primed=0):
    """Write <stem>.wav and its spectrogram <stem>.png (beside ``original`` if given); the
    PNG marks where a prime of ``primed`` samples at the start of ``audio`` ends."""
    wav = Path(folder) / f"{stem}.wav"
    png = wav.with_suffix(".png")
    write_wav(wav, audio, rate, force=force)
    mark = (primed / rate, "prime ends") if primed else None
    if original is None:
        save_spectrogram(png, audio, rate, title=stem, force=force, mark=mark)
    else:
        save_spectrograms_side_by_side(png, [("original", original), (stem, audio)], rate,
                                       force=force, mark=mark)
    return wav, png


def write_interrupted(folder, stems, stop, rate, force=False, originals=None):
    """After Ctrl-C (``stop``, a GenerationInterrupted): write the takes it finished under
    their stems and those it cut short, if they hold any new sample, as ``<stem>_partial``;
    each a WAV with its PNG, beside existing files. Returns (wav, samples, whole) per take.
    """
    originals = [None] * len(stems) if originals is None else originals
    whole = list(range(stop.finished))
    cut = list(range(stop.finished, len(stop.samples))) if stop.generated else []
    names = ([stems[i] for i in whole] +
             unused_stems(folder, [f"{stems[i]}_partial" for i in cut], force))
    written = []
    for name, i in zip(names, whole + cut, strict=True):
        samples, original = stop.samples[i], originals[i]
        if original is not None:
            original = original[:len(samples)]
        wav, _ = write_outputs(folder, name, samples, rate, force, original, stop.primed)
        written.append((wav, len(samples), i < stop.finished))
    return written


def interrupted_lines(written, rate):
    """What to say of the takes :func:`write_interrupted` wrote: a line each, or that none."""
    if not written:
        return ["interrupted before any sample was generated: nothing written"]
    return [f"wrote {wav} ({samples} samples, {samples / rate:.2f} s at {rate} Hz"
            f"{'' if whole else ', cut short by the interrupt'}) and its PNG"
            for wav, samples, whole in written]


def save_embeddings(path, zs, names, pitches, hop, rate, force=False):
    """Write z (N, bottleneck, frames), note names and pitches (-1: unknown) to HDF5 ``path``."""
    shapes = {z.shape for z in zs}
    if len(shapes) > 1:
        raise WaveNetError(f"{path}: notes differ in length ({len(shapes)} z shapes); cut them "
                           f"to one length with --seconds, or use --format npy")
    with atomic_hdf5(path, force=force) as f:
        f.create_dataset("z", data=np.stack(zs))
        f.create_dataset("names", data=np.array(names, dtype=object),
                         dtype=h5py.string_dtype())
        f.create_dataset("pitches", data=np.array([-1 if p is None else p for p in pitches],
                                                  np.int32))
        f.attrs["hop"] = hop
        f.attrs["sample_rate"] = rate


def save_npy(path, z, force=False):
    """Write one note's z to ``path`` in NumPy's .npy format, atomically."""
    with atomic_path(path, force=force) as temporary, open(temporary, "wb") as handle:
        np.save(handle, z)


def save_json(path, data, force=False):
    """Write ``data`` to ``path`` as indented JSON, atomically."""
    with atomic_path(path, force=force) as temporary, open(temporary, "w") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
