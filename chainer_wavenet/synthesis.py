"""From a trained model to audio: what the sample commands and training-time samples share.

WaveNet: free-running generation, primed from a WAV and conditioned on a speaker if asked.
Autoencoder: notes -> z -> audio at their own or another pitch, and straight paths between
two notes' z. Notes are cut to whole frames of the encoder's hop.
"""

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from chainer_wavenet import mu_law
from chainer_wavenet.audio import read_wav, write_wav
from chainer_wavenet.autoencoder import WaveNetAutoencoder
from chainer_wavenet.data import nsynth
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_path
from chainer_wavenet.generate import generate
from chainer_wavenet.plots import save_spectrogram, save_spectrograms_side_by_side

DEFAULT_SAMPLE_RATE = 16000
MIDI_PITCHES = 128


def sample_rate(model):
    """The sample rate a model was trained at (its snapshot's metadata; 16 kHz if unknown)."""
    return int(getattr(model, "metadata", {}).get("sample_rate", DEFAULT_SAMPLE_RATE))


def check_model(model, path, autoencoder):
    """WaveNetError unless ``model`` (loaded from ``path``) is the kind a command needs."""
    if autoencoder and not isinstance(model, WaveNetAutoencoder):
        raise WaveNetError(f"{path}: is a WaveNet snapshot, not an autoencoder; "
                           f"use sample/wavenet.py")
    if not autoencoder and isinstance(model, WaveNetAutoencoder):
        raise WaveNetError(f"{path}: is an autoencoder snapshot; use sample/autoencoder.py")
    if not autoencoder and model.config.local_channels:
        raise WaveNetError(f"{path}: this WaveNet needs local features at every step, "
                           f"which sample/wavenet.py cannot supply")


def parse_duration(text, rate, flag):
    """Samples meant by ``text``: a count ("16000") or seconds with an s suffix ("2.5s")."""
    text = str(text).strip()
    try:
        samples = round(float(text[:-1]) * rate) if text.endswith("s") else int(text)
    except (ValueError, OverflowError):
        raise WaveNetError(f"{flag}: expected samples (16000) or seconds with an s suffix "
                           f"(2.5s), got {text!r}") from None
    if samples < 1:
        raise WaveNetError(f"{flag}: must be at least one sample, got {text!r}")
    return samples


def speaker_id(model, speaker):
    """The global id of ``speaker`` (a name from the snapshot's metadata, or an id).

    None for a model without global conditioning, which must then get no speaker; a model
    with a single speaker needs none named.
    """
    n_global = model.config.n_global
    names = list(getattr(model, "metadata", {}).get("speakers", []))
    if not n_global:
        if speaker is not None:
            raise WaveNetError("--speaker: this model is not conditioned on speakers; "
                               "leave --speaker out")
        return None
    if speaker is None and n_global == 1:
        return 0
    known = ", ".join(f"{i} = {name}" for i, name in enumerate(names[:20]))
    known = (known + (", ..." if len(names) > 20 else "")) if names else f"ids 0..{n_global - 1}"
    if speaker is None:
        raise WaveNetError(f"--speaker: this model is conditioned on {n_global} speakers; "
                           f"choose one ({known})")
    speaker = str(speaker)
    if speaker in names:
        return names.index(speaker)
    if speaker.isdigit() and int(speaker) < n_global:
        return int(speaker)
    raise WaveNetError(f"--speaker: unknown speaker {speaker!r}; known: {known}")


def read_prime(path, model, length):
    """Mu-law classes of the first ``length`` samples of WAV ``path`` (all if it is shorter)."""
    audio = read_wav(path, sample_rate(model))[:length]
    return mu_law.encode(audio, model.config.n_classes)


def sample_audio(wavenet, length, batch_size=1, temperature=1.0, speaker=None, prime=None,
                 seed=None, progress=True):
    """Float32 audio (batch, len(prime) + length): the prime (if any), then new samples."""
    global_ids = None if speaker is None else wavenet.xp.full(batch_size, speaker, np.int32)
    primes = None if prime is None else np.tile(np.asarray(prime, np.int32), (batch_size, 1))
    classes = generate(wavenet, length, batch_size, temperature, global_ids, prime=primes,
                       seed=seed, progress=progress)
    if primes is not None:
        classes = np.concatenate([primes, classes], axis=1)
    return mu_law.decode(classes, wavenet.config.n_classes)


