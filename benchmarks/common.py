"""What the benchmark scripts share: named configs, BLAS thread runs, timing, tables, JSON.

Each script runs itself in a child process per ``--threads`` count and round (OpenBLAS
reads its thread count when NumPy loads), collects the children's JSON, prints one table
and writes one JSON file.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet.allocator import keep_freed_memory
from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.models.config import AUTOENCODER_PRESETS, WAVENET_PRESETS
from chainer_wavenet.models.wavenet import WaveNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "small": (WAVENET_PRESETS["small"], "train/wavenet.py's default: 2 x dilations 1..128 "
                                        "(16 layers), width 2, residual 32, gate 2 x 32, "
                                        "skip 64, 256 classes, no conditioning"),
    "S": (WAVENET_PRESETS["S"], "2 x dilations 1..512 (20 layers), width 2, residual 64, "
                                "gate 2 x 64, skip 128, 256 classes, no conditioning"),
    "small-N": (AUTOENCODER_PRESETS["small"].decoder,
                "the small autoencoder's decoder (the demo's): 2 x dilations 1..128 (16 layers), "
                "width 2, residual 32, gate 2 x 32, skip 64, 256 classes, z (16 channels per 256 "
                "samples) and pitch"),
    "N": (AUTOENCODER_PRESETS["nsynth"].decoder,
          "NSynth decoder: 3 x dilations 1..512 (30 layers), width 3, residual 512, "
          "gate 2 x 512, skip 256, 256 classes, z (16 channels per 512 samples) and pitch"),
}
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# Where runs write their JSON unless --out says otherwise: an untracked folder, so that a
# run leaves the clone clean; benchmarks/results/ holds the figures the docs quote.
RESULTS = os.path.join(ROOT, "result", "benchmarks")


def add_arguments(parser, out_name):
    parser.add_argument("--config", choices=sorted(CONFIGS), default="S",
                        help="named model size (default S)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs per figure; the median is reported (default 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="BLAS thread counts, each measured in its own process "
                             "(default: 1 2; CPU only)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times the thread counts take turns; figures are medians over "
                             "the rounds (default 1)")
    parser.add_argument("--out", default=None,
                        help=f"JSON file to write (default result/benchmarks/"
                             f"{out_name}-CONFIG-DEVICE.json)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's allocation thresholds as they are (the commands "
                             "raise them: chainer_wavenet.allocator), for a before/after")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    add_device_arguments(parser)


def build_model(name, device, seed=0):
    """The named config's WaveNet with random weights, on ``device``."""
    np.random.seed(seed)
    model = WaveNet(CONFIGS[name][0])
    model.to_device(device)
    return model


def parameter_count(model):
    return int(sum(p.size for p in model.params()))


def random_conditions(model, batch, samples, seed=0):
    """Pitch ids and z covering ``samples`` for a conditioned model; Nones otherwise."""
    config = model.config
    rng = np.random.default_rng(seed)
    xp = model.xp
    dtype = model.head2.W.dtype
    global_ids = local_features = None
    if config.n_global:
        global_ids = xp.asarray(rng.integers(0, config.n_global, batch), np.int32)
    if config.local_channels:
        frames = -(-samples // config.local_hop)
        local_features = xp.asarray(rng.normal(size=(batch, config.local_channels, frames)),
                                    dtype)
    return global_ids, local_features


def synchronize(device):
    """Wait for queued GPU work, so that a timer measures it."""
    if device.xp is not np:
        device.device.synchronize()


def measure(run, repeat, device, warmup=1):
    """Median wall and CPU (this process) seconds of ``run()`` over ``repeat`` runs."""
    for _ in range(warmup):
        run()
    synchronize(device)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        synchronize(device)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def machine():
    """What the figures depend on: processor, cores, load, library versions."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "chainer": importlib.metadata.version("chainer"),
            "load_average": os.getloadavg()}


def thread_count():
    return int(os.environ.get("OPENBLAS_NUM_THREADS", 0)) or None


def runs(args, script, measure_all):
    """The parent's columns of figures, each from child processes of ``script``; in a child
    (``--child``), measure, print the JSON line and return None."""
    if args.child:
        child_main(args, measure_all)
        return None
    return run_children(args, script)


def run_children(args, script):
    """Run ``script`` per ``--threads`` count (CPU) or once (GPU); one result per column.

    On the CPU the thread counts take turns, ``--rounds`` times, so that a change in the
    machine's load reaches every column alike; each figure is the median over the rounds.
    """
    command = [sys.executable, script, *sys.argv[1:], "--child"]
    if args.gpu >= 0 or args.device:
        return [merge_rounds([child_result(command, os.environ)])]
    rounds = {threads: [] for threads in args.threads}
    for _ in range(args.rounds):
        for threads in args.threads:
            env = dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})
            rounds[threads].append(child_result(command, env))
    return [merge_rounds(results) for results in rounds.values()]


def merge_rounds(results):
    """One column from its rounds: median figures; every round's figures and load kept."""
    figures = {key: statistics.median(r["figures"][key] for r in results)
               for key in results[0]["figures"]}
    return dict(results[0], figures=figures, rounds=[r["figures"] for r in results],
                load_average_before=[r["load_average_before"][0] for r in results])


def child_result(command, env):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        sys.exit(f"benchmark run failed ({result.returncode}): {' '.join(command)}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def child_main(args, measure_all):
    """In a child: pick the device, measure, print the result as the last line of JSON."""
    device = get_device(args.gpu, args.device)
    kept = not args.default_malloc and keep_freed_memory()
    before = os.getloadavg()
    result = measure_all(args, device)
    result.update(device=str(device), blas_threads=thread_count(), freed_memory_kept=kept,
                  load_average_before=before, load_average_after=os.getloadavg())
    print(json.dumps(result))


def write_json(args, kind, runs, settings):
    """Write every run to ``--out`` and say where."""
    device = "gpu" if args.gpu >= 0 or args.device else "cpu"
    path = args.out or os.path.join(RESULTS, f"{kind}-{args.config}-{device}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    payload = {"command": " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
               "config": args.config, "config_description": CONFIGS[args.config][1],
               "machine": machine(), "settings": settings, "runs": runs}
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    print(f"written to {os.path.relpath(path)}")


def print_table(title, rows, runs):
    """``rows``: (label, key, format); one column per run (thread count or GPU)."""
    heads = [f"{run['blas_threads']} thread{'s' * (run['blas_threads'] != 1)}"
             if run["blas_threads"] else run["device"] for run in runs]
    print(f"\n{title}")
    print(f"{'':44}" + "".join(f"{head:>14}" for head in heads))
    for label, key, form in rows:
        cells = [run["figures"].get(key) for run in runs]
        if all(cell is None for cell in cells):
            continue
        print(f"{label:44}" + "".join(f"{'-' if c is None else format(c, form):>14}"
                                      for c in cells))
    loads = "; ".join(" ".join(f"{load:.1f}" for load in run["load_average_before"])
                      for run in runs)
    print(f"load average (1 min) before each run, by column: {loads} "
          f"({os.cpu_count()} cores)")

