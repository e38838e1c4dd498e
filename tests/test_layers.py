"""Layers: the one-sample ``step`` form agrees with the whole-sequence form."""

import chainer
import numpy as np
import pytest
from model_fixtures import randomize_parameters

from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D
from chainer_wavenet.links.gated_residual_block import GatedResidualBlock


def stepped(layer, x, *per_step):
    """Feed (batch, channels, time) ``x`` one column at a time; outputs stacked on axis 2."""
    layer.start(x.shape[0])
    outputs = []
    for t in range(x.shape[2]):
        out = layer.step(x[:, :, t].copy(), *(a[:, :, t].copy() for a in per_step))
        outputs.append(out)
    if isinstance(outputs[0], tuple):
        return tuple(np.stack(column, axis=2) for column in zip(*outputs, strict=True))
    return np.stack(outputs, axis=2)


@pytest.mark.parametrize("nobias", [False, True])
@pytest.mark.parametrize("dilation", [1, 2, 3])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_conv_step_matches_whole_sequence(width, dilation, nobias):
    np.random.seed(0)
    conv = randomize_parameters(DilatedConv1D(3, 4, width, dilation, nobias=nobias), 0)
    x = np.random.default_rng(1).normal(size=(2, 3, 20)).astype(np.float32)
    whole = conv(x).array
    steps = stepped(conv, x)
    reach = (width - 1) * dilation
    assert conv.reach == reach
    assert whole.shape == (2, 4, 20 - reach)
    np.testing.assert_allclose(steps[:, :, reach:], whole, atol=1e-5)


@pytest.mark.parametrize("width,dilation", [(2, 1), (2, 4), (3, 2)])
def test_conv_step_sees_zeros_before_the_first_sample(width, dilation):
    np.random.seed(0)
    conv = randomize_parameters(DilatedConv1D(3, 4, width, dilation), 0)
    x = np.random.default_rng(1).normal(size=(2, 3, 10)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (conv.reach, 0)))
    np.testing.assert_allclose(stepped(conv, x), conv(padded).array, atol=1e-5)


@pytest.mark.parametrize("width,dilation", [(1, 1), (2, 1), (2, 8), (3, 3)])
def test_conv_queue_holds_only_the_reach(width, dilation):
    conv = DilatedConv1D(3, 4, width, dilation)
    conv.start(5)
    assert conv._queue.shape == (max((width - 1) * dilation, 1), 5, 3)


def test_conv_start_clears_the_past():
    np.random.seed(0)
    conv = randomize_parameters(DilatedConv1D(2, 2, 2, 3), 0)
    x = np.random.default_rng(1).normal(size=(1, 2, 8)).astype(np.float32)
    first = stepped(conv, x)
    np.testing.assert_array_equal(stepped(conv, x), first)


def make_block(width, dilation, n_global=0, local_channels=0, seed=0):
    np.random.seed(seed)
    block = GatedResidualBlock(6, 5, 7, width, dilation, n_global, local_channels)
    return randomize_parameters(block, seed)


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("width,dilation", [(2, 1), (2, 4), (3, 2)])
def test_block_step_matches_whole_sequence(width, dilation, with_bias):
    block = make_block(width, dilation)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 24)).astype(np.float32)
    bias = rng.normal(size=(2, 10, 24)).astype(np.float32) if with_bias else None
    reach = block.reach
    with chainer.no_backprop_mode():
        residual, skip = block(x, bias, 24 - reach)
    residual_steps, skip_steps = stepped(block, x, *([bias] if with_bias else []))
    assert residual.shape == (2, 6, 24 - reach)
    assert skip.shape == (2, 7, 24 - reach)
    np.testing.assert_allclose(residual_steps[:, :, reach:], residual.array, atol=1e-5)
    np.testing.assert_allclose(skip_steps[:, :, reach:], skip.array, atol=1e-5)


def test_block_returns_the_last_skips_asked_for():
    block = make_block(2, 2)
    x = np.random.default_rng(3).normal(size=(1, 6, 12)).astype(np.float32)
    _, all_skips = block(x, None, 10)
    _, last_skips = block(x, None, 4)
    np.testing.assert_allclose(last_skips.array, all_skips.array[:, :, -4:], atol=1e-6)


def test_block_bias_is_aligned_with_the_output_end():
    """A longer bias is read from its end: its leading samples are ignored."""
    block = make_block(2, 1)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 6, 8)).astype(np.float32)
    bias = rng.normal(size=(1, 10, 8)).astype(np.float32)
    longer = np.concatenate([rng.normal(size=(1, 10, 5)).astype(np.float32), bias], axis=2)
    residual, _ = block(x, bias, 7)
    residual_longer, _ = block(x, longer, 7)
    np.testing.assert_array_equal(residual_longer.array, residual.array)


def test_block_condition_combines_global_and_local():
    block = make_block(2, 1, n_global=3, local_channels=4)
    rng = np.random.default_rng(5)
    ids = np.array([0, 2], np.int32)
    features = rng.normal(size=(2, 4, 6)).astype(np.float32)
    bias = block.condition(ids, features).array
    local = np.einsum("oi,bif->bof", block.local_bias.W.array[:, :, 0], features)
    expected = local + block.global_bias.W.array[ids][:, :, None]
    assert bias.shape == (2, 10, 6)
    np.testing.assert_allclose(bias, expected, atol=1e-5)
    only_global = make_block(2, 1, n_global=3)
    assert only_global.condition(ids).shape == (2, 10, 1)
    assert make_block(2, 1).condition() is None
