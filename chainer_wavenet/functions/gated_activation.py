"""The WaveNet gate ``tanh(filter) * sigmoid(gate)`` as one fused FunctionNode.

The input holds the filter half and the gate half stacked on the channel
axis: (batch, 2 * channels, ...) -> (batch, channels, ...). Fusing avoids the
four temporaries and three graph nodes of the unfused form. On CuPy, float16
and float32 go through one elementwise kernel per direction, computing in
float32; NumPy (and float64 on CuPy) take a few in-place ufuncs.
"""

import functools

import chainer
import numpy as np
from chainer import function_node
from chainer.utils import type_check

# CUDA bodies of the GPU kernels. a, b: the filter and gate halves; f, g: their tanh and
# sigmoid (kept for backward), z = f * g; sigmoid(b) = (1 + tanh(b / 2)) / 2.
_FORWARD = """
float f = tanhf((float)a);
float g = 0.5f * tanhf(0.5f * (float)b) + 0.5f;
filt = (T)f;
gate = (T)g;
z = (T)(f * g);
"""
_BACKWARD = """
float dz = (float)gz;
float f = (float)filt;
float g = (float)gate;
g_filter = (T)(dz * g * (1.0f - f * f));
g_gate = (T)(dz * f * g * (1.0f - g));
"""
_OUTPUT = "z = (T)(tanhf((float)a) * (0.5f * tanhf(0.5f * (float)b) + 0.5f));"


@functools.cache
def _gpu_kernels():
    """The forward, backward and output-only ``cupy.ElementwiseKernel``s, built on first
    GPU use."""
    import cupy

    forward = cupy.ElementwiseKernel("T a, T b", "T z, T filt, T gate", _FORWARD,
                                     "wavenet_gate_forward")
    backward = cupy.ElementwiseKernel("T gz, T filt, T gate", "T g_filter, T g_gate",
                                      _BACKWARD, "wavenet_gate_backward")
    output = cupy.ElementwiseKernel("T a, T b", "T z", _OUTPUT, "wavenet_gate_output")
    return forward, backward, output


def _fused(array):
    """Whether ``array`` goes through the GPU kernels: on CuPy, float16 or float32."""
    return (chainer.backend.get_array_module(array) is not np
            and array.dtype in (np.float16, np.float32))


def gate_forward(h, out=None):
    """Plain-array gate over axis 1, shared by training and generation.

    Returns the output and the tanh and sigmoid halves (kept for backward).
    ``sigmoid(g) = (1 + tanh(g / 2)) / 2`` costs one transcendental, not exp
    plus division.
    """
    xp = chainer.backend.get_array_module(h)
    half = h.shape[1] // 2
    if _fused(h):
        shape = (h.shape[0], half) + h.shape[2:]
        z = xp.empty(shape, h.dtype) if out is None else out
        filt, gate = xp.empty(shape, h.dtype), xp.empty(shape, h.dtype)
        _gpu_kernels()[0](h[:, :half], h[:, half:], z, filt, gate)
        return z, filt, gate
    filt = xp.tanh(h[:, :half])
    gate = xp.multiply(h[:, half:], h.dtype.type(0.5))
    xp.tanh(gate, out=gate)
    gate *= 0.5
    gate += 0.5
    return xp.multiply(filt, gate, out=out), filt, gate


def gate_output(h, out):
    """The gate's output alone, written to ``out``: generation's step, which keeps no
    halves for backward."""
    if not _fused(h):
        return gate_forward(h, out)[0]
    half = h.shape[1] // 2
    _gpu_kernels()[2](h[:, :half], h[:, half:], out)
    return out


def gate_backward(gz, filt, gate):
    """Plain-array gradient of the gate's stacked input, from the output's gradient ``gz``
    and the halves that :func:`gate_forward` kept."""
    xp = chainer.backend.get_array_module(gz)
    half = filt.shape[1]
    gh = xp.empty((gz.shape[0], 2 * half) + gz.shape[2:], gz.dtype)
    g_filter, g_gate = gh[:, :half], gh[:, half:]
    if _fused(gz):
        _gpu_kernels()[1](gz, filt, gate, g_filter, g_gate)
        return gh
    # d tanh = 1 - tanh^2; d sigmoid = sigmoid (1 - sigmoid); written in place.
    xp.multiply(filt, filt, out=g_filter)
    xp.subtract(1, g_filter, out=g_filter)
    g_filter *= gate
    g_filter *= gz
    xp.subtract(1, gate, out=g_gate)
    g_gate *= gate
    g_gate *= filt
    g_gate *= gz
    return gh


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
        return gate_backward(inputs[0], self.filt, self.gate),

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError("gated_activation has no second derivative")


def gated_activation(h):
    """``tanh(h[:, :C]) * sigmoid(h[:, C:])`` for ``h`` with 2C channels."""
    return GatedActivation().apply((h,))[0]
