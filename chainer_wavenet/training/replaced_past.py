"""A training loss whose decoder reads a past other than the crop's own.

Free-running, a decoder reads what it played itself, every sample one draw off the signal;
trained only on the recording's past, its errors feed on each other (docs/quality.md). The
losses built on this class give the decoder, in training, a past as imperfect as its own
samples will be and score the clean crop; the encoder reads the clean crop, and validation
scores the clean past.
"""

import chainer
import numpy as np


class ReplacedPast(chainer.Link):
    """An autoencoder's NLL of each crop given the decoder past that :meth:`past` makes.

    The randomness of call n is drawn from ``seed``, the MPI ``rank`` and n; n is kept in the
    trainer snapshot (a Link without weights), so a resumed run draws what an uninterrupted
    one would.
    """

    def __init__(self, model, seed=0, rank=0):
        super().__init__()
        self.model = model
        self.seed = seed
        self.rank = rank
        self.add_persistent("calls", 0)

    def __call__(self, x, pitch):
        if not chainer.config.train or not self.replaces:
            return self.model.loss(x, pitch)
        rng = np.random.default_rng([self.seed, self.rank, int(self.calls)])
        self.calls += 1
        conditions = self.model.decoder_conditions(x, pitch)
        return self.model.decoder.loss(x, *conditions, self.past(x, conditions, rng))

    @property
    def replaces(self):
        """Whether this loss changes the past at all (False: the clean loss)."""
        raise NotImplementedError

    def past(self, x, conditions, rng):
        """Int classes of x's shape (NumPy or CuPy, as x) that the decoder reads in x's place,
        given the decoder's ``conditions`` for x and ``rng`` for this call."""
        raise NotImplementedError
