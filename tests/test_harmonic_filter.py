"""The harmonic postfilter (--harmonic-filter): a note's harmonics pass, noise between them
is averaged down by about 10 log10(2N + 1) dB."""

import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.audio.harmonic_filter import harmonic_filter
from chainer_wavenet.audio.pitch_signal import midi_to_hz
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.evaluations.harmonic_noise import harmonic_to_noise
from chainer_wavenet.sampling import synthesis

RATE = 16000


def harmonic_tone(pitch, seconds=1.0, harmonics=6):
    """Harmonics of a pitch in MIDI: a number, or one per sample."""
    samples = int(seconds * RATE)
    frequency = midi_to_hz(np.broadcast_to(np.asarray(pitch, np.float64), (samples,)))
    phase = 2 * np.pi * np.cumsum(frequency) / RATE
    return sum(np.sin(k * phase) / k for k in range(1, harmonics + 1)).astype(np.float32) * 0.2


@pytest.mark.parametrize("pitch", [48, 60.5, 72])
def test_a_harmonic_tone_at_its_pitch_passes(pitch):
    tone = harmonic_tone(pitch)
    filtered = harmonic_filter(tone, RATE, pitch, 3)
    inner = slice(RATE // 10, -RATE // 10)
    assert filtered.dtype == np.float32 and filtered.shape == tone.shape
    assert np.abs(filtered - tone)[inner].max() < 0.02 * np.abs(tone).max()


def test_a_gliding_tone_passes_with_its_track():
    track = np.linspace(55, 67, RATE)
    tone = harmonic_tone(track)
    inner = slice(RATE // 10, -RATE // 10)
    assert np.abs(harmonic_filter(tone, RATE, track, 2) - tone)[inner].max() < 0.03
    # Filtered at a fixed pitch the glide does not pass.
    assert np.abs(harmonic_filter(tone, RATE, 61, 2) - tone)[inner].max() > 0.1


@pytest.mark.parametrize("periods", [1, 3, 5])
def test_white_noise_loses_what_an_average_of_its_periods_does(periods):
    noise = np.random.default_rng(periods).normal(size=4 * RATE).astype(np.float32)
    filtered = harmonic_filter(noise, RATE, 60, periods)
    inner = slice(RATE, -RATE)
    lost = 10 * np.log10(np.mean(noise[inner] ** 2) / np.mean(filtered[inner] ** 2))
    assert lost == pytest.approx(10 * np.log10(2 * periods + 1), abs=1.5)


def test_more_periods_leave_less_noise_between_the_harmonics():
    noisy = harmonic_tone(60, 2.0) + 0.02 * np.random.default_rng(0).normal(
        size=2 * RATE).astype(np.float32)
    ratios = [harmonic_to_noise(harmonic_filter(noisy, RATE, 60, n), RATE, 60)
              for n in (0, 1, 3)]
    assert ratios[0] + 3 < ratios[1] < ratios[2] - 2


def test_the_edges_average_the_periods_inside_the_clip_only():
    constant = np.full(1000, 0.5, np.float32)
    np.testing.assert_allclose(harmonic_filter(constant, RATE, 60, 4), constant, rtol=1e-6)


def test_no_periods_is_no_filter_and_a_negative_count_is_refused():
    tone = harmonic_tone(60)
    np.testing.assert_array_equal(harmonic_filter(tone, RATE, 60, 0), tone)
    with pytest.raises(WaveNetError, match="--harmonic-filter must be >= 0"):
        harmonic_filter(tone, RATE, 60, -1)


def test_decoding_with_the_filter_plays_the_same_draws_filtered():
    model = make_autoencoder(seed=2, pitch_lags=2)
    z = np.random.default_rng(0).normal(size=(2, 4, 8)).astype(np.float32)
    pitches = [57, 64]
    plain = synthesis.decode(model, z, pitches, seed=5, progress=False)
    filtered = synthesis.decode(model, z, pitches, seed=5, progress=False, harmonic_filter=2)
    for audio, played, pitch in zip(plain, filtered, pitches, strict=True):
        np.testing.assert_allclose(played, harmonic_filter(audio, RATE, pitch, 2), atol=1e-6)
