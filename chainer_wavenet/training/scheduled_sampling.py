"""Parallel scheduled sampling: the decoder learns to play on from a past drawn from itself.

In training, a pass without a graph draws every sample of the crop from the decoder given the
crop's own past (as ``evaluate --one-step`` plays a note); a share of the decoder's past is
replaced by these draws, and the loss is the NLL of the clean crop given that past (Duckworth
et al. 2019, "Parallel scheduled sampling"). Where input noise moves every class by the same
uniform amount, these errors are the model's own: small where it is sure, wide where it is
not. A second pass draws again from the mixed past, nearer what a free run reads.
"""

import chainer

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.sampling.one_step import draw_each
from chainer_wavenet.training.replaced_past import ReplacedPast


def check_schedule(share, passes):
    """WaveNetError unless ``share`` (``--scheduled-sampling``) is in [0, 1] and ``passes``
    (``--sampling-passes``) >= 1."""
    if not 0 <= share <= 1:
        raise WaveNetError(f"--scheduled-sampling is the share of the past replaced by the "
                           f"model's own draws, in [0, 1]; got {share}")
    if passes < 1:
        raise WaveNetError(f"--sampling-passes must be >= 1, got {passes}")


class ScheduledSampling(ReplacedPast):
    """An autoencoder's NLL of each crop given a decoder past where each sample after the
    first receptive field is, with probability ``share``, the decoder's own draw, in training
    only (see :class:`ReplacedPast`); ``passes`` rounds of drawing, each from the last's past.
    """

    def __init__(self, model, share, passes=1, seed=0, rank=0):
        check_schedule(share, passes)
        super().__init__(model, seed, rank)
        self.share = share
        self.passes = passes

    @property
    def replaces(self):
        return self.share > 0

    def past(self, x, conditions, rng):
        decoder = self.model.decoder
        xp = decoder.xp
        length = x.shape[1] - decoder.receptive_field
        replaced = xp.asarray(rng.random((x.shape[0], length)) < self.share)
        past = x
        for _ in range(self.passes):
            with chainer.no_backprop_mode():
                outputs = decoder(past[:, :-1], *conditions).array
            drawn = draw_each(decoder.distribution, outputs, rng)
            past = x.copy()
            past[:, -length:] = xp.where(replaced, drawn, x[:, -length:])
        return past
