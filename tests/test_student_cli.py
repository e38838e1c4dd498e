"""train/student.py and sample/wavenet.py with a student, end to end on tiny models."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from model_fixtures import make_wavenet
from test_resume import ENV, ROOT

from chainer_wavenet import snapshot
from chainer_wavenet.audio.mel import MelSettings
from chainer_wavenet.models.student import Student

# End-to-end runs of the scripts: the NumPy 1.26 line leaves them out (see Makefile).
pytestmark = pytest.mark.slow

RATE = 16000
MEL = MelSettings(n_mels=8, hop=64, n_fft=256)
TINY = ["--flow-layers", "2,2", "--batchsize", "2", "--length", "64", "--interval", "1",
        "--validation-crops", "2"]


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def save_teacher(path, **settings):
    values = dict(output="logistic_mixture", quantization="linear", n_classes=65536,
                  input_mode="scalar", mixture_components=2, local_channels=MEL.n_mels,
                  local_hop=MEL.hop)
    values.update(settings)
    snapshot.save(path, make_wavenet(**values), {"sample_rate": RATE, "mel": MEL.to_dict(),
                                                 "speakers": []})
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny teacher, three tones, and a student trained from them for two steps."""
    root = tmp_path_factory.mktemp("student")
    dataset = root / "tones"
    dataset.mkdir()
    t = np.arange(RATE // 2) / RATE
    for frequency in (300, 500, 700):
        soundfile.write(dataset / f"{frequency}.wav", 0.4 * np.sin(2 * np.pi * frequency * t),
                        RATE, subtype="PCM_16")
    teacher = save_teacher(root / "teacher.h5")
    out = root / "distilled"
    stdout = ok(run("train/student.py", "--teacher", teacher, "--dataset", dataset,
                    "--out", out, "--iteration", 2, *TINY))
    return {"root": root, "dataset": dataset, "teacher": teacher, "out": out,
            "stdout": stdout}


def test_distillation_writes_a_student_with_its_log(setup):
    out = setup["out"]
    assert "loss: distill" in setup["stdout"] and "main/kl" in setup["stdout"]
    model = snapshot.load(out / "model.h5")
    assert isinstance(model, Student) and model.config.flow_layers == (2, 2)
    assert model.metadata["mel"] == MEL.to_dict() and model.metadata["loss"] == "distill"
    log = json.loads((out / "log").read_text())
    assert {"main/kl", "main/power", "main/entropy", "validation/main/kl"} <= set(log[-1])
    # KL plus power loss is no likelihood: printed and logged in nats, not as bits.
    assert "main/bits" not in set(log[-1]) and "main/bits" not in setup["stdout"]
    assert "validation/main/loss" in setup["stdout"]
    assert json.loads((out / "config.json").read_text())["kind"] == "student"
    # The teacher is named relative to the student's folder: no path of this machine.
    teacher = snapshot.read_config(out / "model.h5")[1]["teacher"]
    assert not os.path.isabs(teacher)
    assert (out / teacher).resolve() == Path(setup["teacher"]).resolve()


def test_distillation_resumed_is_distillation_uninterrupted(setup):
    """The noise of each step comes back with the trainer snapshot: 2 steps and a resume to
    3 give the weights of 3 steps in one run."""
    ok(run("train/student.py", "--teacher", setup["teacher"], "--dataset", setup["dataset"],
           "--out", setup["out"], "--iteration", 3, "--resume", *TINY))
    whole = setup["root"] / "whole"
    ok(run("train/student.py", "--teacher", setup["teacher"], "--dataset", setup["dataset"],
           "--out", whole, "--iteration", 3, *TINY))
    resumed, uninterrupted = (snapshot.load(path / "model.h5") for path in (setup["out"], whole))
    assert resumed.metadata["iteration"] == 3
    for (name, a), (_, b) in zip(sorted(resumed.namedparams()),
                                 sorted(uninterrupted.namedparams()), strict=True):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


def test_maximum_likelihood_training(setup):
    out = setup["root"] / "mle"
    ok(run("train/student.py", "--teacher", setup["teacher"], "--dataset", setup["dataset"],
           "--out", out, "--iteration", 1, "--loss", "mle", *TINY))
    assert snapshot.read_config(out / "model.h5")[1]["loss"] == "mle"
    assert "main/bits" in json.loads((out / "log").read_text())[-1]


def test_the_student_plays_a_condition_in_one_pass(setup, tmp_path):
    condition = setup["dataset"] / "500.wav"
    stdout = ok(run("sample/wavenet.py", "--model", setup["out"] / "model.h5", "--condition",
                    condition, "--out", tmp_path, "--batch", 2, "--seed", 1))
    assert "student (Parallel WaveNet): 2 flows of 2, 2 layers" in stdout
    audio, rate = soundfile.read(tmp_path / "sample_001.wav")
    assert rate == RATE and len(audio) == RATE // 2 and np.abs(audio).max() <= 1
    teacher = ok(run("sample/wavenet.py", "--model", setup["teacher"], "--condition",
                     condition, "--out", tmp_path / "t", "--length", 40))
    assert "teacher (WaveNet): autoregressive" in teacher
    refused(run("sample/wavenet.py", "--model", setup["out"] / "model.h5", "--condition",
                condition, "--prime", condition, "--out", tmp_path / "p"),
            "student", "--prime")


def test_evaluate_measures_a_student(setup, tmp_path):
    ok(run("sample/wavenet.py", "evaluate", "--model", setup["out"] / "model.h5",
           "--dataset", setup["dataset"], "--seconds", 0.1, "--limit", 1, "--out", tmp_path))
    results = json.loads((tmp_path / "evaluation.json").read_text())
    assert results["kind"] == "student"
    assert results["summary"]["nll_bits"] > 0 and results["summary"]["log_mel_db"] >= 0


def test_teachers_that_cannot_teach_are_refused(setup, tmp_path):
    softmax = tmp_path / "softmax.h5"
    snapshot.save(softmax, make_wavenet(local_channels=MEL.n_mels, local_hop=MEL.hop),
                  {"sample_rate": RATE, "mel": MEL.to_dict()})
    refused(run("train/student.py", "--teacher", softmax, "--dataset", setup["dataset"],
                "--out", tmp_path / "s"), "softmax teacher", "--output logistic_mixture")


def test_the_student_plays_at_the_temperature_asked(setup, tmp_path):
    """--temperature scales the student's noise: near 0 every seed plays the same (the flows'
    path of zero noise), 0.5 lies nearer to it than 1 does, and 1 depends on the seed."""
    def play(temperature, seed):
        out = tmp_path / f"{temperature}-{seed}"
        ok(run("sample/wavenet.py", "--model", setup["out"] / "model.h5", "--condition",
               setup["dataset"] / "500.wav", "--out", out, "--seed", seed,
               "--temperature", temperature))
        return soundfile.read(out / "sample_000.wav", dtype="float32")[0]

    still = play(1e-6, 1)
    np.testing.assert_allclose(play(1e-6, 2), still, atol=1e-3)
    half, whole = play(0.5, 1), play(1, 1)
    assert not np.allclose(play(1, 2), whole, atol=1e-3)
    assert 0 < np.abs(half - still).mean() < 0.75 * np.abs(whole - still).mean()
