"""train/wavenet.py writes previews as train/autoencoder.py does: WAV + PNG in OUT/previews.

Real training runs (a subprocess each) on a few synthesized tones, with the small preset.
"""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from chainer_wavenet import snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.sampling import outputs as sampling_outputs

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OPENBLAS_NUM_THREADS": "1"}
RATE = 16000
NEW = 800  # --preview-seconds 0.05
TINY = ("--length", 64, "--batchsize", 2, "--validation-fraction", 0.5, "--seed", 3,
        "--validation-crops", 2, "--preview-seconds", 0.05)


@pytest.fixture(scope="module")
def speakers(tmp_path_factory):
    """Two speakers, two tones each, of 0.2 s."""
    root = tmp_path_factory.mktemp("speakers")
    t = np.arange(3200) / RATE
    for name, hz in (("alice/a", 220), ("alice/b", 277), ("bob/c", 330), ("bob/d", 440)):
        (root / name).parent.mkdir(exist_ok=True)
        write_wav(root / f"{name}.wav", 0.5 * np.sin(2 * np.pi * hz * t), RATE)
    return root


def train(*args):
    result = subprocess.run([sys.executable, "train/wavenet.py", *map(str, args)], cwd=ROOT,
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def marked_columns(png):
    """The image columns (as a share of its width) that hold the mark's pure green."""
    image = matplotlib.image.imread(png)[..., :3]
    green = (image[..., 1] > 0.9) & (image[..., 0] < 0.3) & (image[..., 2] < 0.3)
    return np.flatnonzero(green.any(axis=0)) / image.shape[1]


def validation_stems(out):
    split = snapshot.load(out / "model.h5").metadata["split"]
    return [name[:-len(".wav")].replace("/", "_") for name in split["validation_files"]]


def test_a_wavenet_continues_validation_openings_at_each_preview_interval(speakers, tmp_path):
    """Each validation file's first receptive field, then the WaveNet's continuation, with
    the original beside it and the prime's end marked."""
    out = tmp_path / "run"
    train("--dataset", speakers, "--out", out, *TINY, "--iteration", 4, "--interval", 1,
          "--preview-interval", 2)
    stems = validation_stems(out)
    assert len(stems) == 2
    expected = {f"iter_{n:07d}_{stem}{suffix}" for n in (2, 4) for stem in stems
                for suffix in (".wav", ".png")}
    assert {path.name for path in (out / "previews").iterdir()} == expected
    receptive_field = snapshot.load(out / "model.h5").receptive_field
    for stem in stems:
        played = read_wav(out / "previews" / f"iter_0000004_{stem}.wav")
        assert len(played) == receptive_field + NEW
        # The prime is the file's opening as the model hears it (mu-law), then new samples.
        heard = mu_law.decode(mu_law.encode(read_wav(speakers / f"{stem.replace('_', '/')}.wav")))
        np.testing.assert_allclose(played[:receptive_field], heard[:receptive_field], rtol=0,
                                   atol=1.01 / 32768)
        # Side by side with the original; the mark where the prime ends is on the right one.
        columns = marked_columns(out / "previews" / f"iter_0000004_{stem}.png")
        assert len(columns) and columns.min() > 0.5


def test_a_vocoder_resynthesizes_validation_openings_at_the_end(speakers, tmp_path):
    """A mixture-of-logistics vocoder (16-bit linear samples, as its bits say), previewed at
    the end only: no prime, so no mark."""
    out = tmp_path / "vocoder"
    result = train("--dataset", speakers, "--out", out, *TINY, "--iteration", 3, "--interval",
                   1, "--mel", 16, "--mel-hop", 64, "--mel-window", 256, "--preview-files", 1,
                   "--output", "logistic_mixture", "--mixture-components", 2)
    assert "main/bits, validation/main/bits: bits per sample (16-bit linear)" in result.stdout
    stems = validation_stems(out)
    assert {path.name for path in (out / "previews").iterdir()} == {
        f"iter_0000003_{stems[0]}.wav", f"iter_0000003_{stems[0]}.png"}
    assert len(read_wav(out / "previews" / f"iter_0000003_{stems[0]}.wav")) == NEW
    assert not len(marked_columns(out / "previews" / f"iter_0000003_{stems[0]}.png"))


def test_the_prime_mark_moves_with_the_prime(tmp_path):
    rng = np.random.default_rng(0)
    audio = 0.3 * rng.standard_normal(RATE).astype(np.float32)
    where = []
    for primed in (RATE // 4, 3 * RATE // 4):
        wav, png = sampling_outputs.write_outputs(tmp_path, f"primed_{primed}", audio, RATE,
                                                  primed=primed)
        where.append(marked_columns(png).min())
    assert where[0] < where[1]
    assert not len(marked_columns(sampling_outputs.write_outputs(tmp_path, "plain", audio,
                                                                 RATE)[1]))
