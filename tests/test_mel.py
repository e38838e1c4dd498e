"""Log-mel features: frame alignment, band placement, levels, and refused settings."""

import numpy as np
import pytest

from chainer_wavenet.audio.mel import MelSettings, filterbank, log_mel
from chainer_wavenet.errors import WaveNetError

RATE = 16000
SETTINGS = MelSettings(n_mels=40, hop=256, n_fft=1024)


def band_centres(settings):
    """Each band's centre of mass in Hz, as the filterbank under test places it."""
    bands = filterbank(settings, RATE)
    frequencies = np.fft.rfftfreq(settings.n_fft, 1 / RATE)
    return (bands * frequencies).sum(axis=1) / bands.sum(axis=1)


def mel_edges(settings):
    """The n_mels + 2 band edges in Hz, from the mel formula m = 2595 log10(1 + f / 700)."""
    top = RATE / 2 if settings.fmax is None else settings.fmax
    low, high = 2595.0 * np.log10(1.0 + np.array([settings.fmin, top]) / 700.0)
    return 700.0 * (10.0 ** (np.linspace(low, high, settings.n_mels + 2) / 2595.0) - 1.0)


@pytest.mark.parametrize("samples", [1, 255, 256, 257, 4000])
def test_one_frame_per_started_hop(samples):
    features = log_mel(np.zeros(samples), RATE, SETTINGS)
    assert features.shape == (40, -(-samples // 256)) and features.dtype == np.float32


@pytest.mark.parametrize("frequency", [300.0, 500.0, 2000.0, 6000.0])
def test_a_tone_is_loudest_in_the_band_around_it(frequency):
    tone = 0.5 * np.sin(2 * np.pi * frequency * np.arange(RATE) / RATE)
    loudest = log_mel(tone, RATE, SETTINGS)[:, 20:-20].mean(axis=1).argmax()
    assert np.abs(band_centres(SETTINGS) - frequency).argmin() == loudest
    assert np.abs(mel_edges(SETTINGS)[1:-1] - frequency).argmin() == loudest


@pytest.mark.parametrize("settings", [SETTINGS, MelSettings(n_mels=80, fmin=100.0, fmax=7000.0)])
def test_bands_are_triangles_spaced_on_the_mel_scale(settings):
    """Band k rises from edge k to its peak at edge k + 1 and falls to edge k + 2."""
    bands = filterbank(settings, RATE)
    frequencies = np.fft.rfftfreq(settings.n_fft, 1 / RATE)
    spacing = frequencies[1]
    edges = mel_edges(settings)
    lower, peak, upper = edges[:-2], edges[1:-1], edges[2:]
    np.testing.assert_allclose(band_centres(settings), (lower + peak + upper) / 3,
                               atol=spacing / 10)
    assert np.all(np.abs(frequencies[bands.argmax(axis=1)] - peak) <= spacing)
    outside = (frequencies <= lower[:, None]) | (frequencies >= upper[:, None])
    assert np.all(bands[outside] == 0) and np.all(bands[~outside] > 0)


def test_frame_f_describes_samples_f_hop_to_the_next_hop():
    """Window f spans [f * hop - 384, f * hop + 640): a burst in frame 10's samples reaches
    frames 8..12 only, and frame 10 sees it whole."""
    audio = np.zeros(256 * 24)
    audio[2560:2816] = np.random.default_rng(0).normal(0, 0.3, 256)
    level = log_mel(audio, RATE, SETTINGS).mean(axis=0)
    assert level.argmax() == 10
    silent = np.ones(24, bool)
    silent[8:13] = False
    np.testing.assert_array_equal(level[silent], -1.0)
    assert (level[8:13] > -1.0).all()


def test_levels_silence_is_minus_one_and_louder_is_higher():
    tone = np.sin(2 * np.pi * 500 * np.arange(8000) / RATE)
    assert log_mel(np.zeros(8000), RATE, SETTINGS).max() == -1.0
    quiet, loud = (log_mel(a * tone, RATE, SETTINGS)[:, 10:-10].max() for a in (0.05, 0.5))
    assert -1.0 < quiet < loud < 2.0


@pytest.mark.parametrize("settings,message", [
    (MelSettings(n_mels=0), "n_mels >= 1"),
    (MelSettings(hop=512, n_fft=256), "shorter than its hop"),
    (MelSettings(fmax=9000.0), "fmax <= 8000"),
    (MelSettings(fmin=4000.0, fmax=3000.0), "fmin < fmax"),
    (MelSettings(n_mels=200, n_fft=256), "too narrow"),
])
def test_unusable_settings_are_refused(settings, message):
    with pytest.raises(WaveNetError, match=message):
        log_mel(np.zeros(1000), RATE, settings)


@pytest.mark.parametrize("audio,message", [
    (np.zeros(0), "non-empty 1-D"), (np.zeros((2, 100)), "non-empty 1-D"),
    (np.array([0.0, np.nan]), "NaN or inf"),
])
def test_unusable_signals_are_refused(audio, message):
    with pytest.raises(WaveNetError, match=message):
        log_mel(audio, RATE, SETTINGS)


def test_settings_round_trip_through_a_dict():
    assert MelSettings.from_dict(SETTINGS.to_dict()) == SETTINGS


def test_long_signals_are_analysed_in_blocks_with_the_same_result(monkeypatch):
    audio = np.random.default_rng(0).normal(0, 0.2, 256 * 40 + 17)
    whole = log_mel(audio, RATE, SETTINGS)
    monkeypatch.setattr("chainer_wavenet.audio.mel.FRAMES_PER_BLOCK", 3)
    np.testing.assert_array_equal(log_mel(audio, RATE, SETTINGS), whole)