def check_pitch(pitch, flag="--pitch"):
    """``pitch`` as an int; WaveNetError unless it is a MIDI pitch 0..127."""
    if not 0 <= int(pitch) < MIDI_PITCHES:
        raise WaveNetError(f"{flag}: MIDI pitch must be in 0..{MIDI_PITCHES - 1}, got {pitch}")
    return int(pitch)


def parse_pitches(text):
    """MIDI pitches from a comma-separated list such as "48,55,60"."""
    try:
        pitches = [int(p) for p in text.split(",")]
    except ValueError:
        raise WaveNetError(f"--pitches: expected MIDI pitches separated by commas "
                           f"(48,55,60), got {text!r}") from None
    return [check_pitch(p, "--pitches") for p in pitches]


def decode(model, z, pitches, temperature=1.0, seed=None, progress=True):
    """Float32 audio (batch, frames * hop) decoded from z (batch, bottleneck, frames).

    ``pitches``: one MIDI pitch per note, or one for all. The first sample of each note
    is the silence the decoder starts from; the other frames * hop - 1 are generated.
    A 2-D z (one note) gives 1-D audio.
    """
    decoder = model.decoder
    xp = model.xp
    single = z.ndim == 2
    z = xp.asarray(z, np.float32).reshape((-1,) + z.shape[-2:])
    batch, channels, frames = z.shape
    if channels != decoder.config.local_channels:
        raise WaveNetError(f"z has {channels} channels; this model's bottleneck has "
                           f"{decoder.config.local_channels}")
    try:
        pitches = np.broadcast_to(np.asarray(pitches, np.int64), (batch,))
    except ValueError:
        raise WaveNetError(f"need one pitch per note ({batch}), got {pitches}") from None
    if pitches.min() < 0 or pitches.max() >= decoder.config.n_global:
        raise WaveNetError(f"pitches must lie in 0..{decoder.config.n_global - 1}, "
                           f"got {pitches.tolist()}")
    silence = decoder.config.n_classes // 2
    classes = np.full((batch, frames * model.hop), silence, np.int32)
    if classes.shape[1] > 1:
        classes[:, 1:] = generate(decoder, classes.shape[1] - 1, batch, temperature,
                                  xp.asarray(pitches, np.int32), z, seed=seed,
                                  progress=progress)
    audio = mu_law.decode(classes, decoder.config.n_classes)
    return audio[0] if single else audio


def interpolate(z_a, z_b, steps):
    """``steps`` z (steps, bottleneck, frames) on the straight line from z_a to z_b, ends included.

    When the notes differ in length, the longer z is cut to the frames of the shorter.
    """
    if steps < 2:
        raise WaveNetError(f"--steps must be at least 2 (both ends are included), got {steps}")
    frames = min(z_a.shape[-1], z_b.shape[-1])
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None]
    return (1 - weights) * z_a[..., :frames] + weights * z_b[..., :frames]


def _chunks(items, batch_size, key):
    """Consecutive runs of ``items`` with equal ``key``, at most ``batch_size`` long."""
    chunk = []
    for item in items:
        if chunk and (len(chunk) == batch_size or key(item) != key(chunk[0])):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def encode_all(model, audios, batch_size=1):
    """Yield z (bottleneck, frames) per 1-D audio, encoding up to ``batch_size`` at once.

    Only consecutive notes of equal length share a batch.
    """
    for chunk in _chunks(audios, batch_size, len):
        yield from model.encode(np.stack(chunk))


def decode_all(model, zs, pitches, batch_size=1, temperature=1.0, seed=None, progress=True):
    """Audio per (z, pitch) pair, decoding up to ``batch_size`` equal-length notes at once."""
    audio = []
    pairs = list(zip(zs, pitches, strict=True))
    for i, chunk in enumerate(_chunks(pairs, batch_size, lambda pair: pair[0].shape)):
        z = np.stack([pair[0] for pair in chunk])
        chunk_seed = None if seed is None else seed + i
        audio.extend(decode(model, z, [pair[1] for pair in chunk], temperature, chunk_seed,
                            progress))
    return audio


@dataclasses.dataclass(frozen=True)
class NoteInput:
    """A note named on a command line: its output name, MIDI pitch (None: unknown),
    where it comes from (for messages), a reader of its audio, and its NSynth record."""

    name: str
    pitch: int | None
    where: str
    read: Callable[[], np.ndarray]
    record: nsynth.Note | None = None


