"""The WaveNet autoencoder: non-causal encoder, pooled z, and the conditioned decoder."""

import chainer
import numpy as np
import pytest
from model_fixtures import (
    changed_outputs,
    make_autoencoder,
    parallel_logits,
    random_classes,
    stepped_logits,
    tiny_encoder_config,
)

from chainer_wavenet.audio import mu_law
from chainer_wavenet.models.autoencoder import Encoder

HOP = 8


def encode_classes(encoder, x):
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        return encoder(x).array


def unpooled_twin(encoder):
    """An encoder with the same weights but hop 1: its z is the bottleneck before pooling."""
    twin = Encoder(tiny_encoder_config(hop=1), encoder.n_classes)
    twin.copyparams(encoder)
    return twin


def test_encoder_output_shape():
    model = make_autoencoder()
    x = random_classes(np.random.default_rng(0), 2, 8 * HOP, 32)
    z = encode_classes(model.encoder, x)
    assert z.shape == (2, 4, 8)
    assert z.dtype == np.float32


def test_encoder_needs_whole_frames():
    model = make_autoencoder()
    x = random_classes(np.random.default_rng(0), 1, 8 * HOP + 3, 32)
    with pytest.raises(ValueError, match="multiple of hop"):
        model.encoder(x)


def test_z_is_the_bottleneck_averaged_over_each_hop():
    model = make_autoencoder()
    x = random_classes(np.random.default_rng(1), 2, 6 * HOP, 32)
    before_pooling = encode_classes(unpooled_twin(model.encoder), x)
    assert before_pooling.shape == (2, 4, 6 * HOP)
    expected = before_pooling.reshape(2, 4, 6, HOP).mean(axis=3)
    np.testing.assert_allclose(encode_classes(model.encoder, x), expected, atol=1e-5)


def test_encoder_sees_past_and_future_alike():
    """Each bottleneck sample sees the same number of samples on both sides of it."""
    model = make_autoencoder()
    config = model.config.encoder
    reach = (config.filter_width - 1) // 2 * (1 + sum(config.dilations))
    twin = unpooled_twin(model.encoder)
    x = random_classes(np.random.default_rng(2), 1, 48, 32)
    before = encode_classes(twin, x)
    position = 24
    changed = x.copy()
    changed[0, position] = (changed[0, position] + 16) % 32
    after = encode_classes(twin, changed)
    np.testing.assert_array_equal(changed_outputs(before, after),
                                  np.arange(position - reach, position + reach + 1))


def decoder_inputs(model, seed, frames=6):
    rng = np.random.default_rng(seed)
    x = random_classes(rng, 2, frames * HOP, 32)
    pitch = rng.integers(0, 128, 2).astype(np.int32)
    z = encode_classes(model.encoder, x)
    return x, pitch, z


def test_decoder_is_causal():
    model = make_autoencoder()
    x, pitch, z = decoder_inputs(model, 3)
    field = model.receptive_field
    before = parallel_logits(model.decoder, x, pitch, z)
    n_outputs = x.shape[1] - field + 1
    for position in (0, field - 1, field + 10, x.shape[1] - 1):
        changed = x.copy()
        changed[:, position] = (changed[:, position] + 16) % 32
        after = parallel_logits(model.decoder, changed, pitch, z)
        expected = np.arange(max(0, position - field + 1), min(position, n_outputs - 1) + 1)
        np.testing.assert_array_equal(changed_outputs(before, after), expected)


def test_decoder_depends_on_z_and_on_pitch():
    model = make_autoencoder()
    x, pitch, z = decoder_inputs(model, 4)
    before = parallel_logits(model.decoder, x, pitch, z)
    other_z = z.copy()
    other_z[:, :, -1] += 1.0
    assert changed_outputs(before, parallel_logits(model.decoder, x, pitch, other_z)).size > 0
    other_pitch = (pitch + 1) % 128
    changed = changed_outputs(before, parallel_logits(model.decoder, x, other_pitch, z))
    np.testing.assert_array_equal(changed, np.arange(before.shape[2]))


@pytest.mark.parametrize("filter_width", [2, 3])
def test_decoder_steps_match_its_teacher_forced_pass(filter_width):
    model = make_autoencoder(filter_width=filter_width)
    x, pitch, z = decoder_inputs(model, 5)
    field = model.receptive_field
    parallel = parallel_logits(model.decoder, x, pitch, z)
    steps = stepped_logits(model.decoder, x, pitch, z)
    np.testing.assert_allclose(steps[:, :, field - 1:], parallel, atol=1e-4, rtol=1e-4)


def test_loss_trains_the_encoder_through_z():
    model = make_autoencoder()
    x, pitch, z = decoder_inputs(model, 6)
    loss = model.loss(x, pitch)
    with chainer.no_backprop_mode():
        expected = model.decoder.loss(x, pitch, z)
    assert float(loss.array) == pytest.approx(float(expected.array), rel=1e-5)
    model.cleargrads()
    loss.backward()
    for name, param in model.encoder.namedparams():
        assert param.grad is not None and np.any(param.grad != 0), name


def test_encode_audio_shapes_and_padding_to_whole_frames():
    model = make_autoencoder()
    audio = (0.6 * np.sin(np.arange(5 * HOP + 3) * 0.3)).astype(np.float32)
    z = model.encode(audio)
    assert isinstance(z, np.ndarray)
    assert z.shape == (4, 6)
    padded = np.pad(audio, (0, HOP - 3))
    np.testing.assert_allclose(z, model.encode(padded), atol=1e-6)
    expected = encode_classes(model.encoder, mu_law.encode(padded[None], 32))[0]
    np.testing.assert_allclose(z, expected, atol=1e-6)
    batch = model.encode(np.stack([audio, -audio]))
    assert batch.shape == (2, 4, 6)
    np.testing.assert_allclose(batch[0], z, atol=1e-6)


def test_encode_of_whole_frames_adds_no_frame():
    model = make_autoencoder()
    assert model.encode(np.zeros(3 * HOP, np.float32)).shape == (4, 3)
