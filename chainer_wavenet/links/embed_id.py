"""Embedding tables whose float16 gradient is summed in float32 on the GPU.

Chainer's EmbedID scatters each row's gradient into the table with ``atomicAdd`` in the
table's dtype. In float16 that is a compare-and-swap loop per addition, contended by
every sample of a frequent class, and a float16 running sum: once a row's sum reaches
2048 times a contribution, adding it changes nothing. Here, on CuPy with a float16
table, the rows are summed with float32 ``atomicAdd`` (native) into a float32 table,
rounded to float16 once. NumPy and other dtypes take Chainer's own backward.
"""

import functools

import chainer.links as L
import numpy as np
from chainer import backend, function_node
from chainer.functions.connection.embed_id import EmbedIDFunction

_SCATTER = "atomicAdd(&gW[(ptrdiff_t)x * n_out + i % n_out], (float)gy);"


@functools.cache
def _scatter_kernel():
    """Adds ``gy`` rows into float32 ``gW`` rows ``x``: a ``cupy.ElementwiseKernel``."""
    import cupy

    return cupy.ElementwiseKernel("T gy, S x, int32 n_out", "raw float32 gW", _SCATTER,
                                  "wavenet_embed_grad_float32")


class EmbedID(L.EmbedID):
    """``chainer.links.EmbedID`` (same parameter, same snapshots) with the float32 sum."""

    def forward(self, x):
        return _Embed(self.ignore_label).apply((x, self.W))[0]


class _Embed(EmbedIDFunction):
    def backward(self, indexes, grad_outputs):
        x, = self.get_retained_inputs()
        gy, = grad_outputs
        if (backend.get_array_module(gy) is np or gy.dtype != np.float16
                or self.ignore_label is not None):
            return super().backward(indexes, grad_outputs)
        return None, _Float32Sum(self._w_shape).apply((x, gy))[0]


class _Float32Sum(function_node.FunctionNode):
    """The table's gradient from row indices ``x`` and output gradients ``gy`` (CuPy)."""

    def __init__(self, w_shape):
        self.w_shape = w_shape

    def forward(self, inputs):
        x, gy = inputs
        xp = backend.get_array_module(gy)
        gW = xp.zeros(self.w_shape, np.float32)
        _scatter_kernel()(gy, x[..., None], self.w_shape[1], gW)
        return gW.astype(gy.dtype),

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("the embedding's float32 gradient has no second derivative")
