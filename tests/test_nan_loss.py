"""A loss that turns NaN stops training: the message names the iteration, nothing is saved."""

import shutil
import subprocess
import sys

import pytest
from test_resume import ENV, ROOT, write_speaker_folder

FLAGS = ("--validation-fraction", 0.34, "--length", 64, "--batchsize", 2, "--seed", 3,
         "--validation-crops", 4)


def train(*args):
    return subprocess.run([sys.executable, "train/wavenet.py", *map(str, args)], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=300)


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A run of 4 steps with the default step-size decay (at steps 2 and 3): all is well."""
    dataset = write_speaker_folder(tmp_path_factory.mktemp("speakers"))
    out = tmp_path_factory.mktemp("good") / "run"
    result = train("--dataset", dataset, "--out", out, *FLAGS, "--iteration", 4, "--interval", 4)
    assert result.returncode == 0, result.stderr
    return dataset, out


@pytest.mark.parametrize("interval, message", [
    (4, "training loss became nan at iteration 6;"),  # step 5's update broke the weights
    (1, "validation loss became nan after the update of iteration 5;"),
], ids=["in-training", "in-validation"])
def test_resuming_with_a_huge_step_size_stops_at_the_first_nan(good_run, tmp_path, interval,
                                                                message):
    """--lr on resume takes effect (after decays too); the broken weights are never saved."""
    dataset, good = good_run
    out = tmp_path / "run"
    shutil.copytree(good, out)
    before = contents(out)
    result = train("--dataset", dataset, "--out", out, *FLAGS, "--iteration", 8,
                   "--interval", interval, "--resume", "--lr", 1e15)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line and str(out) in line
    assert contents(out) == before  # snapshot_iter_4.npz, model.h5, log, plot: untouched


def test_debug_shows_the_traceback(good_run, tmp_path):
    dataset, good = good_run
    out = tmp_path / "run"
    shutil.copytree(good, out)
    result = train("--dataset", dataset, "--out", out, *FLAGS, "--iteration", 8,
                   "--resume", "--lr", 1e15, "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "NonFiniteLoss" in result.stderr
