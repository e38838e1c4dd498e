"""The library's dilated convolution (one product over stacked taps) beside a baseline of
one product per tap, forward and both gradients, over every dilated layer of a config.

    python benchmarks/convolution.py [--config S] [--batch 4] [--length 8192] [--repeat 3]
                                     [--rounds 3]
    python benchmarks/convolution.py --gpu 0

Each layer gets the input it sees in training: ``--length`` loss-bearing samples plus the
reach of the layers after it. Prints seconds per pass over all layers and per-tap / stacked
ratios (above 1: the stacked form is faster), checks that both forms agree, writes JSON.
The per-tap baseline (the library's form before) lives only in this script: each tap a
product on a shifted view of the input, read in place.
"""

import argparse
import os
import statistics
import sys

import common  # sets chainer up: first

# isort: split
import numpy as np
from chainer.backend import get_array_module
from chainer.backends import cuda

from chainer_wavenet.functions.dilated_convolution import (
    DilatedConvolution1D,
    DilatedConvolution1DGrad,
)


def _tap(x, j, dilation, length):
    start = j * dilation
    return x[:, :, start:start + length]


def forward_per_tap(x, W, dilation, length):
    xp = get_array_module(x)
    y = xp.matmul(W[:, :, 0], x[:, :, :length])
    for j in range(1, W.shape[2]):
        y += xp.matmul(W[:, :, j], _tap(x, j, dilation, length))
    return y


def grads_per_tap(x, W, gy, dilation):
    xp = get_array_module(x)
    length = gy.shape[2]
    gx = xp.empty(x.shape, x.dtype)
    xp.matmul(W[:, :, 0].T, gy, out=gx[:, :, :length])
    gx[:, :, length:] = 0
    for j in range(1, W.shape[2]):
        _tap(gx, j, dilation, length)[...] += xp.matmul(W[:, :, j].T, gy)
    gW = xp.empty_like(W)
    for j in range(W.shape[2]):
        taps = _tap(x, j, dilation, length)
        gW[:, :, j] = xp.matmul(gy, taps.transpose(0, 2, 1)).sum(axis=0)
    return gx, gW


def forward_stacked(x, W, dilation, length):
    return DilatedConvolution1D(dilation).forward((x, W))[0]


def grads_stacked(x, W, gy, dilation):
    return DilatedConvolution1DGrad(dilation, (0, 1)).forward((x, W, gy))


FORMS = {"per tap": (forward_per_tap, grads_per_tap),
         "stacked": (forward_stacked, grads_stacked)}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(common.CONFIGS), default="S")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure and "
                        "round, their median kept (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="times the forms take turns; "
                        "figures are medians over the rounds (default 3)")
    parser.add_argument("--out", default=None, help="JSON file to write (default "
                        "result/benchmarks/convolution-CONFIG-DEVICE.json)")
    common.add_device_arguments(parser)
    return parser


def layer_arrays(config, batch, length, xp, dtype=np.float32, seed=0):
    """(x, W, gy, dilation) for each dilated layer of ``config``."""
    rng = np.random.default_rng(seed)
    width = config.filter_width
    gate = 2 * config.dilation_channels
    reaches = [(width - 1) * d for d in config.dilations]
    layers = []
    for index, dilation in enumerate(config.dilations):
        out_length = length + sum(reaches[index + 1:])
        x = rng.normal(size=(batch, config.residual_channels, out_length + reaches[index]))
        W = rng.normal(size=(gate, config.residual_channels, width)) / np.sqrt(width * 64)
        gy = rng.normal(size=(batch, gate, out_length))
        layers.append(tuple(xp.asarray(a, dtype) for a in (x, W, gy)) + (dilation,))
    return layers


def check_agreement(layers):
    """Largest relative difference between the forms' outputs and gradients."""
    worst = 0.0
    for x, W, gy, dilation in layers[:3] + layers[-1:]:
        per_tap = [forward_per_tap(x, W, dilation, gy.shape[2]),
                   *grads_per_tap(x, W, gy, dilation)]
        stacked = [forward_stacked(x, W, dilation, gy.shape[2]),
                   *grads_stacked(x, W, gy, dilation)]
        for a, b in zip(per_tap, stacked, strict=True):
            a, b = (cuda.to_cpu(v) for v in (a, b))
            worst = max(worst, float(np.abs(a - b).max() / np.abs(a).max()))
    return worst


def main():
    args = build_parser().parse_args()
    device = common.get_device(args.gpu, args.device)
    config = common.CONFIGS[args.config][0]
    layers = layer_arrays(config, args.batch, args.length, device.xp)
    difference = check_agreement(layers)
    passes = {}
    for name, (forward, grads) in FORMS.items():
        def run_forward(forward=forward):
            for x, W, gy, dilation in layers:
                forward(x, W, dilation, gy.shape[2])

        def run_backward(grads=grads):
            for x, W, gy, dilation in layers:
                grads(x, W, gy, dilation)

        passes[f"{name} forward"] = run_forward
        passes[f"{name} backward"] = run_backward
    # The forms take turns, round after round, so that the machine's load reaches both alike.
    rounds = {key: [] for key in passes}
    for _ in range(args.rounds):
        for key, run in passes.items():
            rounds[key].append(common.measure(run, args.repeat, device)["wall_s"])
    figures = {key: statistics.median(times) for key, times in rounds.items()}
    for part in ("forward", "backward"):
        figures[f"ratio {part}"] = figures[f"per tap {part}"] / figures[f"stacked {part}"]
    total = {name: figures[f"{name} forward"] + figures[f"{name} backward"] for name in FORMS}
    figures["ratio forward+backward"] = total["per tap"] / total["stacked"]
    print(f"config {args.config}: {len(layers)} dilated layers, width {config.filter_width}, "
          f"batch {args.batch} x {args.length} samples, on {device}, "
          f"BLAS threads {common.thread_count()}; medians of {args.rounds} rounds of {args.repeat}")
    print(f"{'seconds per pass over the layers':36}{'per tap':>10}{'stacked':>10}{'ratio':>8}")
    for part in ("forward", "backward"):
        print(f"{part + ' (gx and gW)' * (part == 'backward'):36}"
              f"{figures[f'per tap {part}']:>10.4f}{figures[f'stacked {part}']:>10.4f}"
              f"{figures[f'ratio {part}']:>8.2f}")
    print(f"{'forward + backward':36}{total['per tap']:>10.4f}{total['stacked']:>10.4f}"
          f"{figures['ratio forward+backward']:>8.2f}")
    print(f"largest relative difference between the forms: {difference:.1e}")
    figures["difference"] = difference
    run = {"figures": figures, "device": str(device), "blas_threads": common.thread_count(),
           "load_average_before": list(os.getloadavg())}
    common.write_json(args, "convolution", [run], {"batch": args.batch, "length": args.length,
                                                   "repeat": args.repeat, "rounds": args.rounds,
                                                   "every round": rounds})


if __name__ == "__main__":
    sys.exit(main())
