"""Noise injection: the decoder learns to predict the clean signal from a past as noisy as
its own samples will be.

Each training crop's decoder inputs are moved by random whole classes (the encoder and the
targets stay clean), as LPCNet trains its network (Valin & Skoglund 2019, section 3.3).
"""

import chainer
import numpy as np

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.training.replaced_past import ReplacedPast


def check_width(width):
    """WaveNetError unless ``width`` (from ``--input-noise``) is a whole number of classes >= 0."""
    if width < 0:
        raise WaveNetError(f"--input-noise must be >= 0 classes (0 = clean inputs), got {width}")


class InputNoise(ReplacedPast):
    """An autoencoder's NLL of each crop given a decoder past whose every class is moved by a
    uniform integer in [-width, width] (clipped to the classes), in training only (see
    :class:`ReplacedPast`)."""

    def __init__(self, model, width, seed=0, rank=0):
        check_width(width)
        super().__init__(model, seed, rank)
        self.width = width

    @property
    def replaces(self):
        return self.width > 0

    def past(self, x, conditions, rng):
        return noisy_past(x, self.width, rng, self.model.config.decoder.n_classes)


def noisy_past(x, width, rng, n_classes):
    """``x`` (int classes, NumPy or CuPy) with each class moved by a uniform integer in
    [-width, width] drawn from ``rng``, clipped to 0..n_classes - 1."""
    xp = chainer.backend.get_array_module(x)
    offsets = xp.asarray(rng.integers(-width, width + 1, x.shape, dtype=np.int32))
    return xp.clip(x + offsets, 0, n_classes - 1).astype(x.dtype)
