"""Make a small multi-speaker speech set in VCTK's layout, spoken offline by espeak-ng.

    python train/make_speech.py --out data/speech --voices 4 --sentences 10
    python train/wavenet.py --dataset data/speech --trim-silence 30
"""

import argparse

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli
from chainer_wavenet.datasets import speech


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the set into")
    parser.add_argument("--voices", type=int, default=4,
                        help=f"speakers, 1-{len(speech.VOICES)} (default 4)")
    parser.add_argument("--sentences", type=int, default=10,
                        help=f"sentences per speaker, 1-{len(speech.SENTENCES)} (default 10)")
    parser.add_argument("--sample-rate", type=int, choices=speech.RATES,
                        default=speech.ESPEAK_RATE,
                        help=f"rate of the files (default {speech.ESPEAK_RATE})")
    cli.add_common_arguments(parser)
    return parser


def main(args):
    written = speech.make_speech_set(args.out, args.voices, args.sentences, args.sample_rate)
    print(f"{written} recordings of {args.voices} speakers at {args.sample_rate} Hz written to "
          f"{args.out} (wav48/, txt/, speaker-info.txt)")


if __name__ == "__main__":
    cli.run(main, build_parser())
