"""Train a WaveNet on a folder of WAV files (one subfolder per speaker, optionally).

    python train/wavenet.py --dataset DIR [--gpu 0] [--preset small|S|paper] [--out result/wavenet]
"""

import argparse
import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import chainer_wavenet  # noqa: E402,F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli, device  # noqa: E402
from chainer_wavenet.config import WAVENET_PRESETS  # noqa: E402
from chainer_wavenet.data.crops import Crops  # noqa: E402
from chainer_wavenet.data.folder import load_folder  # noqa: E402
from chainer_wavenet.training import runner  # noqa: E402
from chainer_wavenet.wavenet import WaveNet  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True,
                        help="folder of WAV files, or of one subfolder of WAVs per speaker")
    parser.add_argument("--preset", choices=sorted(WAVENET_PRESETS), default="small",
                        help="model size: small (CPU, default), S (benchmark), paper")
    parser.add_argument("--sample-rate", type=int, default=16000,
                        help="rate every WAV must have (default 16000)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="share of files held out for validation (default 0.1)")
    runner.add_training_arguments(parser, out="result/wavenet", batchsize=4, length=2048,
                                  iterations=2000, interval=200)
    device.add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    runner.check_training_arguments(args)
    if args.sample_rate < 1:
        raise chainer_wavenet.WaveNetError(f"--sample-rate must be at least 1 Hz, "
                                           f"got {args.sample_rate}")
    if not 0 <= args.validation_fraction < 1:
        raise chainer_wavenet.WaveNetError(f"--validation-fraction must lie in [0, 1), "
                                           f"got {args.validation_fraction}")
    data = load_folder(args.dataset, args.sample_rate)
    config = dataclasses.replace(WAVENET_PRESETS[args.preset], n_global=data.n_speakers)
    train, valid = data.split(args.validation_fraction, seed=args.seed)
    crops = [Crops(part.waveforms, config.receptive_field, args.length, labels=part.speakers,
                   names=part.names, n_classes=config.n_classes) for part in (train, valid)]
    runner.seed_everything(args.seed)
    model = WaveNet(config)
    print(f"{len(train)} training and {len(valid)} validation files, {data.n_speakers} "
          f"speakers; receptive field {config.receptive_field} samples; "
          f"{len(crops[0])} training crops of {crops[0].crop_size} samples")
    metadata = {"sample_rate": args.sample_rate, "speakers": data.speaker_names}
    runner.run_training(model, crops[0], crops[1], args, metadata)
    print(f"model written to {os.path.join(args.out, 'model.h5')}")


if __name__ == "__main__":
    cli.run(main, build_parser())
