"""Generation speed: samples per second of fast generation beside a naive generator.

    python benchmarks/generation.py --config S --batch 1 16 64 --threads 1 2
    python benchmarks/generation.py --config N --flat-repeat 1
    python benchmarks/generation.py --config S --gpu 0 --batch 1 16 64 256 1024

Fast generation is the library's ``generate`` (one step per sample, per-layer queues).
The naive generator, a baseline that lives only here, recomputes the whole receptive
field with the model's parallel forward pass for every sample. Both are timed in the
same process; the table gives aggregate samples per second (batch x samples / time),
their ratio, and the per-sample cost of a batch-1 run of the two ``--flat`` lengths,
which must stay flat (within 10%). A ceiling is timed as well: the step's matrix products
alone, on fixed inputs, with none of its elementwise work or sampling; "fast / products
alone" is the share of that ceiling that generation reaches.
"""

import argparse
import os
import sys

import common  # sets chainer up: first

# isort: split
import chainer
import numpy as np

from chainer_wavenet.links.output_distribution import sample_softmax
from chainer_wavenet.sampling.generate import generate

DEFAULTS = {  # config: (batches, batches on a GPU, --length, --naive-length, --naive-batch)
    "small": ((1, 16, 64), (1, 16, 64, 256, 1024), 2000, 4, None),
    "S": ((1, 16, 64), (1, 16, 64, 256, 1024), 2000, 4, None),
    "N": ((1, 16), (1, 16, 64, 256), 200, 1, (1,)),
}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_arguments(parser, "generation")
    parser.add_argument("--batch", type=int, nargs="+",
                        help="batch sizes (default S: 1 16 64, N: 1 16; larger on a GPU)")
    parser.add_argument("--length", type=int,
                        help="samples per sequence in a timed fast run (default S 2000, N 200)")
    parser.add_argument("--naive-length", type=int,
                        help="samples per sequence in a timed naive run; 0 skips it "
                             "(default S 4, N 1)")
    parser.add_argument("--naive-batch", type=int, nargs="+",
                        help="batch sizes at which the naive generator is timed too "
                             "(default S: every --batch, N: 1)")
    parser.add_argument("--flat", type=int, nargs=2, default=(1000, 16000), metavar="N",
                        help="two lengths whose per-sample cost is compared at batch 1 "
                             "(default 1000 16000); 0 0 skips it")
    parser.add_argument("--flat-repeat", type=int, default=3,
                        help="timed runs of each --flat length (default 3)")
    return parser


