"""Learned upsampling of frame-rate local features to one vector per sample.

A stack of 1-D transposed convolutions whose strides multiply to the hop (256 = 16 x 16).
Each has a kernel as wide as its stride, so output sample t reads only its own frame
``t // hop``, as with repetition: training crops and sample-by-sample generation see the
same conditioning, whatever frames lie around it. The stack is linear and starts as
exact repetition (each kernel copies every channel to its ``stride`` outputs); training
then shapes each frame's conditioning over the samples it covers.
"""

import chainer
import chainer.links as L
import numpy as np


def _repeating_kernel(channels, stride):
    """(in, out, width) weights that copy each channel to all ``stride`` outputs."""
    kernel = np.zeros((channels, channels, stride), np.float32)
    kernel[np.arange(channels), np.arange(channels), :] = 1.0
    return kernel


class TransposedUpsampling(chainer.ChainList):
    """(batch, channels, frames) -> (batch, channels, frames * prod(strides))."""

    def __init__(self, channels, strides):
        super().__init__(*(L.DeconvolutionND(1, channels, channels, stride, stride=stride,
                                             initialW=_repeating_kernel(channels, stride),
                                             initial_bias=0.0)
                           for stride in strides))

    def __call__(self, features):
        for layer in self:
            features = layer(features)
        return features


def local_upsampler(config):
    """The learned upsampling a config (WaveNet or student) asks for, or None for repetition."""
    if config.local_upsampling != "transposed":
        return None
    return TransposedUpsampling(config.local_channels, config.upsampling_strides)
