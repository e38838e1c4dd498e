"""Noise injection (train/autoencoder.py --input-noise): the decoder reads a noisy past and
predicts the clean signal; the encoder, validation and a width of 0 see the clean crop."""

import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.training.input_noise import InputNoise, noisy_past


def crop(model, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = model.config.decoder.n_classes
    x = rng.integers(0, n_classes, (2, model.receptive_field + 4 * model.hop)).astype(np.int32)
    return x, np.array([60, 64], np.int32)


def value(loss):
    return float(loss.array)


@pytest.fixture
def model():
    return make_autoencoder(pitch_lags=2)


def test_the_decoder_reads_the_noisy_past_the_encoder_and_the_targets_the_clean_crop(model):
    x, pitch = crop(model)
    noisy = np.clip(x + np.random.default_rng(1).integers(-2, 3, x.shape), 0,
                    model.config.decoder.n_classes - 1).astype(np.int32)
    decoder = model.decoder
    expected = decoder.loss(x, model.pitch_ids(pitch), model.encoder(x), None,
                            model.pitch_periods(pitch), inputs=noisy)
    assert value(model.loss(x, pitch, inputs=noisy)) == value(expected)
    assert value(model.loss(x, pitch, inputs=noisy)) != value(model.loss(x, pitch))
    assert value(model.loss(x, pitch, inputs=x)) == value(model.loss(x, pitch))


def test_the_noise_moves_each_class_by_at_most_the_width_within_the_classes():
    x = np.repeat(np.array([[0, 1, 15, 30, 31]], np.int32), 4000, axis=0)
    noisy = noisy_past(x, 2, np.random.default_rng(0), 32)
    assert noisy.dtype == x.dtype and noisy.min() == 0 and noisy.max() == 31
    moved = noisy - x
    assert set(np.unique(moved[:, 2])) == {-2, -1, 0, 1, 2}
    assert abs(moved[:, 2].mean()) < 0.1
    assert np.abs(moved).max() == 2
    assert (noisy[:, 0] <= 2).all() and (noisy[:, 4] >= 29).all()


def test_a_negative_width_is_refused(model):
    with pytest.raises(WaveNetError, match="--input-noise must be >= 0"):
        InputNoise(model, -1)
