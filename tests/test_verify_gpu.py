"""benchmarks/verify_gpu.py runs every check on the CPU (``--quick``) and reports each by name."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("gpu tests", "train wavenet", "train autoencoder", "resume autoencoder",
          "resume wavenet on cpu", "sample wavenet", "sample autoencoder",
          "logits device vs cpu", "gpu benchmark")


def test_every_check_passes_on_the_cpu(tmp_path):
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "benchmarks/verify_gpu.py", "--device", "@numpy",
                             "--quick", "--out", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert list(report["checks"]) == list(CHECKS)
    for name, check in report["checks"].items():
        assert check["status"] == "PASS", (name, check)
        assert f"PASS  {name}" in result.stdout
    assert "config small-N training float16: samples/s" in report["checks"]["gpu benchmark"][
        "output"]
    assert f"{len(CHECKS)} of {len(CHECKS)} checks passed on @numpy" in result.stdout
