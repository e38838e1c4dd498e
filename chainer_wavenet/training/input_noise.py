"""Noise injection: the decoder learns to predict the clean signal from a past as noisy as
its own samples will be.

Free-running, a decoder reads what it played itself, every sample one draw off the signal;
trained only on clean pasts, its errors feed on each other. Here each training crop's decoder
inputs are moved by random whole classes (the encoder and the targets stay clean), as LPCNet
trains its network (Valin & Skoglund 2019, section 3.3).
"""

import chainer
import numpy as np

from chainer_wavenet.errors import WaveNetError


def check_width(width):
    """WaveNetError unless ``width`` (from ``--input-noise``) is a whole number of classes >= 0."""
    if width < 0:
        raise WaveNetError(f"--input-noise must be >= 0 classes (0 = clean inputs), got {width}")


class InputNoise(chainer.Link):
    """An autoencoder's NLL of each crop given a decoder past whose every class is moved by a
    uniform integer in [-width, width] (clipped to the classes), in training only:
    validation scores the clean past.

    The noise of call n is drawn from ``seed``, the MPI ``rank`` and n; n is kept in the
    trainer snapshot (a Link without weights), so a resumed run draws what an uninterrupted
    one would.
    """

    def __init__(self, model, width, seed=0, rank=0):
        super().__init__()
        check_width(width)
        self.model = model
        self.width = width
        self.seed = seed
        self.rank = rank
        self.add_persistent("calls", 0)

    def __call__(self, x, pitch):
        if not chainer.config.train or self.width == 0:
            return self.model.loss(x, pitch)
        rng = np.random.default_rng([self.seed, self.rank, int(self.calls)])
        self.calls += 1
        return self.model.loss(x, pitch, noisy_past(x, self.width, rng,
                                                    self.model.config.decoder.n_classes))


def noisy_past(x, width, rng, n_classes):
    """``x`` (int classes, NumPy or CuPy) with each class moved by a uniform integer in
    [-width, width] drawn from ``rng``, clipped to 0..n_classes - 1."""
    xp = chainer.backend.get_array_module(x)
    offsets = xp.asarray(rng.integers(-width, width + 1, x.shape, dtype=np.int32))
    return xp.clip(x + offsets, 0, n_classes - 1).astype(x.dtype)
