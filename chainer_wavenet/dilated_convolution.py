"""Dilated 1-D convolution without padding, as one matrix product per tap.

For input ``x`` of shape (batch, in, time) and weights ``W`` of shape
(out, in, width), output position ``t`` is
``sum_j W[:, :, j] @ x[:, :, t + j * dilation] + b``, for
``t < time - dilation * (width - 1)``. Each tap is a matrix product on a
shifted view of ``x``: no im2col copy, on NumPy and CuPy alike.
"""

import chainer
from chainer import function_node
from chainer.utils import type_check


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

    def _out_length(self, x, W):
        return x.shape[2] - self.dilation * (W.shape[2] - 1)

    def forward(self, inputs):
        self.retain_inputs((0, 1))
        x, W = inputs[:2]
        xp = chainer.backend.get_array_module(x)
        length = self._out_length(x, W)
        if length <= 0:
            raise ValueError(
                f"input of {x.shape[2]} samples is shorter than the convolution's "
                f"span of {self.dilation * (W.shape[2] - 1) + 1}"
            )
        y = xp.matmul(W[:, :, 0], x[:, :, :length])
        for j in range(1, W.shape[2]):
            start = j * self.dilation
            y += xp.matmul(W[:, :, j], x[:, :, start:start + length])
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
        length = gy.shape[2]
        grads = []
        if 0 in self.indexes:
            # The first tap writes its part of gx; only the others add to it.
            gx = xp.empty(x.shape, x.dtype)
            xp.matmul(W[:, :, 0].T, gy, out=gx[:, :, :length])
            gx[:, :, length:] = 0
            for j in range(1, W.shape[2]):
                start = j * self.dilation
                gx[:, :, start:start + length] += xp.matmul(W[:, :, j].T, gy)
            grads.append(gx)
        if 1 in self.indexes:
            gW = xp.empty_like(W)
            for j in range(W.shape[2]):
                start = j * self.dilation
                taps = x[:, :, start:start + length]
                gW[:, :, j] = xp.matmul(gy, taps.transpose(0, 2, 1)).sum(axis=0)
            grads.append(gW)
        if 2 in self.indexes:
            grads.append(gy.sum(axis=(0, 2)))
        return tuple(grads)

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("dilated_convolution_1d has no second derivative")


def dilated_convolution_1d(x, W, b=None, dilation=1):
    """Valid (unpadded) dilated convolution; output is shorter by ``dilation * (width - 1)``."""
    inputs = (x, W) if b is None else (x, W, b)
    return DilatedConvolution1D(dilation).apply(inputs)[0]
