"""Gumbel-max sampling: a class from softmax(logits / T) as argmax(logits / T + G).

G holds one standard Gumbel number -log(-log(v)) per row and class. The v come from the
row's one seeded uniform draw (the generator's ``uniform``, unchanged) and the class
index through a counter-based hash (MurmurHash3's 32-bit finalizer, applied to the
draw's float32 bits and again to that key plus the class times the golden-ratio
constant), keeping 23 bits: v = (k + 1/2) / 2**23, inside (0, 1) in float32. No
(samples x batch x classes) noise array is made, and the same draw gives the same
noise on NumPy and CuPy, up to the last bit of the logarithms.

The GPU path samples this way (one fused kernel and an argmax instead of the inverse
CDF's dozen array calls); NumPy keeps the inverse CDF, so the two devices draw
different classes from the same seed, from the same distribution.
"""

import functools

import chainer
import numpy as np

_MIX = (np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35))
_GOLDEN = np.uint32(0x9E3779B9)
_SCALE = np.float32(2.0 ** -23)

_MIX_CUDA = """
__device__ unsigned int wavenet_mix(unsigned int x) {
    x ^= x >> 16; x *= 0x85EBCA6Bu; x ^= x >> 13; x *= 0xC2B2AE35u; x ^= x >> 16;
    return x;
}
"""
_SCORE_CUDA = """
unsigned int key = wavenet_mix(__float_as_uint(u));
unsigned int bits = wavenet_mix(key + (unsigned int)(i % n_classes) * 0x9E3779B9u);
float v = ((float)(bits >> 9) + 0.5f) * 1.1920928955078125e-07f;
score = (float)logit / t - logf(-logf(v));
"""


def _mix(x):
    """MurmurHash3's finalizer on uint32 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint32(16))
    x = x * _MIX[0]
    x = x ^ (x >> np.uint32(13))
    x = x * _MIX[1]
    return x ^ (x >> np.uint32(16))


def gumbel_noise(uniform, n_classes):
    """Standard Gumbel float32 noise (rows, ``n_classes``) from float32 ``uniform`` (rows,)."""
    xp = chainer.backend.get_array_module(uniform)
    key = _mix(xp.ascontiguousarray(uniform, dtype=np.float32).view(np.uint32))
    counter = xp.arange(n_classes, dtype=np.uint32) * _GOLDEN
    bits = _mix(key[:, None] + counter)
    v = ((bits >> np.uint32(9)).astype(np.float32) + np.float32(0.5)) * _SCALE
    return -xp.log(-xp.log(v))


def gumbel_scores(logits, temperature, uniform):
    """float32 ``logits / temperature + G`` (rows, classes), on any array module."""
    scaled = logits.astype(np.float32) / np.float32(temperature)
    return scaled + gumbel_noise(uniform, logits.shape[1])


@functools.cache
def _score_kernel():
    """:func:`gumbel_scores` as one ``cupy.ElementwiseKernel``, built on first GPU use."""
    import cupy

    return cupy.ElementwiseKernel("T logit, float32 u, float32 t, uint32 n_classes",
                                  "float32 score", _SCORE_CUDA, "wavenet_gumbel_scores",
                                  preamble=_MIX_CUDA)


def fused_gumbel_scores(logits, temperature, uniform):
    """:func:`gumbel_scores` for CuPy arrays in one kernel: ``logits`` (rows, classes)
    float16 or float32, ``uniform`` (rows,)."""
    return _score_kernel()(logits, uniform.astype(np.float32, copy=False)[:, None],
                           np.float32(temperature), np.uint32(logits.shape[1]))


def sample_gumbel(logits, temperature, uniform):
    """int32 classes (rows,) drawn from softmax(``logits`` / ``temperature``), one row of
    ``logits`` (rows, classes) per draw of ``uniform`` (rows,) in [0, 1)."""
    xp = chainer.backend.get_array_module(logits)
    fused = xp is not np and logits.dtype in (np.float16, np.float32)
    scores = (fused_gumbel_scores if fused else gumbel_scores)(logits, temperature, uniform)
    return scores.argmax(axis=1).astype(np.int32)
