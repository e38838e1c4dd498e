"""Mel-conditioned WaveNet (a vocoder): it follows its conditioning, and the commands that
train it (train/wavenet.py --mel) and sample it (sample/wavenet.py --condition) end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import chainer
import numpy as np
import pytest
import soundfile
from model_fixtures import make_wavenet, random_classes, random_conditions
from test_resume import ENV, ROOT

from chainer_wavenet import evaluations, snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.mel import MelSettings, log_mel
from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.config import WaveNetConfig
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.sampling.generate import generate
from chainer_wavenet.visualizations.plots import save_spectrogram

RATE = 16000
MEL = MelSettings(n_mels=8, hop=64, n_fft=256)


def tone(frequency, samples):
    return 0.5 * np.sin(2 * np.pi * frequency * np.arange(samples) / RATE)


def features(classes):
    return log_mel(mu_law.decode(classes), RATE, MEL)


def peak(audio):
    spectrum = np.abs(np.fft.rfft(audio - audio.mean()))
    return spectrum.argmax() * RATE / len(audio)


def test_the_model_follows_the_mel_spectrogram_it_is_given():
    """Trained on a 400 Hz and a 1000 Hz tone: each tone is likely under its own mel
    spectrogram and unlikely under the other's, and generation from silence plays the
    tone whose spectrogram it is given."""
    np.random.seed(0)
    model = WaveNet(WaveNetConfig(residual_channels=16, dilation_channels=16, skip_channels=32,
                                  dilations=(1, 2, 4, 8, 16, 32, 64), local_channels=MEL.n_mels,
                                  local_hop=MEL.hop))
    frequencies = (400.0, 1000.0)
    tones = [mu_law.encode(tone(f, RATE)) for f in frequencies]
    crops = Crops(tones, model.receptive_field, 192, features=[features(t) for t in tones],
                  hop=MEL.hop)
    optimizer = chainer.optimizers.Adam(alpha=3e-3)
    optimizer.setup(model)
    rng = np.random.default_rng(0)
    for _ in range(150):
        batch = chainer.dataset.concat_examples([crops[i] for i in rng.integers(0, len(crops), 4)])
        loss = model.loss(**batch)
        model.cleargrads()
        loss.backward()
        optimizer.update()

    length = 4000
    conditions = [features(t)[:, :-(-length // MEL.hop)][None] for t in tones]
    with chainer.no_backprop_mode():
        for own, audio in enumerate(tones):
            nats = [float(model.loss(audio[None, :length], local_features=c).array)
                    for c in conditions]
            assert nats[own] < 0.2 and nats[1 - own] > 1.0, nats

    played = mu_law.decode(generate(model, 2000, 2, 1.0, local_features=np.concatenate(
        conditions)[:, :, :-(-2001 // MEL.hop)], seed=0))[:, 500:]
    for audio, frequency, other in zip(played, frequencies, frequencies[::-1], strict=True):
        assert audio.std() > 0.2, "the generated signal is nearly silent"
        assert abs(peak(audio) - frequency) < abs(peak(audio) - other)


def png_width(path):
    return int.from_bytes(path.read_bytes()[16:20], "big")


def run(script, *args):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=240)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def refused(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert str(fragment) in result.stderr


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory):
    """A mel-conditioned small WaveNet trained for two steps on three tones."""
    root = tmp_path_factory.mktemp("vocoder")
    (root / "data").mkdir()
    for number, frequency in enumerate((220, 330, 440)):
        soundfile.write(root / "data" / f"{number}.wav", tone(frequency, 1600), RATE,
                        subtype="PCM_16")
    ok(run("train/wavenet.py", "--dataset", root / "data", "--out", root / "run", "--mel", 8,
           "--mel-hop", 64, "--mel-window", 256, "--length", 128, "--batchsize", 2,
           "--iteration", 2, "--interval", 2))
    return root


def test_training_keeps_the_mel_settings_in_the_snapshot(vocoder):
    model = snapshot.load(vocoder / "run" / "model.h5")
    assert model.config.local_channels == 8 and model.config.local_hop == 64
    assert MelSettings.from_dict(model.metadata["mel"]) == MEL


def test_sampling_follows_a_whole_file_or_part_of_it(vocoder, tmp_path):
    condition = vocoder / "data" / "1.wav"
    model = vocoder / "run" / "model.h5"
    ok(run("sample/wavenet.py", "--model", model, "--condition", condition, "--out",
           tmp_path / "whole", "--seed", 0))
    assert soundfile.info(tmp_path / "whole" / "sample_000.wav").frames == 1600
    # Its spectrogram is drawn beside the recording's: a PNG as wide as two.
    save_spectrogram(tmp_path / "one.png", tone(220, 1600), RATE)
    assert png_width(tmp_path / "whole" / "sample_000.png") > 1.5 * png_width(tmp_path / "one.png")
    ok(run("sample/wavenet.py", "--model", model, "--condition", condition, "--prime", condition,
           "--prime-length", 100, "--length", 300, "--batch", 2, "--out", tmp_path / "part"))
    for name in ("sample_000.wav", "sample_001.wav"):
        audio, _ = soundfile.read(tmp_path / "part" / name)
        assert len(audio) == 400
        primed = mu_law.decode(mu_law.encode(soundfile.read(condition)[0][:100]))
        np.testing.assert_allclose(audio[:100], primed, atol=1 / 2 ** 15)


def test_sampling_refuses_what_it_cannot_follow(vocoder, tmp_path):
    model = vocoder / "run" / "model.h5"
    condition = vocoder / "data" / "1.wav"
    out = tmp_path / "out"
    refused(run("sample/wavenet.py", "--model", model, "--out", out),
            "follows a 8-band mel spectrogram: pass --condition WAV")
    refused(run("sample/wavenet.py", "--model", model, "--condition", condition, "--length", 1601,
                "--out", out), "covers only 1600 samples")
    refused(run("sample/wavenet.py", "--model", model, "--condition", condition, "--prime",
                condition, "--prime-length", 1600, "--out", out), "leave none to generate")
    too_low = tmp_path / "1k.wav"
    soundfile.write(too_low, tone(220, 800), 1000, subtype="PCM_16")
    refused(run("sample/wavenet.py", "--model", model, "--condition", too_low, "--out", out),
            too_low, "1000 Hz is too low")
    assert not out.exists()


def test_a_model_without_mel_refuses_a_condition(tmp_path):
    plain = tmp_path / "plain.h5"
    snapshot.save(plain, WaveNet(WaveNetConfig(dilations=(1, 2))), {"sample_rate": RATE})
    refused(run("sample/wavenet.py", "--model", plain, "--condition", plain, "--out",
                tmp_path / "out"), "is not conditioned on mel spectrograms")


@pytest.mark.parametrize("flags,message", [
    (("--mel", -1), "--mel must be >= 0"),
    (("--mel", 8, "--mel-hop", 512, "--mel-window", 256), "shorter than its hop"),
])
def test_training_refuses_unusable_mel_settings(vocoder, tmp_path, flags, message):
    refused(run("train/wavenet.py", "--dataset", vocoder / "data", "--out", tmp_path / "run",
                *flags), message)


def test_resuming_takes_the_run_own_mel_settings_only(vocoder, tmp_path):
    shutil.copytree(vocoder / "run", tmp_path / "run")
    before = (tmp_path / "run" / "model.h5").read_bytes()
    flags = ("train/wavenet.py", "--dataset", vocoder / "data", "--out", tmp_path / "run",
             "--mel", 8, "--mel-hop", 64, "--length", 128, "--batchsize", 2, "--iteration", 4,
             "--interval", 2, "--resume")
    refused(run(*flags, "--mel-window", 512), "was trained with mel settings", "'n_fft': 256")
    assert (tmp_path / "run" / "model.h5").read_bytes() == before
    assert "resumed from" in ok(run(*flags, "--mel-window", 256)).stdout
    assert snapshot.read_config(tmp_path / "run" / "model.h5")[1]["iteration"] == 4


def test_likelihood_of_a_recording_in_chunks_is_that_of_the_whole():
    """Each chunk starts on a frame and every sample after the receptive field counts once."""
    model = make_wavenet(n_global=2, local_channels=3, local_hop=5, dilations=(1, 2, 4))
    rng = np.random.default_rng(4)
    classes = random_classes(rng, 1, 300, model.config.n_classes)[0]
    _, local = random_conditions(model.config, rng, 1, 300)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        whole = float(model.loss(classes[None], np.array([1], np.int32), local).array)
    for chunk in (7, 50, 1000):
        bits = evaluations.recording_nll_bits(model, classes, 1, local[0], chunk=chunk)
        assert bits == pytest.approx(whole / np.log(2), rel=1e-5), chunk
    with pytest.raises(WaveNetError, match="not longer than the receptive field"):
        evaluations.recording_nll_bits(model, classes[:model.receptive_field], 1, local[0])


def test_evaluate_measures_every_recording(vocoder, tmp_path):
    model = vocoder / "run" / "model.h5"
    result = ok(run("sample/wavenet.py", "evaluate", "--model", model, "--dataset",
                    vocoder / "data", "--seconds", 0.05, "--out", tmp_path / "eval"))
    results = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert [Path(row["file"]).name for row in results["files"]] == ["0.wav", "1.wav", "2.wav"]
    loaded = snapshot.load(model)
    classes = mu_law.encode(soundfile.read(vocoder / "data" / "1.wav", dtype="float32")[0])
    expected = evaluations.recording_nll_bits(loaded, classes, None, features(classes))
    assert results["files"][1]["nll_bits"] == pytest.approx(expected, rel=1e-5)
    assert all(row["log_mel_db"] > 0 for row in results["files"])
    summary = results["summary"]
    assert (summary["files"], summary["samples"]) == (3, 4800)
    assert f"| 3 | 4800 | {summary['nll_bits']:.3f} | {summary['log_mel_db']:.1f} |" \
        in result.stdout
    assert soundfile.info(tmp_path / "eval" / "001_1.wav").frames == 800
    assert (tmp_path / "eval" / "001_1.png").exists()
    refused(run("sample/wavenet.py", "evaluate", "--model", model, "--dataset",
                vocoder / "data", "--out", tmp_path / "eval"), "evaluation.json", "--force")
