"""A loss that turns NaN stops training: the message names the iteration, nothing is saved."""

import shutil
import subprocess
import sys

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet
from test_resume import ENV, ROOT, write_speaker_folder

from chainer_wavenet.training.objective import DeferredLossCheck, NonFiniteLoss, Objective

FLAGS = ("--validation-fraction", 0.34, "--length", 64, "--batchsize", 2, "--seed", 3,
         "--validation-crops", 4)


def train(*args):
    return subprocess.run([sys.executable, "train/wavenet.py", *map(str, args)], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=300)


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


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


def nan_trainer(check_every_step, interval):
    """A Trainer of a tiny WaveNet whose loss is NaN from the first step, its objective
    checking each loss as it comes or only at ``interval`` (as on a GPU)."""
    model = make_wavenet()
    model.head2.b.array[:] = np.nan
    objective = Objective(model, check_every_step=check_every_step)
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(objective)
    crops = list(np.random.default_rng(0).integers(0, 32, (4, model.receptive_field + 4),
                                                   dtype=np.int32))
    updater = chainer.training.StandardUpdater(chainer.iterators.SerialIterator(crops, 2),
                                               optimizer)
    trainer = chainer.training.Trainer(updater, (10, "iteration"))
    trainer.extend(DeferredLossCheck(objective), trigger=(interval, "iteration"))
    return trainer


@pytest.mark.parametrize("check_every_step, stopped_at, iterations",
                         [(True, 0, None), (False, 3, (1, 3))], ids=["each-step", "deferred"])
def test_a_nan_loss_stops_the_trainer_as_it_comes_or_at_the_deferred_check(
        check_every_step, stopped_at, iterations):
    """Read on the host (NumPy's default) the first NaN stops the first update; kept on the
    device (a GPU's default) it stops the run at the next check, naming the steps checked."""
    trainer = nan_trainer(check_every_step, interval=3)
    with np.errstate(invalid="ignore"), pytest.raises(NonFiniteLoss) as raised:
        trainer.run(show_loop_exception_msg=False)
    assert trainer.updater.iteration == stopped_at
    assert raised.value.training and raised.value.iterations == iterations


def test_a_deferred_check_passes_finite_losses_and_starts_afresh():
    model = make_wavenet()
    objective = Objective(model, check_every_step=False)
    x = np.random.default_rng(1).integers(0, 32, (2, model.receptive_field + 4), dtype=np.int32)
    with chainer.using_config("train", True):
        objective(x)
        objective.check((1, 1))
        model.head2.b.array[:] = np.inf
        with np.errstate(invalid="ignore"):
            objective(x)
        with pytest.raises(NonFiniteLoss, match="training loss became nan or inf"):
            objective.check((2, 2))
        objective.check((3, 3))  # the NaN was reported once
    with chainer.using_config("train", False), np.errstate(invalid="ignore"):
        with pytest.raises(NonFiniteLoss, match="validation loss became nan"):
            objective(x)  # validation losses are read as they come
