"""float16 models (``chainer.config.dtype``) on NumPy: loss, gradients, encoding, generation."""

import chainer
import numpy as np
import pytest
from model_fixtures import make_autoencoder, make_wavenet

from chainer_wavenet.links.output_distribution import sample_softmax
from chainer_wavenet.sampling.generate import generate


def assert_finite_float16_gradients(model):
    for name, param in model.namedparams():
        assert param.dtype == np.float16 and param.grad.dtype == np.float16, name
        assert np.isfinite(param.grad).all(), name


@pytest.mark.parametrize("input_mode", ["embedding", "scalar"])
def test_float16_wavenet_trains_and_generates(input_mode):
    with chainer.using_config("dtype", np.float16):
        model = make_wavenet(input_mode=input_mode)
        x = np.random.default_rng(0).integers(0, 32, (2, model.receptive_field + 8),
                                              dtype=np.int32)
        loss = model.loss(x)
        model.cleargrads()  # Chainer fills new gradients with NaN
        loss.backward()
        assert loss.dtype == np.float16 and np.isfinite(loss.array)
        assert_finite_float16_gradients(model)
        generated = generate(model, 6, 2, seed=0)
    assert generated.dtype == np.int32 and generated.shape == (2, 6)
    assert ((0 <= generated) & (generated < 32)).all()


def test_float16_autoencoder_trains_encodes_and_its_decoder_generates():
    with chainer.using_config("dtype", np.float16):
        model = make_autoencoder()
        rng = np.random.default_rng(1)
        x = rng.integers(0, 32, (2, 64), dtype=np.int32)
        pitches = np.array([60, 67], np.int32)
        loss = model.loss(x, pitches)
        model.cleargrads()
        loss.backward()
        assert loss.dtype == np.float16 and np.isfinite(loss.array)
        assert_finite_float16_gradients(model)
        z = model.encode(rng.uniform(-0.5, 0.5, (2, 64)).astype(np.float32))
        assert z.dtype == np.float16
        generated = generate(model.decoder, 6, 2, 1.0, model.pitch_ids(pitches), z, seed=0)
    assert ((0 <= generated) & (generated < 32)).all()


def test_float16_logits_are_sampled_as_in_float32():
    """A float16 cumulative sum over 256 classes would move the boundaries between classes."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (1000, 256)).astype(np.float16)
    uniform = rng.random(1000, dtype=np.float32)
    cumulative = np.cumsum(np.exp(logits.astype(np.float64)), axis=1)
    expected = (cumulative <= uniform[:, None] * cumulative[:, -1:]).sum(axis=1)
    np.testing.assert_array_equal(sample_softmax(logits, 1.0, uniform), expected)
