"""Loading a dataset's classes: decoded into memory, against building and reusing --cache.

    python benchmarks/cache.py --notes 2000

Writes ``--notes`` synthetic 4 s notes in the NSynth layout to a temporary folder, then,
each in a fresh process: decodes them into memory (the default), builds the cache, and
opens it again. Prints seconds and the process's peak resident size for each.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import common  # noqa: F401  (sets chainer up: first)

# isort: split
import numpy as np

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.nsynth import SAMPLE_RATE, load_nsynth

MODES = ("in memory", "cache build", "cache reuse")


def write_notes(folder, count):
    audio = os.path.join(folder, "audio")
    os.makedirs(audio)
    rng = np.random.default_rng(0)
    examples = {}
    for number in range(count):
        name = f"keyboard_acoustic_{number:06d}-060-100"
        tone = 0.3 * np.sin(np.arange(4 * SAMPLE_RATE) * 0.05 * (1 + number % 7))
        write_wav(os.path.join(audio, f"{name}.wav"),
                  tone + 0.01 * rng.standard_normal(len(tone)), SAMPLE_RATE)
        examples[name] = dict(pitch=60, velocity=100, instrument=number, instrument_str=name[:21],
                              instrument_family=4, instrument_source=0)
    with open(os.path.join(folder, "examples.json"), "w") as f:
        json.dump(examples, f)


def load(folder, cache):
    """In a child: load the classes, print seconds, notes, bytes and peak RSS as JSON."""
    start = time.perf_counter()
    classes = load_nsynth(folder).classes(256, cache=cache)
    print(json.dumps({"seconds": time.perf_counter() - start, "notes": len(classes),
                      "bytes": int(sum(len(c) for c in classes)),
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000, help="notes to write (default 2000)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, cache = args.child
        load(folder, None if cache == "-" else cache)
        return
    with tempfile.TemporaryDirectory() as root:
        folder, cache = os.path.join(root, "nsynth-train"), os.path.join(root, "cache")
        write_notes(folder, args.notes)
        print(f"{args.notes} notes of 4 s ({args.notes * 4 * SAMPLE_RATE / 1e6:,.0f} MB of "
              f"8-bit classes)")
        print(f"{'':14}{'seconds':>10}{'peak RSS, MiB':>16}")
        for mode, where in zip(MODES, ("-", cache, cache), strict=True):
            child = subprocess.run([sys.executable, __file__, "--child", folder, where],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   check=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{mode:14}{result['seconds']:>10.1f}{result['rss_mib']:>16,.0f}")


if __name__ == "__main__":
    sys.exit(main())
