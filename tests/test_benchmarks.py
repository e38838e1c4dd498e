"""The benchmark scripts end to end on the small config and tiny sizes: tables and JSON."""

import json
import subprocess
import sys
from pathlib import Path

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


def test_gpu_benchmark_runs_every_step_on_the_cpu(tmp_path):
    """``--quick`` on NumPy: the GPU script's generation and float32/float16 training steps."""
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
    assert "config small-N training float16: samples/s" in result.stdout


def test_cache_benchmark_compares_the_three_ways_of_loading():
    result = subprocess.run([sys.executable, "benchmarks/cache.py", "--notes", "5"], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [" ".join(row[:-2]) for row in rows] == ["in memory", "cache build", "cache reuse"]
    assert all(float(row[-2]) >= 0 and float(row[-1].replace(",", "")) > 0 for row in rows)