def naive_generate(model, length, batch, global_ids, local_features, uniform):
    """Each sample from a parallel forward pass over the receptive field before it.

    Windows start on a frame boundary of the local features (so that z lines up), which
    adds at most one hop of extra positions; only the last output is used.
    """
    config = model.config
    field = model.receptive_field
    hop = config.local_hop
    x = model.xp.full((batch, field + length), config.n_classes // 2, np.int32)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for t in range(length):
            end = field + t
            start = (end - field) // hop * hop if local_features is not None else end - field
            frames = None
            if local_features is not None:
                frames = local_features[:, :, start // hop:-(-end // hop)]
            logits = model(x[:, start:end], global_ids, frames).array[:, :, -1]
            x[:, end] = sample_softmax(logits, 1.0, uniform[t])
    return x[:, field:]


def measure_naive(model, batch, args, device):
    """Samples/s of the naive generator, after a one-sample warm-up; at most 3 timed runs."""
    length = args.naive_length
    ids, z = common.random_conditions(model, batch, model.receptive_field + length)
    uniform = model.xp.asarray(np.random.default_rng(0).random((length, batch), np.float32))
    naive_generate(model, 1, batch, ids, z, uniform)
    timing = common.measure(lambda: naive_generate(model, length, batch, ids, z, uniform),
                            min(args.repeat, 3), device, warmup=0)
    return batch * length / timing["wall_s"]


def products_alone(model, batch, length, device):
    """Samples/s of only the matrix products that ``length`` generation steps make.

    Every layer's newest tap and output projection at every step, the older taps once
    per dilation block (the layer's own look-ahead) and the two head layers, on random
    inputs held fixed.
    """
    ids, z = common.random_conditions(model, batch, length + 1)
    model.start(batch, ids, z)
    xp = model.xp
    config = model.config
    x = xp.ones((batch, config.residual_channels), np.float32)
    gated = xp.ones((batch, config.dilation_channels), np.float32)
    skips = xp.ones((batch, config.skip_channels), np.float32)
    layers = [(block.conv, block._out_weights) for block in model.blocks]

    def run():
        for t in range(1, length + 1):
            for conv, out_weights in layers:
                x @ conv._newest
                gated @ out_weights
                if t % conv.dilation == 0:
                    conv._look_ahead()
            (skips @ model.head1._newest) @ model.head2._newest

    return batch * length / common.measure(run, 3, device)["wall_s"]


def measure_all(args, device):
    model = common.build_model(args.config, device)
    figures = {}

    def fast(batch, length):
        ids, z = common.random_conditions(model, batch, length + 1)
        return lambda: generate(model, length, batch, 1.0, ids, z, seed=0)

    for batch in args.batch:
        timing = common.measure(fast(batch, args.length), args.repeat, device)
        figures[f"fast {batch}"] = batch * args.length / timing["wall_s"]
        figures[f"fast cpu {batch}"] = batch * args.length / timing["cpu_s"]
        bound = products_alone(model, batch, args.length, device)
        figures[f"products {batch}"] = bound
        figures[f"share {batch}"] = figures[f"fast {batch}"] / bound
        if args.naive_length and batch in args.naive_batch:
            naive = measure_naive(model, batch, args, device)
            figures[f"naive {batch}"] = naive
            figures[f"speedup {batch}"] = figures[f"fast {batch}"] / naive
    short, long = args.flat
    if short and long:
        costs = [common.measure(fast(1, n), args.flat_repeat, device, warmup=0)["wall_s"]
                 / n * 1e3 for n in (short, long)]
        figures.update({"flat short": costs[0], "flat long": costs[1],
                        "flat ratio": costs[1] / costs[0]})
    return {"figures": figures, "parameters": common.parameter_count(model)}


def main():
    args = build_parser().parse_args()
    on_gpu = args.gpu >= 0 or args.device is not None
    batches, gpu_batches, length, naive_length, naive_batches = DEFAULTS[args.config]
    args.batch = args.batch or (gpu_batches if on_gpu else batches)
    args.naive_batch = args.naive_batch or naive_batches or args.batch
    args.length = args.length or length
    args.naive_length = naive_length if args.naive_length is None else args.naive_length
    runs = common.runs(args, os.path.abspath(__file__), measure_all)
    if runs is None:
        return
    print(f"config {args.config}: {common.CONFIGS[args.config][1]}; "
          f"{runs[0]['parameters']:,} parameters")
    rows = []
    for batch in args.batch:
        rows += [(f"batch {batch}: fast, samples/s", f"fast {batch}", ",.0f"),
                 (f"batch {batch}: fast, samples per CPU-second", f"fast cpu {batch}", ",.0f"),
                 (f"batch {batch}: its matrix products alone, samples/s", f"products {batch}",
                  ",.0f"),
                 (f"batch {batch}: fast / products alone", f"share {batch}", ".2f"),
                 (f"batch {batch}: naive, samples/s", f"naive {batch}", ",.1f"),
                 (f"batch {batch}: fast / naive", f"speedup {batch}", ",.0f")]
    short, long = args.flat
    rows += [(f"batch 1: ms per sample over {short} samples", "flat short", ".3f"),
             (f"batch 1: ms per sample over {long} samples", "flat long", ".3f"),
             (f"batch 1: cost at {long} / cost at {short}", "flat ratio", ".3f")]
    common.print_table(f"generation, {args.length} samples per sequence (naive: "
                       f"{args.naive_length}), median of {args.repeat}", rows, runs)
    common.write_json(args, "generation", runs, {
        "batch": args.batch, "length": args.length, "naive_length": args.naive_length,
        "naive_batch": args.naive_batch,
        "flat": list(args.flat), "flat_repeat": args.flat_repeat, "repeat": args.repeat,
        "rounds": args.rounds, "temperature": 1.0})


if __name__ == "__main__":
    sys.exit(main())
