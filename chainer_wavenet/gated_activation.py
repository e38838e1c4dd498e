"""The WaveNet gate ``tanh(filter) * sigmoid(gate)`` as one fused FunctionNode.

The input holds the filter half and the gate half stacked on the channel
axis: (batch, 2 * channels, ...) -> (batch, channels, ...). Fusing avoids the
four temporaries and three graph nodes of the unfused form.
"""

import chainer
from chainer import function_node
from chainer.utils import type_check


def gate_forward(h, out=None):
    """Plain-array gate over axis 1, shared by training and generation.

    Returns the output and the tanh and sigmoid halves (kept for backward).
    ``sigmoid(g) = (1 + tanh(g / 2)) / 2`` costs one transcendental, not exp
    plus division.
    """
    xp = chainer.backend.get_array_module(h)
    half = h.shape[1] // 2
    filt = xp.tanh(h[:, :half])
    gate = xp.multiply(h[:, half:], h.dtype.type(0.5))
    xp.tanh(gate, out=gate)
    gate *= 0.5
    gate += 0.5
    return xp.multiply(filt, gate, out=out), filt, gate


class GatedActivation(function_node.FunctionNode):
    """The FunctionNode behind :func:`gated_activation`."""

    def check_type_forward(self, in_types):
        type_check._argname(in_types, ("h",))
        h_type, = in_types
        type_check.expect(h_type.dtype.kind == "f", h_type.ndim >= 2, h_type.shape[1] % 2 == 0)

    def forward(self, inputs):
        z, self.filt, self.gate = gate_forward(inputs[0])
        return z,

    def backward(self, indexes, grad_outputs):
        gz, = grad_outputs
        return GatedActivationGrad(self.filt, self.gate).apply((gz,))


class GatedActivationGrad(function_node.FunctionNode):
    """Gradient of the gate with respect to its stacked input (first order only)."""

    def __init__(self, filt, gate):
        self.filt = filt
        self.gate = gate

    def forward(self, inputs):
        gz, = inputs
        xp = chainer.backend.get_array_module(gz)
        filt, gate = self.filt, self.gate
        half = filt.shape[1]
        gh = xp.empty((gz.shape[0], 2 * half) + gz.shape[2:], gz.dtype)
        g_filter, g_gate = gh[:, :half], gh[:, half:]
        # d tanh = 1 - tanh^2; d sigmoid = sigmoid (1 - sigmoid); written in place.
        xp.multiply(filt, filt, out=g_filter)
        xp.subtract(1, g_filter, out=g_filter)
        g_filter *= gate
        g_filter *= gz
        xp.subtract(1, gate, out=g_gate)
        g_gate *= gate
        g_gate *= filt
        g_gate *= gz
        return gh,

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("gated_activation has no second derivative")


def gated_activation(h):
    """``tanh(h[:, :C]) * sigmoid(h[:, C:])`` for ``h`` with 2C channels."""
    return GatedActivation().apply((h,))[0]
