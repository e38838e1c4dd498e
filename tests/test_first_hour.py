"""What a new user meets first: the README's commands and what `make demo` tells them."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_fixtures import make_autoencoder

import chainer_wavenet
from chainer_wavenet import snapshot
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.models.config import WaveNetConfig, student_for, with_output
from chainer_wavenet.models.student import Student
from chainer_wavenet.models.wavenet import WaveNet

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000


def readme_section(title):
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, title
    return match.group(1)


def test_two_commands_say_to_activate_the_virtual_environment():
    assert "source .venv/bin/activate" in readme_section("Two commands")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_ends_by_printing_the_activation_line():
    # A dry run prints every command of the recipe, the last one included, and runs none.
    result = subprocess.run(["make", "-n", "--no-print-directory", "demo", "DATASET=tests"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "source .venv/bin/activate" in last


def python_snippet():
    match = re.search(r"```python\n(.*?)```", readme_section("From Python"), re.S)
    return match.group(1)


@pytest.mark.slow
def test_the_readme_python_snippet_runs_as_written(tmp_path, monkeypatch, sine):
    (tmp_path / "result" / "autoencoder").mkdir(parents=True)
    snapshot.save(tmp_path / "result" / "autoencoder" / "model.h5", make_autoencoder())
    write_wav(tmp_path / "note.wav", sine(262.0, 3200), RATE)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(python_snippet(), scope)
    assert scope["z"].shape[0] == 4 and scope["z"].ndim == 2
    assert read_wav(tmp_path / "again.wav").shape == (scope["z"].shape[1] * 8,)


@pytest.fixture(scope="module")
def autoencoder():
    return make_autoencoder()


def test_encode_refuses_a_stereo_array_read_as_notes_of_two_samples(autoencoder, sine):
    stereo = np.stack([sine(), sine()], axis=1)
    with pytest.raises(chainer_wavenet.WaveNetError, match=r"\(1600, 2\).*mean\(axis=1\)"):
        autoencoder.encode(stereo)
    assert autoencoder.encode(stereo.mean(axis=1)).shape == (4, 200)


@pytest.mark.parametrize("dtype, scale", [(np.int16, 32767), (np.int32, 2 ** 31 - 1)])
def test_encode_refuses_integer_samples(autoencoder, sine, dtype, scale):
    with pytest.raises(chainer_wavenet.WaveNetError, match=f"{np.dtype(dtype).name}.*32768"):
        autoencoder.encode((sine() * scale).astype(dtype))


def test_encode_refuses_unscaled_float_samples(autoencoder, sine):
    with pytest.raises(chainer_wavenet.WaveNetError, match="outside \\[-1, 1\\]"):
        autoencoder.encode(sine() * 32767)


# A plain WaveNet trained as the README says, its output redirected to a file.

LR = 2e-3


def script(path, *args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / path), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("wavenet")
    data = root / "my-recordings"
    data.mkdir()
    rng = np.random.default_rng(0)
    for k, frequency in enumerate((220, 330, 440, 550)):
        t = np.arange(1200) / RATE
        write_wav(data / f"take_{k}.wav", 0.4 * np.sin(2 * np.pi * frequency * t)
                  + 0.05 * rng.standard_normal(len(t)), RATE)
    result = script("train/wavenet.py", "--dataset", data, "--out", root / "run", "--length", 64,
                    "--batchsize", 2, "--iteration", 8, "--interval", 2, "--lr", LR,
                    "--validation-fraction", 0.25, "--seed", 3)
    assert result.returncode == 0, result.stderr
    return {"data": data, "out": root / "run", "stdout": result.stdout, "root": root}


@pytest.mark.slow
def test_training_into_a_file_prints_plain_report_lines(trained):
    assert "\x1b" not in trained["stdout"]
    lines = [line.split() for line in trained["stdout"].splitlines()]
    assert [line[1] for line in lines if line and line[0] == "0"] == ["2", "4", "6", "8"]


@pytest.mark.slow
def test_the_log_holds_the_step_size_that_the_decay_halves(trained):
    log = json.loads((trained["out"] / "log").read_text())
    assert [entry["lr"] for entry in log] == pytest.approx([LR, LR / 2, LR / 4, LR / 4])


@pytest.mark.slow
def test_the_held_out_files_are_named_stored_and_evaluated(trained, tmp_path):
    metadata = snapshot.read_config(trained["out"] / "model.h5")[1]
    [held] = metadata["split"]["validation_files"]
    assert held in trained["stdout"] and held.startswith("take_")
    assert metadata["dataset"] == "my-recordings"
    assert str(trained["root"]) not in json.dumps(metadata)
    for split, expected in (("valid", [held]), ("train", sorted(
            f"take_{k}.wav" for k in range(4) if f"take_{k}.wav" != held))):
        result = script("sample/wavenet.py", "evaluate", "--model", trained["out"] / "model.h5",
                        "--dataset", trained["data"], "--split", split, "--out", tmp_path / split)
        assert result.returncode == 0, result.stderr
        files = json.loads((tmp_path / split / "evaluation.json").read_text())["files"]
        assert sorted(Path(f["file"]).name for f in files) == expected


@pytest.mark.slow
def test_bits_figures_name_their_quantization(trained, tmp_path):
    assert "main/bits, validation/main/bits: bits per sample (8-bit mu-law)" in trained["stdout"]
    result = script("sample/wavenet.py", "evaluate", "--model", trained["out"] / "model.h5",
                    "--dataset", trained["data"], "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "negative log-likelihood of the recordings as 8-bit mu-law samples" in result.stdout
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert evaluation["bits_per_sample_of"] == "8-bit mu-law"


def test_the_reference_model_names_its_dataset_without_a_build_path():
    metadata = snapshot.read_config(ROOT / "models" / "reference" / "model.h5")[1]
    assert metadata["dataset"] == "nsynth-reference"
    assert not any(str(value).startswith("/") for value in metadata.values())


@pytest.mark.slow
def test_the_student_benchmark_times_a_given_student_beside_its_teacher(tmp_path):
    teacher = WaveNet(with_output(WaveNetConfig(dilations=(1, 2, 4), residual_channels=8,
                                                dilation_channels=8, skip_channels=8,
                                                local_channels=6, local_hop=16),
                                  "logistic_mixture", 2))
    snapshot.save(tmp_path / "teacher.h5", teacher)
    student = Student(dataclasses.replace(student_for(teacher.config), flow_layers=(2, 2),
                                          residual_channels=8, dilation_channels=8,
                                          skip_channels=8))
    snapshot.save(tmp_path / "mine.h5", student, {"teacher": str(tmp_path / "teacher.h5")})
    written = ROOT / "result" / "benchmarks" / "student-small-cpu.json"
    if written.exists():
        written.unlink()
    result = script("benchmarks/student.py", "--model", tmp_path / "mine.h5", "--quick",
                    "--threads", 1, "--batch", 1)
    assert result.returncode == 0, result.stderr
    assert "written to result/benchmarks/student-small-cpu.json" in result.stdout
    run = json.loads(written.read_text())["runs"][0]
    written.unlink()
    assert run["parameters"]["mine.h5"] == sum(p.size for p in student.params())
    assert run["parameters"]["teacher"] == sum(p.size for p in teacher.params())
    assert run["figures"]["mine.h5 1"] > 0
    assert "student mine.h5: 2 flows of 2, 2 layers" in result.stdout


def test_a_student_given_to_the_autoencoder_commands_is_called_a_student(tmp_path, sine):
    student = Student(dataclasses.replace(student_for(WaveNetConfig()), flow_layers=(1,),
                                          residual_channels=4, dilation_channels=4,
                                          skip_channels=4))
    snapshot.save(tmp_path / "student.h5", student)
    write_wav(tmp_path / "note.wav", sine(), RATE)
    result = script("sample/autoencoder.py", "reconstruct", "--model", tmp_path / "student.h5",
                    tmp_path / "note.wav", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "is a Parallel WaveNet student snapshot, not an autoencoder" in result.stderr
