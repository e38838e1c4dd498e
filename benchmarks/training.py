"""Training speed: loss-bearing samples per second of forward + backward + Adam, and memory.

    python benchmarks/training.py --config S --batch 4 --length 8192 --threads 1 2
    python benchmarks/training.py --config N --batch 1 --length 1024 --repeat 3

Each row is a crop of receptive field + ``--length`` random classes; the ``--length``
positions that see a full receptive field carry the loss, and they are what the
figures count. Also timed: the teacher-forced forward pass alone (no graph). Memory:
the peak that NumPy allocates during one step beyond what is held before it
(tracemalloc; on a GPU, CuPy's pool), beside the parameters, their gradients and
Adam's two moments, and the process's peak resident size.
"""

import argparse
import functools
import os
import resource
import sys
import tracemalloc

import common  # sets chainer up: first

# isort: split
import chainer
import numpy as np

DEFAULTS = {"small": (4, 2048), "small-N": (4, 2048), "S": (4, 8192),  # config: (batch, --length)
            "N": (1, 1024)}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_arguments(parser, "training")
    parser.add_argument("--batch", type=int, nargs="+",
                        help="crops per step (default S: 4, N: 1)")
    parser.add_argument("--length", type=int,
                        help="loss-bearing samples per crop (default S: 8192, N: 1024)")
    return parser


def step_memory(step, xp):
    """Peak bytes allocated by ``step()`` beyond what was allocated before it."""
    if xp is np:
        tracemalloc.start()
        step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak
    pool = xp.get_default_memory_pool()
    pool.free_all_blocks()  # blocks freed by earlier steps would serve this one unseen
    before = pool.total_bytes()
    step()
    return pool.total_bytes() - before


def train_step(model, optimizer, x, ids, z):
    """One Adam step; ``optimizer.update`` computes the loss so that loss scaling applies."""
    optimizer.update(model.loss, x, ids, z)


def measure_batch(model, optimizer, batch, args, device):
    """Figures for crops of ``batch`` x (receptive field + ``args.length``) classes."""
    xp = model.xp
    samples = model.receptive_field + args.length
    rng = np.random.default_rng(batch)
    x = xp.asarray(rng.integers(0, model.config.n_classes, (batch, samples)), np.int32)
    ids, z = common.random_conditions(model, batch, samples)

    def forward():
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            model(x[:, :-1], ids, z)

    loss_bearing = batch * args.length
    step = functools.partial(train_step, model, optimizer, x, ids, z)
    train = common.measure(step, args.repeat, device)
    teacher_forced = common.measure(forward, args.repeat, device)
    return {f"train {batch}": loss_bearing / train["wall_s"],
            f"train cpu {batch}": loss_bearing / train["cpu_s"],
            f"forward {batch}": loss_bearing / teacher_forced["wall_s"],
            f"forward cpu {batch}": loss_bearing / teacher_forced["cpu_s"],
            f"step memory {batch}": step_memory(step, xp) / 2 ** 20}


def measure_all(args, device):
    model = common.build_model(args.config, device)
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(model)
    figures = {}
    for batch in args.batch:
        figures.update(measure_batch(model, optimizer, batch, args, device))
    held = sum(p.array.nbytes + p.grad.nbytes for p in model.params())
    held += sum(v.nbytes for rule in (p.update_rule for p in model.params())
                for v in rule.state.values())
    figures["model memory"] = held / 2 ** 20
    figures["peak rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10
    return {"figures": figures, "parameters": common.parameter_count(model),
            "receptive_field": model.receptive_field}


def main():
    args = build_parser().parse_args()
    batch, length = DEFAULTS[args.config]
    args.batch = args.batch or [batch]
    args.length = args.length or length
    runs = common.runs(args, os.path.abspath(__file__), measure_all)
    if runs is None:
        return
    print(f"config {args.config}: {common.CONFIGS[args.config][1]}; "
          f"{runs[0]['parameters']:,} parameters, receptive field {runs[0]['receptive_field']}")
    rows = []
    for batch in args.batch:
        shape = f"{batch} x {args.length}"
        rows += [(f"{shape}: train step, samples/s", f"train {batch}", ",.0f"),
                 (f"{shape}: train step, samples per CPU-second", f"train cpu {batch}", ",.0f"),
                 (f"{shape}: forward, samples/s", f"forward {batch}", ",.0f"),
                 (f"{shape}: forward, samples per CPU-second", f"forward cpu {batch}", ",.0f"),
                 (f"{shape}: step's peak allocation, MiB", f"step memory {batch}", ",.0f")]
    rows += [("parameters + gradients + Adam state, MiB", "model memory", ",.1f"),
             ("process peak resident size, MiB", "peak rss", ",.0f")]
    common.print_table(f"training (Adam), median of {args.repeat}", rows, runs)
    common.write_json(args, "training", runs, {"batch": args.batch, "length": args.length,
                                               "repeat": args.repeat, "rounds": args.rounds,
                                               "optimizer": "Adam"})


if __name__ == "__main__":
    sys.exit(main())
