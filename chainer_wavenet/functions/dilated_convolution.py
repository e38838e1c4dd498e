"""Dilated 1-D convolution without padding, as one matrix product over stacked taps.

For input ``x`` of shape (batch, in, time) and weights ``W`` of shape
(out, in, width), output position ``t`` is
``sum_j W[:, :, j] @ x[:, :, t + j * dilation] + b``, for
``t < time - dilation * (width - 1)``. The ``width`` shifted views of ``x``
are stacked on the channel axis, (batch, width * in, length), and meet ``W``
laid out as (out, width * in) in one product; the gradients are one product
each. One product per tap on the views in place costs no copy but ``width``
products, and on CuPy, whose matmul copies strided views of more than two
dimensions, the copies as well: ``benchmarks/convolution.py`` measures both.
A width of 1 stacks nothing.
"""

import chainer
from chainer import function_node
from chainer.utils import type_check


def _tap(x, j, dilation, length):
    """The view of ``x`` that tap ``j`` reads for ``length`` outputs."""
    start = j * dilation
    return x[:, :, start:start + length]


def stack_taps(x, width, dilation, length):
    """(batch, width * in, length): tap j's view in channels [j * in, (j + 1) * in)."""
    if width == 1:
        return x if x.shape[2] == length else x[:, :, :length]
    xp = chainer.backend.get_array_module(x)
    return xp.concatenate([_tap(x, j, dilation, length) for j in range(width)], axis=1)


def flat_weights(W):
    """``W`` (out, in, width) as (out, width * in), matching :func:`stack_taps`."""
    return W.transpose(0, 2, 1).reshape(W.shape[0], -1)


class DilatedConvolution1D(function_node.FunctionNode):
    """The FunctionNode behind :func:`dilated_convolution_1d`."""

    def __init__(self, dilation):
        self.dilation = dilation

    def check_type_forward(self, in_types):
        n_in = in_types.size()
        type_check.expect(2 <= n_in, n_in <= 3)
        x_type, w_type = in_types[:2]
        type_check.expect(
            x_type.dtype.kind == "f",
            w_type.dtype == x_type.dtype,
            x_type.ndim == 3,
            w_type.ndim == 3,
            x_type.shape[1] == w_type.shape[1],
        )
        if type_check.eval(n_in) == 3:
            b_type = in_types[2]
            type_check.expect(
                b_type.dtype == x_type.dtype,
                b_type.ndim == 1,
                b_type.shape[0] == w_type.shape[0],
            )

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        x, W = inputs[:2]
        xp = chainer.backend.get_array_module(x)
        length = x.shape[2] - self.dilation * (W.shape[2] - 1)
        if length <= 0:
            raise ValueError(
                f"input of {x.shape[2]} samples is shorter than the convolution's "
                f"span of {self.dilation * (W.shape[2] - 1) + 1}"
            )
        y = xp.matmul(flat_weights(W), stack_taps(x, W.shape[2], self.dilation, length))
        if len(inputs) == 3:
            y += inputs[2][None, :, None]
        return y,

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        return DilatedConvolution1DGrad(self.dilation, indexes).apply((x, W, gy))


class DilatedConvolution1DGrad(function_node.FunctionNode):
    """Gradients of :class:`DilatedConvolution1D` (first order only)."""

    def __init__(self, dilation, indexes):
        self.dilation = dilation
        self.indexes = indexes

    def forward(self, inputs):
        x, W, gy = inputs
        xp = chainer.backend.get_array_module(x)
        out_channels, in_channels, width = W.shape
        length = gy.shape[2]
        grads = []
        if 0 in self.indexes:
            # Each tap's rows of the stacked gradient go back to the samples it read.
            g_stacked = xp.matmul(flat_weights(W).T, gy)
            gx = xp.empty(x.shape, x.dtype)
            gx[:, :, :length] = g_stacked[:, :in_channels]
            gx[:, :, length:] = 0
            for j in range(1, width):
                _tap(gx, j, self.dilation, length)[...] += (
                    g_stacked[:, j * in_channels:(j + 1) * in_channels])
            grads.append(gx)
        if 1 in self.indexes:
            stacked = stack_taps(x, width, self.dilation, length)
            flat = xp.matmul(gy, stacked.transpose(0, 2, 1)).sum(axis=0)
            grads.append(xp.ascontiguousarray(
                flat.reshape(out_channels, width, in_channels).transpose(0, 2, 1)))
        if 2 in self.indexes:
            grads.append(gy.sum(axis=(0, 2)))
        return tuple(grads)

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("dilated_convolution_1d has no second derivative")


def dilated_convolution_1d(x, W, b=None, dilation=1):
    """Valid (unpadded) dilated convolution; output is shorter by ``dilation * (width - 1)``."""
    inputs = (x, W) if b is None else (x, W, b)
    return DilatedConvolution1D(dilation).apply(inputs)[0]
