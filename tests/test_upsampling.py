"""Learned transposed upsampling of local features: starts as repetition, steps like the
parallel pass, keeps outputs causal, and is chosen and checked in the config."""

import dataclasses

import numpy as np
import pytest
from model_fixtures import (
    changed_outputs,
    make_autoencoder,
    make_wavenet,
    parallel_logits,
    random_classes,
    random_conditions,
    stepped_logits,
)

from chainer_wavenet import WaveNetError
from chainer_wavenet.links.upsampling import TransposedUpsampling
from chainer_wavenet.models.config import (
    WaveNetConfig,
    config_from_json,
    config_to_json,
    upsampling_strides_for,
    with_local_upsampling,
)
from chainer_wavenet.models.wavenet import WaveNet

TRANSPOSED = dict(local_channels=3, local_hop=6, local_upsampling="transposed",
                  upsampling_strides=(2, 3))


def test_a_fresh_stack_repeats_each_frame():
    features = np.random.default_rng(0).normal(size=(2, 4, 5)).astype(np.float32)
    upsampled = TransposedUpsampling(4, (4, 2, 2))(features).array
    np.testing.assert_array_equal(upsampled, np.repeat(features, 16, axis=2))


def test_a_fresh_transposed_model_equals_the_repeating_one():
    """Same seed, same weights elsewhere: the upsampler adds weights but no change at first."""
    np.random.seed(4)
    transposed = WaveNet(WaveNetConfig(dilations=(1, 2), **TRANSPOSED))
    np.random.seed(4)
    repeating = WaveNet(WaveNetConfig(dilations=(1, 2), local_channels=3, local_hop=6))
    rng = np.random.default_rng(1)
    x = random_classes(rng, 2, transposed.receptive_field + 20, 256)
    _, features = random_conditions(transposed.config, rng, 2, x.shape[1])
    np.testing.assert_allclose(parallel_logits(transposed, x, None, features),
                               parallel_logits(repeating, x, None, features), atol=1e-6)


@pytest.mark.parametrize("settings", [{}, dict(n_global=3), dict(input_mode="scalar")])
def test_steps_match_the_parallel_pass(settings):
    model = make_wavenet(**TRANSPOSED, **settings)  # random upsampling weights too
    field = model.receptive_field
    rng = np.random.default_rng(5)
    x = random_classes(rng, 2, field + 23, 32)
    global_ids, features = random_conditions(model.config, rng, 2, x.shape[1])
    parallel = parallel_logits(model, x, global_ids, features)
    steps = stepped_logits(model, x, global_ids, features)
    np.testing.assert_allclose(steps[:, :, field - 1:], parallel, atol=1e-4, rtol=1e-4)


def test_outputs_depend_only_on_past_samples_and_their_own_frames():
    """Changing a sample changes only the outputs after it; changing a frame only the
    outputs whose inputs reach its samples."""
    model = make_wavenet(**TRANSPOSED)
    field, hop = model.receptive_field, 6
    rng = np.random.default_rng(3)
    x = random_classes(rng, 1, field + 30, 32)
    _, features = random_conditions(model.config, rng, 1, x.shape[1])
    before = parallel_logits(model, x, local_features=features)
    sample = field + 10
    changed = x.copy()
    changed[0, sample] = (changed[0, sample] + 7) % 32
    assert changed_outputs(before, parallel_logits(model, changed, local_features=features))[
        0] == sample - field + 1
    frame = (field + 10) // hop
    moved = features.copy()
    moved[:, :, frame] += 1.0
    affected = changed_outputs(before, parallel_logits(model, x, local_features=moved))
    assert affected[0] == frame * hop - field + 1


def test_autoencoder_decoder_keeps_repeating_by_default():
    model = make_autoencoder()
    assert model.decoder.config.local_upsampling == "repeat"
    assert model.decoder.upsample is None


def test_config_round_trip_and_defaults():
    config = WaveNetConfig(**TRANSPOSED)
    assert config_from_json(config_to_json(config)) == config
    assert WaveNetConfig().local_upsampling == "repeat"
    assert upsampling_strides_for(256) == (16, 16)
    assert upsampling_strides_for(200) == (10, 20)
    assert upsampling_strides_for(7) == (7,)
    chosen = with_local_upsampling(WaveNetConfig(local_channels=2, local_hop=256), "transposed")
    assert chosen.upsampling_strides == (16, 16)
    assert with_local_upsampling(chosen, "repeat") == dataclasses.replace(
        chosen, local_upsampling="repeat", upsampling_strides=())


@pytest.mark.parametrize("settings, message", [
    (dict(local_upsampling="transposed", upsampling_strides=(1,)), "needs local features"),
    (dict(TRANSPOSED, upsampling_strides=(2, 2)), "must be positive and multiply to local_hop"),
    (dict(TRANSPOSED, upsampling_strides=()), "must be positive and multiply to local_hop"),
    (dict(local_channels=3, local_hop=6, upsampling_strides=(6,)), "for local_upsampling="),
    (dict(TRANSPOSED, local_upsampling="linear"), "local_upsampling must be one of"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(WaveNetError, match=message):
        WaveNetConfig(**settings)
