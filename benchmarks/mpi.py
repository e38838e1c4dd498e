"""Training speed with 1 process and with 2 MPI processes, side by side.

    python benchmarks/mpi.py [--configs autoencoder-small,wavenet-small] [--batchsize 4]

For each config it times Adam steps (the train scripts' optimizer, gradient
clipping, updater and data share) on random class sequences, in five runs:
one process at the per-process batch; one process at the global batch, with 1
and with 2 BLAS threads; two single processes at once that share nothing (the
bound for 2 processes on this machine, with no communication); and
``mpiexec -n 2`` with the naive communicator, 1 thread per process. Each run
is tried ``--repeat`` times and its fastest try counts. It prints loss-bearing
samples per second (over all processes, from the median step), the ratios,
and the time one gradient all-reduce takes, and writes everything to
``--json``.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet.models.config import AUTOENCODER_PRESETS, WAVENET_PRESETS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"autoencoder-small": AUTOENCODER_PRESETS["small"],
           "wavenet-small": WAVENET_PRESETS["small"]}
# Open MPI refuses to run as root, and more ranks than cores, unless told.
MPI_ENV = dict(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, from {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--batchsize", type=int, default=4,
                        help="crops per step and process (default 4, as the train scripts)")
    parser.add_argument("--length", type=int, default=2048,
                        help="loss-bearing samples per crop (default 2048, as the train scripts)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per run (default 8)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="tries of each run; the fastest counts (default 3)")
    parser.add_argument("--json", default=os.path.join(ROOT, "result", "benchmarks", "mpi.json"),
                        help="where to write the results (default result/benchmarks/mpi.json)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--communicator", default=None, help=argparse.SUPPRESS)
    return parser


def make_crops(config, length, n_crops, seed=0):
    """Crops of random classes with ``length`` targets (the autoencoder's rounded to its hop)."""
    from chainer_wavenet.datasets.crops import Crops

    field = config.receptive_field
    labels = None
    if hasattr(config, "encoder"):
        hop = config.encoder.hop
        length = -(-(field + length) // hop) * hop - field
        labels = np.random.default_rng(seed).integers(0, config.decoder.n_global, n_crops)
    n_classes = getattr(config, "decoder", config).n_classes
    sequences = np.random.default_rng(seed).integers(0, n_classes, (n_crops, field + length))
    return Crops(sequences, field, length, labels=labels, n_classes=n_classes)


def worker(args):
    """Time training steps in this process (one rank of mpiexec with --communicator)."""
    import chainer

    from chainer_wavenet.snapshot import build
    from chainer_wavenet.training.objective import Objective
    from chainer_wavenet.training.order import ReproducibleOrder
    from chainer_wavenet.training.parallel import create_group

    config = CONFIGS[args.worker]
    group = create_group(args.communicator)
    np.random.seed(0)
    objective = Objective(build(config))
    optimizer = group.optimizer(chainer.optimizers.Adam(), objective)
    optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(10.0))
    crops = make_crops(config, args.length, 2 * group.size * args.batchsize)
    iterator = chainer.iterators.SerialIterator(group.share(crops, 0), args.batchsize,
                                                order_sampler=ReproducibleOrder(0))
    updater = chainer.training.StandardUpdater(iterator, optimizer)
    sync = group.comm.mpi_comm.Barrier if group.size > 1 else (lambda: None)

    for _ in range(args.warmup):
        updater.update()
    sync()
    steps = []
    for _ in range(args.steps):
        begin = time.perf_counter()
        updater.update()  # the gradient all-reduce keeps the ranks in step
        steps.append(time.perf_counter() - begin)
    step = float(np.median(steps))

    allreduce = None
    if group.size > 1:
        times = []
        for _ in range(20):
            sync()
            begin = time.perf_counter()
            group.comm.multi_node_mean_grad(objective)
            times.append(time.perf_counter() - begin)
        allreduce = float(np.median(times))
    if group.is_root:
        samples = group.size * args.batchsize * crops.length
        print(json.dumps({"samples_per_s": samples / step, "step_s": step,
                          "allreduce_s": allreduce, "targets_per_crop": crops.length,
                          "parameters": int(sum(p.size for p in objective.params())),
                          "global_batch": group.size * args.batchsize}))


def run(args, config, batchsize, threads, processes, how):
    """One timed run in fresh processes; its measurements.

    ``how``: "mpi", one mpiexec job of ``processes`` ranks (Open MPI binds each to a core);
    "apart", that many plain processes at once, sharing nothing.
    """
    program = [sys.executable, os.path.abspath(__file__), "--worker", config,
               "--batchsize", str(batchsize), "--length", str(args.length),
               "--steps", str(args.steps), "--warmup", str(args.warmup)]
    copies = processes
    if how == "mpi":
        program = [shutil.which("mpiexec") or "mpiexec", "-n", str(processes), *program,
                   "--communicator", "naive"]
        copies = 1
    load = os.getloadavg()[0]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               **MPI_ENV)
    started = [subprocess.Popen(program, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(copies)]
    found = []
    for process in started:
        stdout, stderr = process.communicate()
        if process.returncode:
            sys.exit(f"benchmark run failed: {' '.join(program)}\n{stdout}{stderr}")
        found.append(json.loads(stdout.strip().splitlines()[-1]))
    return dict(found[0], samples_per_s=sum(f["samples_per_s"] for f in found),
                step_s=max(f["step_s"] for f in found),
                global_batch=sum(f["global_batch"] for f in found), processes=processes,
                threads_per_process=threads, how=how, load_average_before=load)


RUNS = (  # (label, batch per process as a multiple of --batchsize, threads, processes, how)
    ("1 process, 1 thread", 1, 1, 1, "apart"),
    ("1 process, 1 thread", 2, 1, 1, "apart"),
    ("1 process, 2 threads", 2, 2, 1, "apart"),
    ("2 processes apart, no MPI (bound)", 1, 1, 2, "apart"),
    ("2 processes (naive), 1 thread each", 1, 1, 2, "mpi"),
)


def print_table(config, runs, batchsize):
    """One block per config: each run's speed, and how the 2-process run compares with it."""
    two = runs[-1]
    print(f"\n{config}: {two['parameters']} parameters, {two['targets_per_crop']} "
          f"loss-bearing samples per crop, {os.cpu_count()} cores")
    print(f"{'run':38}{'batch':>8}{'samples/s':>11}{'step ms':>9}{'2 procs / this':>16}")
    for found in runs:
        processes = found["processes"]
        batch = f"{processes} x {batchsize}" if processes > 1 else str(found["global_batch"])
        ratio = two["samples_per_s"] / found["samples_per_s"]
        print(f"{found['run']:38}{batch:>8}{found['samples_per_s']:>11.0f}"
              f"{1e3 * found['step_s']:>9.0f}{ratio:>16.2f}")
    print(f"one all-reduce of the gradients (naive, 2 processes): "
          f"{1e3 * two['allreduce_s']:.1f} ms per step")


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, where there is one."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor()


def main():
    args = build_parser().parse_args()
    if args.worker:
        worker(args)
        return
    configs = args.configs.split(",")
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        sys.exit(f"--configs: unknown {unknown}; known: {sorted(CONFIGS)}")
    results = {}
    for config in configs:
        # Rounds interleave the runs, so that load from elsewhere hits them alike; the fastest
        # of each run's tries is kept.
        rounds = [[run(args, config, multiple * args.batchsize, threads, processes, how)
                   for _, multiple, threads, processes, how in RUNS]
                  for _ in range(args.repeat)]
        runs = []
        for index, (label, *_) in enumerate(RUNS):
            tries = [found[index] for found in rounds]
            best = max(tries, key=lambda found: found["samples_per_s"])
            runs.append(dict(best, run=label,
                             samples_per_s_tries=[found["samples_per_s"] for found in tries]))
        print_table(config, runs, args.batchsize)
        results[config] = runs

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"machine": {"cores": os.cpu_count(), "cpu": cpu_name(),
                               "python": platform.python_version(),
                               "numpy": np.__version__},
                   "settings": {"batchsize": args.batchsize, "length": args.length,
                                "steps": args.steps, "warmup": args.warmup,
                                "repeat": args.repeat},
                   "results": results}, f, indent=2)
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
