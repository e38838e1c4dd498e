"""The moving average of the weights: its arithmetic, its state in snapshots, model.h5 holding
it with the raw weights, and the sample command choosing between them."""

import io
import subprocess
import sys
from pathlib import Path

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet

from chainer_wavenet import WaveNetError, snapshot
from chainer_wavenet.training.extensions.ema import ExponentialMovingAverage
from chainer_wavenet.training.extensions.snapshots import ModelSnapshot

ROOT = Path(__file__).resolve().parent.parent


def nudge(model, seed):
    """Stand-in for an optimizer step: change every weight."""
    rng = np.random.default_rng(seed)
    for param in model.params():
        param.array += rng.normal(0, 0.1, param.shape).astype(param.dtype)


def test_average_follows_the_weights_with_a_warm_up_then_the_decay():
    model = make_wavenet()
    ema = ExponentialMovingAverage(model, 0.5)
    name, param = sorted(model.namedparams())[0]
    expected = param.array.copy()
    for n in range(4):
        nudge(model, n)
        decay = min(0.5, (1 + n) / (10 + n))  # 0.1, 0.18.., then 0.5 from n = 2 on
        expected = decay * expected + (1 - decay) * param.array
        ema(None)
    averaged = dict(ema.average.namedparams())[name].array
    np.testing.assert_allclose(averaged, expected, rtol=1e-6)
    assert ema.updates == 4
    assert not np.array_equal(averaged, param.array)


def test_average_starts_as_a_copy_that_training_does_not_touch():
    model = make_wavenet()
    ema = ExponentialMovingAverage(model, 0.999)
    before = {name: p.array.copy() for name, p in ema.average.namedparams()}
    nudge(model, 0)
    for name, param in ema.average.namedparams():
        np.testing.assert_array_equal(param.array, before[name])


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 2.0])
def test_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(WaveNetError, match="--ema must lie strictly between 0 and 1"):
        ExponentialMovingAverage(make_wavenet(), decay)


def test_state_round_trips_through_a_trainer_snapshot_format():
    model = make_wavenet()
    ema = ExponentialMovingAverage(model, 0.9)
    for n in range(3):
        nudge(model, n)
        ema(None)
    buffer = io.BytesIO()
    chainer.serializers.save_npz(buffer, ema)
    buffer.seek(0)
    resumed = ExponentialMovingAverage(model, 0.9)
    chainer.serializers.load_npz(buffer, resumed)
    assert resumed.updates == 3
    for (name, left), (_, right) in zip(sorted(ema.average.namedparams()),
                                        sorted(resumed.average.namedparams()), strict=True):
        np.testing.assert_array_equal(left.array, right.array, err_msg=name)


@pytest.fixture
def averaged_snapshot(tmp_path):
    """model.h5 of a run with an average: (path, raw model, averaged model)."""
    model = make_wavenet()
    ema = ExponentialMovingAverage(model, 0.5)
    for n in range(3):
        nudge(model, n)
        ema(None)
    trainer = type("Trainer", (), {"out": str(tmp_path),
                                   "updater": type("Updater", (), {"iteration": 3})()})()
    ModelSnapshot(model, metadata={"ema": 0.5}, average=ema.average)(trainer)
    return tmp_path / "model.h5", model, ema.average


def test_model_file_holds_the_average_and_the_raw_weights(averaged_snapshot):
    path, raw, average = averaged_snapshot
    assert snapshot.has_raw_weights(path)
    for loaded, expected in ((snapshot.load(path), average),
                             (snapshot.load(path, raw=True), raw)):
        for (name, left), (_, right) in zip(sorted(loaded.namedparams()),
                                            sorted(expected.namedparams()), strict=True):
            np.testing.assert_array_equal(left.array, right.array, err_msg=name)
    assert snapshot.load(path).metadata == {"ema": 0.5, "iteration": 3}


def test_raw_weights_of_a_model_without_average_are_its_weights(tmp_path):
    model = make_wavenet()
    snapshot.save(tmp_path / "model.h5", model)
    assert not snapshot.has_raw_weights(tmp_path / "model.h5")
    loaded = snapshot.load(tmp_path / "model.h5", raw=True)
    for (name, left), (_, right) in zip(sorted(loaded.namedparams()),
                                        sorted(model.namedparams()), strict=True):
        np.testing.assert_array_equal(left.array, right.array, err_msg=name)


def test_sample_command_uses_the_average_unless_no_ema(averaged_snapshot, tmp_path):
    path = averaged_snapshot[0]
    played = {}
    for flags in ((), ("--no-ema",)):
        out = tmp_path / ("raw" if flags else "average")
        result = subprocess.run([sys.executable, "sample/wavenet.py", "--model", str(path),
                                 "--out", str(out), "--length", "200", "--seed", "1", *flags],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        played[flags] = (out / "sample_000.wav").read_bytes()
    assert played[()] != played[("--no-ema",)]


def test_validation_scores_the_averaged_weights_that_model_h5_holds(tmp_path):
    """With --ema the logged validation loss is that of the average (what model.h5 plays),
    not of the raw weights."""
    import json

    sys.path.insert(0, str(ROOT / "tests"))
    import mpi_worker

    from chainer_wavenet.training import runner

    args = mpi_worker.build_parser().parse_args(
        ["--dump", str(tmp_path), "--out", str(tmp_path / "run"), "--ema", "0.5",
         "--iteration", "6", "--interval", "6", "--lr", "0.2"])
    model = mpi_worker.build_model(0)
    valid = mpi_worker.crops(seed=1, sequences=2)
    runner.run_training(model, mpi_worker.crops(), valid, args, metadata={})
    logged = json.loads((tmp_path / "run" / "log").read_text())[-1]["validation/main/bits"]

    def bits(weights):
        batches = chainer.dataset.concat_examples([valid[i] for i in range(len(valid))])
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            return float(weights.loss(*batches).array) / np.log(2)

    averaged = snapshot.load(tmp_path / "run" / "model.h5")
    raw = snapshot.load(tmp_path / "run" / "model.h5", raw=True)
    assert abs(bits(averaged) - bits(raw)) > 1e-3, "the average should differ from the weights"
    np.testing.assert_allclose(logged, bits(averaged), rtol=1e-5)
