"""The benchmark scripts end to end on the small config and tiny sizes: tables and JSON;
and, untimed, that each measures the work it names."""

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet, random_conditions

from chainer_wavenet.sampling.generate import generate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def run(script, out, *args):
    result = subprocess.run([sys.executable, f"benchmarks/{script}.py", "--config", "small",
                             "--threads", "1", "--repeat", "1", "--out", str(out), *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(out.read_text())


def test_generation_benchmark_prints_every_figure(tmp_path):
    table, written = run("generation", tmp_path / "g.json", "--batch", "1", "2",
                         "--length", "30", "--naive-length", "2", "--flat", "20", "40",
                         "--flat-repeat", "1")
    assert "145,184 parameters" in table
    figures = written["runs"][0]["figures"]
    for batch in (1, 2):
        assert figures[f"fast {batch}"] > 0
        assert figures[f"speedup {batch}"] == figures[f"fast {batch}"] / figures[f"naive {batch}"]
        assert figures[f"share {batch}"] == figures[f"fast {batch}"] / figures[f"products {batch}"]
    assert figures["flat ratio"] == figures["flat long"] / figures["flat short"]
    assert "batch 2: fast / products alone" in table
    assert written["runs"][0]["blas_threads"] == 1
    assert written["settings"]["batch"] == [1, 2]


def test_training_benchmark_prints_every_figure(tmp_path):
    table, written = run("training", tmp_path / "t.json", "--batch", "1", "--length", "64")
    figures = written["runs"][0]["figures"]
    assert figures["train 1"] > 0 and figures["forward 1"] > 0
    assert figures["step memory 1"] > 0
    # 145,184 float32 parameters, their gradients and Adam's two moments.
    assert abs(figures["model memory"] - 145184 * 4 * 4 / 2 ** 20) < 1e-6
    assert "1 x 64: train step, samples/s" in table


def test_student_benchmark_prints_every_figure(tmp_path):
    """``--quick``: the small teacher and student, each student figure beside the teacher's."""
    out = tmp_path / "s.json"
    result = subprocess.run([sys.executable, "benchmarks/student.py", "--quick", "--threads",
                             "1", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["runs"][0]["figures"]
    assert figures["teacher"] > 0
    for batch in (1, 4):
        assert figures[f"small {batch} ratio"] == figures[f"small {batch}"] / figures["teacher"]
        assert figures[f"small {batch} real time"] == figures[f"small {batch}"] / 16000
    assert "student small, batch 4, samples/s" in result.stdout


def test_distillation_benchmark_times_both_forms_of_a_step(tmp_path):
    """``--quick``: the baseline and the new step (which it checks give the same loss) and
    their ratio."""
    out = tmp_path / "d.json"
    result = subprocess.run([sys.executable, "benchmarks/distillation.py", "--quick",
                             "--threads", "1", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["runs"][0]["figures"]
    assert figures["baseline"] > 0 and figures["new"] > 0
    assert figures["ratio"] == figures["baseline"] / figures["new"]
    assert "baseline / new" in result.stdout


def test_gpu_benchmark_runs_every_step_on_the_cpu(tmp_path):
    """``--quick`` on NumPy: the GPU script's generation, float32/float16 training steps and
    float16 embedding timings."""
    out = tmp_path / "gpu.json"
    result = subprocess.run([sys.executable, "benchmarks/gpu.py", "--device", "@numpy",
                             "--quick", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["figures"]
    for key in ("generation S 1", "generation S 2", "generation N 1", "generation N 2"):
        assert figures[key] > 0
    for kind in ("float32", "float16"):
        assert figures[f"train {kind} batch"] == 2 and figures[f"train {kind}"] > 0
    assert figures["train float16 memory"] < figures["train float32 memory"]
    assert figures["embedding float16 chainer"] > 0
    assert figures["embedding float16 float32 sum"] > 0
    assert "config small-N training float16: samples/s" in result.stdout


def test_convolution_benchmark_times_both_forms_and_checks_they_agree(tmp_path):
    out = tmp_path / "c.json"
    result = subprocess.run([sys.executable, "benchmarks/convolution.py", "--config", "small",
                             "--batch", "1", "--length", "32", "--repeat", "1", "--rounds", "1",
                             "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["runs"][0]["figures"]
    assert figures["difference"] < 1e-5
    for part in ("forward", "backward"):
        assert figures[f"ratio {part}"] == figures[f"per tap {part}"] / figures[f"stacked {part}"]
    assert "forward + backward" in result.stdout


def test_cache_benchmark_compares_the_three_ways_of_loading(tmp_path):
    """Each way of loading runs in its own process: decoding every WAV into memory, building
    the cache (every WAV decoded once), then reusing it (no WAV decoded), counted."""
    log = tmp_path / "wav_reads.jsonl"
    env = dict(os.environ, WAV_READ_LOG=str(log),
               PYTHONPATH=str(ROOT / "tests" / "wav_read_counter"))
    result = subprocess.run([sys.executable, "benchmarks/cache.py", "--notes", "5"], cwd=ROOT,
                            capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [" ".join(row[:-2]) for row in rows] == ["in memory", "cache build", "cache reuse"]
    assert all(float(row[-2]) >= 0 and float(row[-1].replace(",", "")) > 0 for row in rows)
    processes = [json.loads(line) for line in log.read_text().splitlines()]
    children = [p for p in processes if "--child" in p["argv"]]
    assert [p["argv"][-1] == "-" for p in children] == [True, False, False]
    assert [p["reads"] for p in children] == [5, 5, 0]


@pytest.fixture
def benchmark(monkeypatch):
    """A benchmark script imported as a module (it finds its ``common`` beside it)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module


def test_naive_generator_generates_what_generate_does(benchmark):
    """The baseline is the same generator: from the same uniforms, the same samples."""
    generation = benchmark("generation")
    model = make_wavenet(n_global=3, local_channels=2, local_hop=4)
    model.head2.W.array *= 20  # wide gaps between the logits, so rounding cannot tip a draw
    batch, length, field = 2, 24, model.receptive_field
    ids, z = random_conditions(model.config, np.random.default_rng(0), batch, field + length)
    uniform = np.random.default_rng(9).random((length, batch), dtype=np.float32)
    naive = generation.naive_generate(model, length, batch, ids, z, uniform)
    silence = np.full((batch, field), model.config.n_classes // 2, np.int32)
    np.testing.assert_array_equal(naive, generate(model, length, batch, 1.0, ids, z, silence,
                                                  seed=9))


def test_training_benchmark_counts_the_positions_that_carry_the_loss(benchmark, monkeypatch):
    """Each step trains on crops of receptive field + length; the figures count batch x
    length samples (each timed run made to take one second, so a figure is its count)."""
    training = benchmark("training")
    runs = []
    monkeypatch.setattr(training.common, "measure",
                        lambda run, repeat, device: runs.append(run()) or
                        {"wall_s": 1.0, "cpu_s": 1.0})
    model = make_wavenet()
    crops = []
    loss = model.loss
    monkeypatch.setattr(model, "loss", lambda x, *args: crops.append(x.shape) or loss(x, *args))
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(model)
    before = model.head2.W.array.copy()
    figures = training.measure_batch(model, optimizer, 3, argparse.Namespace(length=40, repeat=1),
                                     chainer.get_device("@numpy"))
    assert len(runs) == 2 and crops[0] == (3, model.receptive_field + 40)
    assert not np.array_equal(model.head2.W.array, before), "a train step updates the weights"
    for name in ("train 3", "train cpu 3", "forward 3", "forward cpu 3"):
        assert figures[name] == 3 * 40


@pytest.mark.parametrize("scale, scales", [(None, [1.0, 2.0]), (2.0 ** 10, [2.0 ** 10] * 2)],
                         ids=["dynamic", "fixed"])
def test_training_step_scales_the_loss_and_unscales_the_gradients(benchmark, scale, scales):
    """With loss scaling, the gradients Adam's hooks see are the loss scale times the plain
    ones (dynamic scaling starts at 1 and doubles after a finite step), and the weights take
    the same steps as without scaling."""
    training = benchmark("training")
    rng = np.random.default_rng(4)
    plain, scaled = make_wavenet(), make_wavenet()
    x = rng.integers(0, plain.config.n_classes, (2, plain.receptive_field + 16)).astype(np.int32)
    seen = {}
    for name, model in (("plain", plain), ("scaled", scaled)):
        optimizer = chainer.optimizers.Adam()
        optimizer.setup(model)
        if name == "scaled":
            optimizer.loss_scaling(scale=scale)
        seen[name] = []
        optimizer.add_hook(lambda opt, grads=seen[name]: grads.append(opt.target.head2.W.grad
                                                                      .copy()), timing="pre")
        for _ in scales:
            training.train_step(model, optimizer, x, None, None)
    for factor, plain_grad, scaled_grad in zip(scales, seen["plain"], seen["scaled"],
                                               strict=True):
        np.testing.assert_allclose(scaled_grad, factor * plain_grad, rtol=1e-5, atol=1e-12)
    for (name, a), (_, b) in zip(sorted(plain.namedparams()), sorted(scaled.namedparams()),
                                 strict=True):
        np.testing.assert_allclose(b.array, a.array, rtol=1e-5, atol=1e-7, err_msg=name)


class CUBLASError(RuntimeError):
    """Named as CuPy names cuBLAS's errors (cupy_backends.cuda.libs.cublas)."""


class CUDARuntimeError(RuntimeError):
    """Named as CuPy names the CUDA runtime's errors (cupy.cuda.runtime)."""


@pytest.mark.parametrize("error, out_of_memory", [
    (MemoryError("Out of memory allocating 1,024 bytes"), True),
    (CUBLASError("CUBLAS_STATUS_ALLOC_FAILED"), True),
    (CUDARuntimeError("cudaErrorMemoryAllocation: out of memory"), True),
    (CUBLASError("CUBLAS_STATUS_EXECUTION_FAILED"), False),
    (ValueError("shapes (2,3) and (4,5) not aligned"), False),
], ids=["memory-error", "cublas-alloc", "cuda-runtime-alloc", "cublas-other", "value-error"])
def test_largest_batch_search_knows_every_out_of_memory_error(benchmark, error, out_of_memory):
    assert benchmark("gpu").is_out_of_memory(error) is out_of_memory
