"""Give every recording of an NSynth-layout dataset a pitch track measured by pYIN.

    python train/track_pitch.py --dataset data/my-melodies [--split train] [--force]

For melodies recorded as WAV files (no MIDI): each record of ``examples.json`` gets the
``pitch_track`` field that ``train/render_melody.py`` writes from MIDI (100 frames per
second, null where unvoiced), so that ``train/autoencoder.py`` trains on the pitch over
time. Records that already have a track keep it unless ``--force``.
"""

import argparse
import json
from pathlib import Path

import numpy as np

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli
from chainer_wavenet.audio import pitch_track
from chainer_wavenet.datasets.nsynth import (
    SAMPLE_RATE,
    SPLITS,
    load_nsynth,
    split_folder,
)
from chainer_wavenet.files import atomic_path


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True,
                        help="NSynth-layout root (nsynth-train/, ...) or one split folder")
    parser.add_argument("--split", choices=SPLITS, action="append",
                        help="only this split (repeat for more; default: every one present)")
    parser.add_argument("--force", action="store_true",
                        help="measure again the records that already have a pitch track")
    cli.add_common_arguments(parser)
    return parser


def track_split(folder, force):
    """Measure and write the tracks of one split folder; returns (measured, kept)."""
    notes = load_nsynth(folder)
    path = notes.folder / "examples.json"
    examples = json.loads(path.read_text(encoding="utf-8"))
    measured = 0
    for i, note in enumerate(notes.notes):
        record = examples[note.note_str]
        if "pitch_track" in record and not force:
            continue
        track = pitch_track.estimate(notes.audio(i), SAMPLE_RATE)
        voiced = np.isfinite(track)
        print(f"{note.path}: {voiced.mean():.0%} of {len(track)} frames voiced"
              + (f", median MIDI {np.median(track[voiced]):.1f}" if voiced.any() else
                 " (no pitch: left without a track)"))
        if not voiced.any():
            continue
        record["pitch_track"] = {"frame_rate": pitch_track.FRAME_RATE,
                                 "midi": [None if np.isnan(p) else round(float(p), 3)
                                          for p in track]}
        measured += 1
    with atomic_path(path, force=True) as temporary:
        Path(temporary).write_text(json.dumps(examples, indent=2), encoding="utf-8")
    return measured, len(notes) - measured


def main(args):
    root = Path(args.dataset)
    if (root / "examples.json").is_file():
        folders = [root]
    else:
        splits = args.split or [s for s in SPLITS if (root / f"nsynth-{s}").is_dir()]
        folders = [split_folder(root, split) for split in splits or SPLITS[:1]]
    for folder in folders:
        measured, kept = track_split(folder, args.force)
        print(f"{folder}: {measured} pitch tracks measured, {kept} records unchanged")


if __name__ == "__main__":
    cli.run(main, build_parser())
