"""Render a small NSynth-layout dataset from a General MIDI SoundFont.

    python train/render_nsynth.py --out data/nsynth-small
    python train/render_nsynth.py --programs 0,40 --pitches 48:72:4 --velocities 75,127
"""

import argparse

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli
from chainer_wavenet.cli import int_list
from chainer_wavenet.datasets import render


def joined(values):
    return ",".join(str(v) for v in values)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/nsynth-small",
                        help="dataset folder to write (default data/nsynth-small)")
    parser.add_argument("--soundfont",
                        help="General MIDI .sf2 file (default: TimGM6mb.sf2 from pretty_midi)")
    parser.add_argument("--programs", type=int_list, default=list(render.DEFAULT_PROGRAMS),
                        help=f"GM programs 0-119 (default {joined(render.DEFAULT_PROGRAMS)})")
    parser.add_argument("--pitches", type=int_list, default=list(render.DEFAULT_PITCHES),
                        help="MIDI pitches, a list or start:stop:step (default 48:72:2)")
    parser.add_argument("--velocities", type=int_list, default=list(render.DEFAULT_VELOCITIES),
                        help=f"MIDI velocities (default {joined(render.DEFAULT_VELOCITIES)})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the train/valid/test split (default 0)")
    parser.add_argument("--split-by", choices=render.SPLIT_BY, default="note",
                        help="cut train/valid/test by note (default) or by instrument, as "
                             "NSynth does: valid and test instruments never play in train")
    parser.add_argument("--force", action="store_true",
                        help="replace the dataset already in --out")
    cli.add_common_arguments(parser)
    return parser


def main(args):
    summary = render.render_nsynth(
        args.out, soundfont=args.soundfont, programs=args.programs, pitches=args.pitches,
        velocities=args.velocities, seed=args.seed, force=args.force,
        split_by=args.split_by,
    )
    counts = ", ".join(f"{split} {n}" for split, n in summary.counts.items())
    print(f"wrote {summary.out}: {counts} notes; {len(summary.silent)} silent skipped; "
          f"{summary.seconds:.1f} s")
    for note_str in summary.silent:
        print(f"  silent: {note_str}")


if __name__ == "__main__":
    cli.run(main, build_parser())
