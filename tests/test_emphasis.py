"""Pre-emphasis: de-emphasis undoes it, and an autoencoder trained on emphasized audio reads
and writes the same classes on every path (training data, encode, likelihood, playing)."""

import dataclasses
import json

import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet import snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.emphasis import deemphasize, emphasize
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.nsynth import load_nsynth
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import AutoencoderConfig, config_from_json, config_to_json
from chainer_wavenet.sampling import synthesis

RATE = 16000


def noise(seed, shape):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("coefficient", [0.5, 0.85, 0.97])
def test_deemphasis_undoes_emphasis_and_full_scale_stays_in_range(coefficient):
    audio = noise(0, (3, 2000))
    audio[:, ::2] = 1.0  # the worst case: alternating full-scale samples
    audio[:, 1::2] = -1.0
    emphasized = emphasize(audio, coefficient)
    assert np.abs(emphasized).max() <= 1.0 + 1e-6
    np.testing.assert_allclose(deemphasize(emphasized, coefficient), audio, atol=1e-5)


def test_emphasis_lifts_high_frequencies_against_low_ones():
    t = np.arange(RATE) / RATE
    low, high = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (100, 6000))
    gain = [np.std(emphasize(x, 0.85)[100:]) / np.std(x) for x in (low, high)]
    assert gain[1] > 10 * gain[0]


def test_no_emphasis_changes_nothing():
    audio = noise(1, 500)
    np.testing.assert_array_equal(emphasize(audio, 0.0), audio)
    np.testing.assert_array_equal(deemphasize(audio, 0.0), audio)


def emphasized_model(seed=0, coefficient=0.85):
    model = make_autoencoder(seed)
    model.config = dataclasses.replace(model.config, pre_emphasis=coefficient)
    return model


def test_the_model_reads_emphasized_classes_and_plays_them_back_deemphasized():
    model = emphasized_model()
    audio = 0.5 * noise(2, 1024)
    classes = model.classes(audio)
    np.testing.assert_array_equal(
        classes, mu_law.encode(emphasize(audio, 0.85), model.config.decoder.n_classes))
    assert not np.array_equal(classes, mu_law.encode(audio, model.config.decoder.n_classes))
    np.testing.assert_allclose(model.waveform(classes), deemphasize(
        mu_law.decode(classes, model.config.decoder.n_classes), 0.85))


def test_a_prime_plays_back_as_the_original_within_quantization():
    model = emphasized_model(seed=3)
    t = np.arange(1024) / RATE
    audio = (0.4 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    z = model.encode(audio)
    prime = model.classes(audio[:512])
    played = synthesis.decode(model, z, 60, seed=0, progress=False, prime=prime)
    # The decoder's first sample comes from the prime; de-emphasis restores the waveform.
    step = np.abs(np.diff(mu_law.decode(np.arange(32), 32))).max()
    assert np.abs(played[:512] - audio[:512]).max() < 4 * step


def test_training_classes_equal_the_models_own_with_and_without_a_cache(tmp_path):
    folder = tmp_path / "nsynth-train"
    (folder / "audio").mkdir(parents=True)
    examples = {}
    for i, pitch in enumerate((60, 64)):
        name = f"flute_tim_073-0{pitch}-100"
        t = np.arange(RATE // 4) / RATE
        write_wav(folder / "audio" / f"{name}.wav",
                  0.6 * np.sin(2 * np.pi * 261.6 * 2 ** ((pitch - 60) / 12) * t), RATE)
        examples[name] = {"note": i, "note_str": name, "pitch": pitch, "velocity": 100,
                          "sample_rate": RATE, "instrument_family": 2,
                          "instrument_family_str": "flute", "instrument_source": 2,
                          "instrument_source_str": "synthetic", "instrument": 73,
                          "instrument_str": "flute_tim_073", "qualities": [0] * 10,
                          "qualities_str": []}
    (folder / "examples.json").write_text(json.dumps(examples))
    notes = load_nsynth(folder)
    model = emphasized_model()
    n_classes = model.config.decoder.n_classes
    expected = [model.classes(notes.audio(i)) for i in range(len(notes))]
    for cache in (None, tmp_path / "cache"):
        got = notes.classes(n_classes, cache, pre_emphasis=0.85)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(a, np.int32), b)
    plain = notes.classes(n_classes, tmp_path / "cache")
    assert not np.array_equal(np.asarray(plain[0], np.int32), expected[0])


def test_the_coefficient_is_kept_in_the_snapshot_and_old_configs_have_none(tmp_path):
    model = emphasized_model(seed=4, coefficient=0.9)
    snapshot.save(tmp_path / "m.h5", model)
    loaded = snapshot.load(tmp_path / "m.h5")
    assert isinstance(loaded, WaveNetAutoencoder) and loaded.config.pre_emphasis == 0.9
    values = json.loads(config_to_json(AutoencoderConfig()))
    del values["pre_emphasis"]
    assert config_from_json(json.dumps(values)).pre_emphasis == 0.0


@pytest.mark.parametrize("coefficient", [-0.1, 1.0])
def test_a_coefficient_out_of_range_is_refused(coefficient):
    with pytest.raises(WaveNetError, match="pre_emphasis must lie in"):
        AutoencoderConfig(pre_emphasis=coefficient)
