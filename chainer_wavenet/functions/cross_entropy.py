"""Mean softmax cross-entropy over the class axis, as one FunctionNode.

Logits are (batch, classes, ...) and targets (batch, ...) class indices, all
valid (no ignore label). Forward keeps ``exp(logits - max)`` and its sum, so
backward is one scaled copy and a scatter: about half the passes over the
logits of ``chainer.functions.softmax_cross_entropy``, which also transposes
them to find the targets.
"""

import chainer
import numpy as np
from chainer import function_node
from chainer.utils import type_check


def _target_index(t):
    """Index of each target's logit in the (batch, classes, ...) logits."""
    xp = chainer.backend.get_array_module(t)
    axes = [xp.arange(n).reshape((-1,) + (1,) * (t.ndim - 1 - i)) for i, n in enumerate(t.shape)]
    return (axes[0], t, *axes[1:])


class SoftmaxCrossEntropy(function_node.FunctionNode):
    """The FunctionNode behind :func:`softmax_cross_entropy`."""

    def check_type_forward(self, in_types):
        type_check._argname(in_types, ("x", "t"))
        x_type, t_type = in_types
        type_check.expect(
            x_type.dtype.kind == "f",
            t_type.dtype.kind == "i",
            x_type.ndim == t_type.ndim + 1,
            x_type.shape[0] == t_type.shape[0],
            x_type.shape[2:] == t_type.shape[1:],
        )

    def forward(self, inputs):
        x, t = inputs
        xp = chainer.backend.get_array_module(x)
        top = x.max(axis=1, keepdims=True)
        self.exp = xp.subtract(x, top)
        xp.exp(self.exp, out=self.exp)
        self.total = self.exp.sum(axis=1, keepdims=True)
        self.index = _target_index(t)
        nll = xp.log(self.total[:, 0]) + top[:, 0] - x[self.index]
        return xp.asarray(nll.sum(dtype=np.float64) / t.size, x.dtype),

    def backward(self, indexes, grad_outputs):
        return (SoftmaxCrossEntropyGrad(self.exp, self.total, self.index)
                .apply(grad_outputs)[0], None)


class SoftmaxCrossEntropyGrad(function_node.FunctionNode):
    """(softmax - one-hot) / count, times the loss's gradient (first order only)."""

    def __init__(self, exp, total, index):
        self.exp = exp
        self.total = total
        self.index = index

    def forward(self, inputs):
        g_loss, = inputs
        scale = g_loss / self.index[1].size
        gx = self.exp * (scale / self.total)
        gx[self.index] -= scale
        return gx,

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("softmax_cross_entropy has no second derivative")


def softmax_cross_entropy(x, t):
    """Mean over every position of ``-log softmax(x, axis=1)[target]``."""
    return SoftmaxCrossEntropy().apply((x, t))[0]
