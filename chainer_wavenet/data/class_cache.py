"""Mu-law classes of many WAV files in one memory-mapped file, built once and reused.

Decoding the 289,205 training notes of NSynth takes minutes and holds 18 GB in every
process. With a cache the classes are read once into ``DIR``; later runs map the file
and start at once, and all processes of a run (MPI ranks) share the pages the operating
system keeps of it. ::

    DIR/<key>.classes   the classes of every file, back to back (uint8 for 256 classes)
    DIR/<key>.json      the files with their sizes and times, and where each one starts

``<key>`` names the list of files and the class count. A cache whose files have changed
size or time since it was written is rebuilt. Both parts are written to temporary
names and renamed into place, the index last, so an interrupted build is never used.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from chainer_wavenet import mu_law
from chainer_wavenet.audio import read_wav
from chainer_wavenet.data.crops import compact_classes
from chainer_wavenet.files import atomic_path, ensure_output_dir

VERSION = 1


def cached_classes(paths, sample_rate, n_classes, folder):
    """Mu-law classes of every WAV in ``paths``: read-only views of the cache in ``folder``."""
    paths = [str(Path(p).resolve()) for p in paths]
    folder = ensure_output_dir(folder)
    key = hashlib.sha256(json.dumps([VERSION, n_classes, paths]).encode()).hexdigest()[:16]
    data, index = folder / f"{key}.classes", folder / f"{key}.json"
    stamps = [_stamp(path) for path in paths]
    entries = _read_index(index)
    if entries is None or [e["stamp"] for e in entries] != stamps or not data.is_file():
        entries = _build(paths, stamps, sample_rate, n_classes, data, index)
    dtype = np.min_scalar_type(n_classes - 1)
    mapped = np.memmap(data, dtype=dtype, mode="r") if data.stat().st_size else np.zeros(0, dtype)
    return [mapped[e["start"]:e["start"] + e["length"]] for e in entries]


def _stamp(path):
    status = os.stat(path)
    return [status.st_size, status.st_mtime_ns]


def _read_index(index):
    try:
        with open(index, encoding="utf-8") as handle:
            return json.load(handle)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build(paths, stamps, sample_rate, n_classes, data, index):
    entries = []
    start = 0
    with atomic_path(data, force=True) as temporary, open(temporary, "wb") as out:
        for path, stamp in zip(tqdm(paths, desc=f"caching classes in {data.parent}",
                                    unit="file", mininterval=1.0), stamps, strict=True):
            classes = compact_classes(mu_law.encode(read_wav(path, sample_rate), n_classes),
                                      n_classes)
            out.write(classes.tobytes())
            entries.append({"path": path, "stamp": stamp, "start": start,
                            "length": len(classes)})
            start += len(classes)
    with atomic_path(index, force=True) as temporary, open(temporary, "w") as out:
        json.dump({"version": VERSION, "n_classes": n_classes, "files": entries}, out)
    return entries
