"""Render a melody with many General MIDI timbres into an NSynth-layout dataset with pitch tracks.

    python train/render_melody.py --out data/melody                  # ode-to-joy, 120 programs
    python train/render_melody.py --midi tune.mid --programs 0,40,73 --out data/tune
    python train/render_melody.py --write-midi frere-jacques --out frere-jacques.mid
"""

import argparse

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli
from chainer_wavenet.cli import int_list
from chainer_wavenet.datasets import melody, melody_render


def program_list(text):
    """"all" (programs 0-119) or integers like 0,24,40 or 0:119:8."""
    return list(melody_render.ALL_PROGRAMS) if text == "all" else int_list(text)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi", action="append", default=None,
                        help="a monophonic MIDI file, or a built-in tune "
                             f"({', '.join(melody.BUILTIN)}); repeat for several "
                             f"(default {melody.DEFAULT_MELODY})")
    parser.add_argument("--top-voice", action="store_true",
                        help="of a polyphonic MIDI file, keep the highest note at every "
                             "moment (without it such a file is refused)")
    parser.add_argument("--programs", type=program_list, default=list(melody_render.ALL_PROGRAMS),
                        help="GM programs: 'all' (0-119, every one with an NSynth family; "
                             "the default) or a list like 0,24,40 or 0:119:8")
    parser.add_argument("--transpose", type=int_list, default=[0],
                        help="render each melody moved by these semitones, e.g. "
                             "--transpose=-5,0,5 or --transpose=-6:6:2 (the = is needed "
                             "before a minus; default 0)")
    parser.add_argument("--soundfont",
                        help="General MIDI .sf2 file (default: TimGM6mb.sf2 from pretty_midi)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split by program (default 0)")
    parser.add_argument("--out", default="data/melody",
                        help="dataset folder to write (default data/melody), or with "
                             "--write-midi the MIDI file")
    parser.add_argument("--write-midi", metavar="TUNE", choices=sorted(melody.BUILTIN),
                        help="only write built-in TUNE as a MIDI file to --out")
    parser.add_argument("--force", action="store_true",
                        help="replace what is already at --out")
    cli.add_common_arguments(parser)
    return parser


def main(args):
    if args.write_midi:
        path = melody.write_midi(melody.builtin(args.write_midi), args.out, force=args.force)
        print(f"wrote {path}")
        return
    melodies = [melody.load_melody(source, args.top_voice)
                for source in args.midi or [melody.DEFAULT_MELODY]]
    summary = melody_render.render_melodies(
        args.out, melodies, programs=args.programs, transpositions=args.transpose,
        soundfont=args.soundfont, seed=args.seed, force=args.force)
    counts = ", ".join(f"{split} {n}" for split, n in summary.counts.items())
    print(f"wrote {summary.out}: {counts} renders of {len(melodies)} melod"
          f"{'y' if len(melodies) == 1 else 'ies'}; {len(summary.silent)} silent skipped; "
          f"{summary.seconds:.1f} s")
    for name in summary.silent:
        print(f"  silent: {name}")


if __name__ == "__main__":
    cli.run(main, build_parser())
