"""Trains a tiny WaveNet through the library's runner and dumps what each rank did.

    [mpiexec -n N] python tests/mpi_worker.py --out DIR --dump DIR [--communicator naive] ...

Takes the training flags of the train scripts. Every rank writes
``DUMP/rank{R}.npz``: its final weights (keys are parameter paths such as
``/embed/W``) and, under ``indices``, the training crops it read, in order.
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import chainer_wavenet  # noqa: E402,F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli, device  # noqa: E402
from chainer_wavenet.datasets.crops import Crops  # noqa: E402
from chainer_wavenet.models.config import WaveNetConfig  # noqa: E402
from chainer_wavenet.models.wavenet import WaveNet  # noqa: E402
from chainer_wavenet.training import runner  # noqa: E402

CONFIG = WaveNetConfig(n_classes=32, residual_channels=8, dilation_channels=8, skip_channels=12,
                       dilations=(1, 2, 4), n_global=3)
LENGTH = 16


class Recording:
    """A dataset that notes the index of every example read from it."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.read = []

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        self.read.append(int(i))
        return self.dataset[i]


def crops(seed=0, sequences=6, samples=100):
    """Crops of random class sequences, each sequence labelled with one of 3 speakers."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, CONFIG.n_classes, (sequences, samples))
    return Crops(data, CONFIG.receptive_field, LENGTH, labels=np.arange(sequences) % 3,
                 n_classes=CONFIG.n_classes)


def build_model(seed):
    runner.seed_everything(seed)
    return WaveNet(CONFIG)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", required=True, help="folder for each rank's dump")
    runner.add_training_arguments(parser, out="result/mpi-worker", batchsize=2, length=LENGTH,
                                  iterations=3, interval=3)
    device.add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    model = build_model(args.seed)
    train = Recording(crops())
    runner.run_training(model, train, crops(seed=1, sequences=2), args, metadata={})
    rank = 0
    if args.communicator is not None:
        from mpi4py import MPI

        rank = MPI.COMM_WORLD.rank
    weights = {name: param.array for name, param in model.namedparams()}
    np.savez(os.path.join(args.dump, f"rank{rank}.npz"), indices=np.array(train.read),
             **weights)


if __name__ == "__main__":
    cli.run(main, build_parser())