def select_notes(wavs=(), dataset=None, split=None, names=None, limit=None, pitch=None,
                 rate=DEFAULT_SAMPLE_RATE, count=None, need_pitch=False):
    """The notes a command line asks for: WAV files, or notes of an NSynth split.

    ``names`` picks dataset notes by note_str (default: all, or the first ``count``);
    ``limit`` keeps the first N; ``pitch`` replaces every note's pitch; ``count``
    demands exactly that many notes; ``need_pitch`` demands a pitch for each.
    """
    if wavs and dataset is not None:
        raise WaveNetError("give WAV files or --dataset, not both")
    if limit is not None and limit < 1:
        raise WaveNetError(f"--limit must be at least 1, got {limit}")
    if pitch is not None:
        pitch = check_pitch(pitch)
    if dataset is not None:
        notes = _dataset_notes(dataset, split, names, pitch, rate)
        if count is not None and not names:
            notes = notes[:count]
    elif wavs:
        if names:
            raise WaveNetError("--note picks notes from --dataset; with WAV files, leave it out")
        notes = [NoteInput(Path(w).stem, pitch, str(w), functools.partial(read_wav, w, rate))
                 for w in wavs]
    else:
        raise WaveNetError("no input notes: give WAV files or --dataset DIR")
    notes = notes[:limit]
    if count is not None and len(notes) != count:
        raise WaveNetError(f"this command takes {count} note(s), got {len(notes)}: give "
                           f"{count} WAV file(s) or --dataset with {count} --note NAME")
    seen = set()
    for note in notes:
        if note.name in seen:
            raise WaveNetError(f"{note.where}: two inputs are named {note.name!r}; their "
                               f"outputs would collide, so rename one")
        seen.add(note.name)
        if need_pitch and note.pitch is None:
            raise WaveNetError(f"--pitch: required for WAV inputs such as {note.where} "
                               f"(their MIDI pitch, 0..127)")
    return notes


def _dataset_notes(dataset, split, names, pitch, rate):
    if rate != nsynth.SAMPLE_RATE:
        raise WaveNetError(f"--dataset: NSynth notes are {nsynth.SAMPLE_RATE} Hz but the "
                           f"model was trained at {rate} Hz")
    data = nsynth.load_nsynth(dataset, split)
    index = {note.note_str: i for i, note in enumerate(data.notes)}
    for name in names or ():
        if name not in index:
            examples = ", ".join(list(index)[:3])
            raise WaveNetError(f"--note: {data.folder} has no note {name!r} "
                               f"(its notes are named like {examples})")
    chosen = [index[name] for name in names] if names else range(len(data))
    return [NoteInput(data.notes[i].note_str,
                      data.notes[i].pitch if pitch is None else pitch,
                      f"{data.folder}: note {data.notes[i].note_str!r}",
                      functools.partial(data.audio, i), data.notes[i])
            for i in chosen]


def read_note(note, hop, max_samples=None):
    """The note's audio, cut to ``max_samples`` and to whole frames of ``hop`` samples."""
    audio = note.read()[:max_samples]
    frames = len(audio) // hop
    if frames < 1:
        raise WaveNetError(f"{note.where}: {len(audio)} samples is shorter than one frame of "
                           f"the model ({hop} samples); use a longer note")
    return audio[:frames * hop]


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


def write_outputs(folder, stem, audio, rate, force=False, original=None):
    """Write <stem>.wav and its spectrogram <stem>.png (beside ``original`` if given)."""
    wav = Path(folder) / f"{stem}.wav"
    png = wav.with_suffix(".png")
    write_wav(wav, audio, rate, force=force)
    if original is None:
        save_spectrogram(png, audio, rate, title=stem, force=force)
    else:
        save_spectrograms_side_by_side(png, [("original", original), (stem, audio)], rate,
                                       force=force)
    return wav, png


def save_embeddings(path, zs, names, pitches, hop, rate, force=False):
    """Write z (N, bottleneck, frames), note names and pitches (-1: unknown) to HDF5 ``path``."""
    shapes = {z.shape for z in zs}
    if len(shapes) > 1:
        raise WaveNetError(f"{path}: notes differ in length ({len(shapes)} z shapes); cut them "
                           f"to one length with --seconds, or use --format npy")
    with atomic_path(path, force=force) as temporary, h5py.File(temporary, "w") as f:
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
