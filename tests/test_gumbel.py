"""Gumbel-max sampling (the GPU path's sampler) on NumPy arrays: its noise, its
frequencies against the tempered softmax, its determinism."""

import numpy as np
import pytest
from scipy import stats

from chainer_wavenet.functions.gumbel import gumbel_noise, gumbel_scores, sample_gumbel

LOGITS = np.array([0.0, 1.0, 2.0, -1.0, 0.5, -3.0, 1.5, 0.2], np.float32)


def test_noise_is_standard_gumbel():
    uniform = np.random.default_rng(0).random(20_000, dtype=np.float32)
    noise = gumbel_noise(uniform, 16)
    assert noise.dtype == np.float32 and noise.shape == (20_000, 16)
    assert np.all(np.isfinite(noise))
    assert stats.kstest(noise.ravel()[::7], stats.gumbel_r.cdf).pvalue > 1e-3
    # Classes of one row and rows of one class are not correlated.
    correlations = np.corrcoef(noise.T)[np.triu_indices(16, 1)]
    assert np.abs(correlations).max() < 0.05


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_frequencies_follow_the_tempered_softmax(temperature):
    draws = 100_000
    uniform = np.random.default_rng(1).random(draws, dtype=np.float32)
    choices = sample_gumbel(np.tile(LOGITS, (draws, 1)), temperature, uniform)
    assert choices.dtype == np.int32 and choices.shape == (draws,)
    probabilities = np.exp(LOGITS.astype(np.float64) / temperature)
    probabilities /= probabilities.sum()
    observed = np.bincount(choices, minlength=len(LOGITS))
    assert stats.chisquare(observed, draws * probabilities).pvalue > 1e-3


def test_the_same_draw_gives_the_same_noise_and_class():
    uniform = np.array([0.25, 0.25, 0.75], np.float32)
    noise = gumbel_noise(uniform, 8)
    np.testing.assert_array_equal(noise[0], noise[1])
    assert not np.array_equal(noise[0], noise[2])
    logits = np.tile(LOGITS, (3, 1))
    np.testing.assert_array_equal(sample_gumbel(logits, 1.0, uniform),
                                  gumbel_scores(logits, 1.0, uniform).argmax(axis=1))


def test_low_temperature_picks_the_argmax():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(500, 16)).astype(np.float32)
    winners = rng.integers(0, 16, 500)
    logits[np.arange(500), winners] = logits.max(axis=1) + 0.05
    choices = sample_gumbel(logits, 1e-3, rng.random(500, dtype=np.float32))
    np.testing.assert_array_equal(choices, winners)


def test_float16_logits_sample_like_float32():
    uniform = np.random.default_rng(3).random(1000, dtype=np.float32)
    logits = np.tile(LOGITS, (1000, 1))
    np.testing.assert_array_equal(sample_gumbel(logits.astype(np.float16), 1.0, uniform),
                                  sample_gumbel(logits, 1.0, uniform))
