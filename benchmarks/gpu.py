"""Every GPU figure in one call: generation of configs S and N, config N training in
float32 and float16 at the largest batch that fits, the float16 embedding's backward; one
table and one JSON file.

    python benchmarks/gpu.py --gpu 0
    python benchmarks/gpu.py --device @numpy --quick    # the same steps on tiny sizes

Generation: aggregate samples per second of ``generate`` at each batch. Training: the
largest batch (doubling from 1 up to ``--max-batch``) whose Adam step fits in memory,
with its loss-bearing samples per second and the step's memory (CuPy's pool; NumPy's
peak allocation on a CPU). float16 keeps float32 master weights in Adam and scales the
loss. Embedding: a float16 table's forward and backward by Chainer's EmbedID (float16
atomicAdd) and by the project's (float32 sum), in microseconds. ``--quick`` swaps S and N
for the small configs and shrinks every size.
"""

import argparse
import functools
import gc
import json
import os
import sys
import types

import common  # sets chainer up: first

# isort: split
import chainer
import numpy as np
import training

from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.links.embed_id import EmbedID
from chainer_wavenet.sampling.generate import generate

# The project's targets on an H100, by figure key.
TARGETS = {"generation S 1": 16000, "generation N 256": 256000}
SIZES = {  # --quick or not: configs standing for S and N, batches, lengths, training
    False: {"S": "S", "N": "N", "S batches": (1, 16, 64, 256, 1024), "N batches": (1, 16, 64, 256),
            "S length": 2000, "N length": 200, "train length": 8192, "max batch": 64,
            "repeat": 5, "embedding": (16, 8192, 512)},
    True: {"S": "small", "N": "small-N", "S batches": (1, 2), "N batches": (1, 2),
           "S length": 20, "N length": 20, "train length": 32, "max batch": 2, "repeat": 1,
           "embedding": (2, 32, 8)},
}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small configs and sizes: checks that every step runs")
    parser.add_argument("--out", default=None,
                        help="JSON file to write (default result/benchmarks/gpu-DEVICE.json)")
    add_device_arguments(parser)
    return parser


def generation(name, batches, length, repeat, device):
    """Aggregate samples/s of ``generate`` for config ``name`` at each batch."""
    model = common.build_model(name, device)
    figures = {}
    for batch in batches:
        ids, z = common.random_conditions(model, batch, length + 1)
        run = functools.partial(generate, model, length, batch, 1.0, ids, z, seed=0)
        figures[batch] = batch * length / common.measure(run, repeat, device)["wall_s"]
    return figures


# How cuBLAS, cuDNN, cuRAND and the CUDA runtime and driver say they ran out of memory: CuPy
# raises these as their own errors (CUBLASError, CUDARuntimeError, ...), not as MemoryError.
OUT_OF_MEMORY_STATUSES = ("CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED",
                          "CURAND_STATUS_ALLOCATION_FAILED", "cudaErrorMemoryAllocation",
                          "CUDA_ERROR_OUT_OF_MEMORY")


def is_out_of_memory(error):
    """Whether ``error`` says the host or the GPU ran out of memory (CuPy's own
    OutOfMemoryError is a MemoryError; the CUDA libraries' errors name a status)."""
    return isinstance(error, MemoryError) or any(status in str(error)
                                                 for status in OUT_OF_MEMORY_STATUSES)


def free_memory(device):
    gc.collect()
    if device.xp is not np:
        device.xp.get_default_memory_pool().free_all_blocks()


def largest_training_batch(name, dtype, sizes, device):
    """(batch, figures) of the largest batch whose training step fits, or None."""
    with chainer.using_config("dtype", dtype):
        model = common.build_model(name, device)
        optimizer = chainer.optimizers.Adam()
        optimizer.setup(model)
        if dtype == np.float16:
            optimizer.use_fp32_update()
            optimizer.loss_scaling()
        args = types.SimpleNamespace(length=sizes["train length"], repeat=sizes["repeat"])
        fitted = None
        batch = 1
        while batch <= sizes["max batch"]:
            try:
                figures = training.measure_batch(model, optimizer, batch, args, device)
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                break
            finally:
                free_memory(device)
            fitted = batch, figures
            batch *= 2
    return fitted


