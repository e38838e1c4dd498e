"""The FunctionNodes: dilated 1-D convolution, the fused gate, softmax cross-entropy."""

import chainer
import chainer.functions as F
import numpy as np
import pytest
from chainer import gradient_check
from chainer.utils.type_check import InvalidType

from chainer_wavenet.functions.cross_entropy import softmax_cross_entropy
from chainer_wavenet.functions.dilated_convolution import dilated_convolution_1d
from chainer_wavenet.functions.gated_activation import gated_activation

WIDTHS = (1, 2, 3)
DILATIONS = (1, 2, 5)


def naive_convolution(x, W, b, dilation):
    """Output t = sum over taps j of W[:, :, j] @ x[:, :, t + j * dilation] (+ b), by loops."""
    batch, _, time = x.shape
    out_channels, _, width = W.shape
    length = time - dilation * (width - 1)
    y = np.zeros((batch, out_channels, length))
    for n in range(batch):
        for t in range(length):
            for j in range(width):
                y[n, :, t] += W[:, :, j] @ x[n, :, t + j * dilation]
    if b is not None:
        y += b[None, :, None]
    return y


def conv_inputs(width, dilation, with_bias, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, 4 + dilation * (width - 1))).astype(dtype)
    W = rng.normal(size=(5, 3, width)).astype(dtype)
    b = rng.normal(size=5).astype(dtype) if with_bias else None
    return x, W, b


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("width", WIDTHS)
def test_convolution_forward_matches_loops_and_chainer(width, dilation, with_bias):
    x, W, b = conv_inputs(width, dilation, with_bias)
    y = dilated_convolution_1d(x, W, b, dilation).array
    np.testing.assert_allclose(y, naive_convolution(x, W, b, dilation), rtol=1e-12, atol=1e-12)
    reference = F.convolution_nd(x, W, b, dilate=dilation).array
    np.testing.assert_allclose(y, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("width", WIDTHS)
def test_convolution_backward(width, dilation, with_bias):
    x, W, b = conv_inputs(width, dilation, with_bias, seed=1)
    inputs = (x, W) if b is None else (x, W, b)
    gy = np.random.default_rng(2).normal(size=(2, 5, 4))

    def convolve(*args):
        return dilated_convolution_1d(*args, dilation=dilation)

    gradient_check.check_backward(convolve, inputs, gy, dtype=np.float64, atol=1e-7, rtol=1e-6)


def test_convolution_keeps_float32():
    x, W, b = conv_inputs(2, 2, True, dtype=np.float32)
    y = dilated_convolution_1d(x, W, b, 2)
    assert y.dtype == np.float32
    assert y.shape == (2, 5, 4)


def test_convolution_rejects_input_shorter_than_its_span():
    x, W, _ = conv_inputs(3, 2, False)
    with pytest.raises(ValueError, match="shorter"):
        dilated_convolution_1d(x[:, :, :4], W, dilation=2)


@pytest.mark.parametrize("change", ["channels", "dtype", "bias length"])
def test_convolution_rejects_mismatched_inputs(change):
    x, W, b = conv_inputs(2, 1, True)
    if change == "channels":
        W = W[:, :2]
    elif change == "dtype":
        W = W.astype(np.float32)
    else:
        b = b[:3]
    with pytest.raises(InvalidType):
        dilated_convolution_1d(x, W, b)


def reference_gate(h):
    half = h.shape[1] // 2
    return np.tanh(h[:, :half]) / (1.0 + np.exp(-h[:, half:]))


@pytest.mark.parametrize("shape", [(3, 8), (2, 6, 5)])
def test_gate_forward_matches_numpy(shape):
    h = np.random.default_rng(0).normal(scale=2.0, size=shape)
    z = gated_activation(h).array
    assert z.shape == (shape[0], shape[1] // 2, *shape[2:])
    np.testing.assert_allclose(z, reference_gate(h), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 8), (2, 6, 5)])
def test_gate_backward(shape):
    rng = np.random.default_rng(1)
    h = rng.normal(scale=2.0, size=shape)
    gz = rng.normal(size=(shape[0], shape[1] // 2, *shape[2:]))
    gradient_check.check_backward(gated_activation, h, gz, dtype=np.float64, atol=1e-7,
                                  rtol=1e-6)


def test_gate_saturates_without_overflow():
    h = np.array([[-80.0, 80.0, 80.0, -80.0]], np.float32)
    variable = chainer.Variable(h)
    z = gated_activation(variable)
    np.testing.assert_allclose(z.array, [[-1.0, 0.0]], atol=1e-6)
    z.grad = np.ones_like(z.array)
    z.backward()
    assert np.all(np.isfinite(variable.grad))
    np.testing.assert_allclose(variable.grad, 0.0, atol=1e-6)


def test_gate_rejects_odd_channel_count():
    with pytest.raises(InvalidType):
        gated_activation(np.zeros((2, 5, 3), np.float32))


def cross_entropy_inputs(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=shape).astype(dtype)
    t = rng.integers(0, shape[1], (shape[0], *shape[2:])).astype(np.int32)
    return x, t


@pytest.mark.parametrize("shape", [(4, 7), (3, 5, 6), (2, 4, 3, 2)])
def test_cross_entropy_matches_chainer(shape):
    x, t = cross_entropy_inputs(shape)
    ours, theirs = chainer.Variable(x), chainer.Variable(x.copy())
    loss = softmax_cross_entropy(ours, t)
    expected = F.softmax_cross_entropy(theirs, t)
    np.testing.assert_allclose(loss.array, expected.array, rtol=1e-12)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shape", [(4, 7), (3, 5, 6)])
def test_cross_entropy_backward(shape):
    x, t = cross_entropy_inputs(shape, seed=1)

    def loss(x):
        return softmax_cross_entropy(x, t)

    gradient_check.check_backward(loss, x, np.array(0.7), dtype=np.float64, atol=1e-7,
                                  rtol=1e-6)


def test_cross_entropy_keeps_float32_and_large_logits_finite():
    x, t = cross_entropy_inputs((2, 6, 5), np.float32)
    x[0, 0] = 500.0
    variable = chainer.Variable(x)
    loss = softmax_cross_entropy(variable, t)
    assert loss.dtype == np.float32 and loss.shape == ()
    loss.backward()
    assert np.isfinite(loss.array) and np.all(np.isfinite(variable.grad))


@pytest.mark.parametrize("change", ["target dtype", "target shape"])
def test_cross_entropy_rejects_mismatched_inputs(change):
    x, t = cross_entropy_inputs((3, 5, 6))
    t = t.astype(np.float32) if change == "target dtype" else t[:, :4]
    with pytest.raises(InvalidType):
        softmax_cross_entropy(x, t)
