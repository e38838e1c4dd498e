"""Classes (mu-law or linear) of many WAV files in one memory-mapped file, built once and
reused.

Decoding the 289,205 training notes of NSynth takes minutes and holds 18 GB in every
process. With a cache the classes are read once into ``DIR``; later runs map the file
and start at once, and all processes of a run (MPI ranks) share the pages the operating
system keeps of it. ::

    DIR/<key>.classes   the classes of every file, back to back (uint8 for 256 classes,
                        uint16 for 65536)
    DIR/<key>.json      the files with their sizes and times, where each one starts, and what
                        loading did to it (resampled, mixed down, trimmed: see ``conversion``)

``<key>`` names the list of files, the class count, the quantization (named only when it is
not mu-law, so mu-law caches keep their keys) and how files are loaded (the target rate, the
trimming), so a run at another rate builds its own cache. A cache whose files have changed
size or time since it was written is rebuilt. Both parts are written to temporary
names and renamed into place, the index last, so an interrupted build is never used.
"""

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from chainer_wavenet.audio import quantization as quantizations
from chainer_wavenet.audio.emphasis import emphasize
from chainer_wavenet.audio.wav import read_wav
from chainer_wavenet.datasets.crops import compact_classes
from chainer_wavenet.files import atomic_path, ensure_output_dir

VERSION = 2


def cached_classes(paths, sample_rate, n_classes, folder, pre_emphasis=0.0):
    """Mu-law classes of every WAV in ``paths`` (each mono at ``sample_rate``, else an error),
    pre-emphasized by ``pre_emphasis`` first: read-only views of the cache in ``folder``."""
    read = functools.partial(_read_strictly, sample_rate=sample_rate, pre_emphasis=pre_emphasis)
    recipe = {"sample_rate": sample_rate}
    if pre_emphasis:
        recipe["pre_emphasis"] = pre_emphasis
    return cached_load(paths, n_classes, folder, read, recipe)[0]


def cached_load(paths, n_classes, folder, load, recipe, quantization="mu_law"):
    """``(classes, records)`` of every file in ``paths``, the classes (of ``quantization``)
    read-only views of the cache in ``folder``.

    ``load(path)`` gives ``(float audio, record)``, the record a JSON-able dict kept in the
    index; ``recipe`` (JSON-able) says what ``load`` does and is part of the key.
    """
    paths = [str(Path(p).resolve()) for p in paths]
    folder = ensure_output_dir(folder)
    named = [VERSION, n_classes, recipe, paths]
    if quantization != "mu_law":
        named.append(quantization)
    key = hashlib.sha256(json.dumps(named).encode()).hexdigest()
    data, index = folder / f"{key[:16]}.classes", folder / f"{key[:16]}.json"
    stamps = [_stamp(path) for path in paths]
    entries = _read_index(index)
    if entries is None or [e["stamp"] for e in entries] != stamps or not data.is_file():
        entries = _build(paths, stamps, load, n_classes, quantization, data, index)
    dtype = np.min_scalar_type(n_classes - 1)
    mapped = np.memmap(data, dtype=dtype, mode="r") if data.stat().st_size else np.zeros(0, dtype)
    classes = [mapped[e["start"]:e["start"] + e["length"]] for e in entries]
    return classes, [e["record"] for e in entries]


def _read_strictly(path, sample_rate, pre_emphasis=0.0):
    return emphasize(read_wav(path, sample_rate), pre_emphasis), {}


def _stamp(path):
    status = os.stat(path)
    return [status.st_size, status.st_mtime_ns]


def _read_index(index):
    try:
        with open(index, encoding="utf-8") as handle:
            written = json.load(handle)
        return written["files"] if written["version"] == VERSION else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build(paths, stamps, load, n_classes, quantization, data, index):
    entries = []
    start = 0
    with atomic_path(data, force=True) as temporary, open(temporary, "wb") as out:
        for path, stamp in zip(tqdm(paths, desc=f"caching classes in {data.parent}",
                                    unit="file", mininterval=1.0), stamps, strict=True):
            audio, record = load(path)
            classes = compact_classes(quantizations.encode(audio, n_classes, quantization),
                                      n_classes)
            out.write(classes.tobytes())
            entries.append({"path": path, "stamp": stamp, "start": start,
                            "length": len(classes), "record": record})
            start += len(classes)
    with atomic_path(index, force=True) as temporary, open(temporary, "w") as out:
        json.dump({"version": VERSION, "n_classes": n_classes, "quantization": quantization,
                   "files": entries}, out)
    return entries