def embedding_backward(sizes, repeat, device):
    """Microseconds of a float16 input embedding's forward and backward, by Chainer's
    EmbedID (float16 atomicAdd) and by the project's (float32 sum on a GPU; Chainer's on
    NumPy), for (batch, samples) classes crowded around silence as in quiet audio."""
    batch, samples, channels = sizes["embedding"]
    rng = np.random.default_rng(0)
    classes = np.clip(np.rint(128 + 3 * rng.standard_normal((batch, samples))), 0, 255)
    x = device.send(classes.astype(np.int32))
    figures = {}
    for name, link in (("chainer", chainer.links.EmbedID), ("float32 sum", EmbedID)):
        with chainer.using_config("dtype", np.float16):
            table = link(256, channels)
        table.to_device(device)
        gy = device.xp.ones((batch, samples, channels), np.float16)

        def run(table=table, gy=gy):
            table.cleargrads()
            y = table(x)
            y.grad = gy
            y.backward()

        figures[f"embedding float16 {name}"] = 1e6 * common.measure(run, repeat, device)["wall_s"]
    return figures


def measure_all(sizes, device):
    figures = embedding_backward(sizes, sizes["repeat"], device)
    for role in ("S", "N"):
        rates = generation(sizes[role], sizes[f"{role} batches"], sizes[f"{role} length"],
                           sizes["repeat"], device)
        figures.update({f"generation {role} {batch}": rate for batch, rate in rates.items()})
    for dtype in (np.float32, np.float16):
        kind = np.dtype(dtype).name
        fitted = largest_training_batch(sizes["N"], dtype, sizes, device)
        if fitted is None:
            continue
        batch, measured = fitted
        figures[f"train {kind} batch"] = batch
        figures[f"train {kind}"] = measured[f"train {batch}"]
        figures[f"train {kind} memory"] = measured[f"step memory {batch}"]
    return figures


def table(figures, sizes, device_name, quick):
    batch, samples, channels = sizes["embedding"]
    rows = [(f"embedding fp16 {batch}x{samples}x{channels}, fwd+bwd, us: {name}",
             f"embedding float16 {name}") for name in ("chainer", "float32 sum")]
    for role in ("S", "N"):
        for batch in sizes[f"{role} batches"]:
            key = f"generation {role} {batch}"
            rows.append((f"config {sizes[role]} generation, batch {batch}, samples/s", key))
    for kind in ("float32", "float16"):
        rows += [(f"config {sizes['N']} training {kind}: largest batch that fits",
                  f"train {kind} batch"),
                 (f"config {sizes['N']} training {kind}: samples/s", f"train {kind}"),
                 (f"config {sizes['N']} training {kind}: step memory, MiB",
                  f"train {kind} memory")]
    lines = [f"{'':56}{device_name:>22}{'target':>12}"]
    for label, key in rows:
        value = figures.get(key)
        target = None if quick else TARGETS.get(key)
        lines.append(f"{label:56}{'-' if value is None else format(value, ',.0f'):>22}"
                     f"{'' if target is None else format(target, ','):>12}")
    return "\n".join(lines)


def main():
    args = build_parser().parse_args()
    sizes = SIZES[args.quick]
    device = get_device(args.gpu, args.device)
    figures = measure_all(sizes, device)
    name = str(device)
    if device.xp is not np:
        import cupy

        properties = cupy.cuda.runtime.getDeviceProperties(device.device.id)
        name = properties["name"].decode()
    print(f"training crops: receptive field + {sizes['train length']} samples; batches up to "
          f"{sizes['max batch']}")
    print(table(figures, sizes, name, args.quick))
    stem = f"gpu-{'quick-' if args.quick else ''}{device.xp.__name__}"
    path = args.out or os.path.join(common.RESULTS, f"{stem}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"command": " ".join(sys.argv), "device": name, "machine": common.machine(),
                   "sizes": sizes, "figures": figures}, f, indent=2)
    print(f"written to {os.path.relpath(path)}")


if __name__ == "__main__":
    sys.exit(main())
