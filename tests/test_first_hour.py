"""What a new user meets first: the README's commands and what `make demo` tells them."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from model_fixtures import make_autoencoder

import chainer_wavenet
from chainer_wavenet import snapshot
from chainer_wavenet.audio.wav import read_wav, write_wav

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
    result = subprocess.run(["make", "-n", "demo", "DATASET=tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
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
