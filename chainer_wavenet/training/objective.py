"""The training objective: a model's NLL, reported in nats and bits per sample."""

import math

import chainer

from chainer_wavenet.errors import WaveNetError


class NonFiniteLoss(WaveNetError):
    """The loss became NaN or inf: in training (the weights were not updated with it), or in
    validation (the last update broke the weights)."""

    def __init__(self, value, training):
        super().__init__(f"{'training' if training else 'validation'} loss became {value}")
        self.value = value
        self.training = training


class Objective(chainer.Chain):
    """Wraps a model whose ``loss(*batch)`` (or ``loss(**batch)``) is a mean NLL in nats.

    Reports ``loss`` (nats) and ``bits`` (bits per sample), and stops
    training on a NaN or inf loss before the optimizer touches the weights.
    """

    def __init__(self, model):
        super().__init__()
        with self.init_scope():
            self.model = model

    def __call__(self, *batch, **named):
        loss = self.model.loss(*batch, **named)
        value = float(loss.array)
        if not math.isfinite(value):
            raise NonFiniteLoss(value, chainer.config.train)
        chainer.report({"loss": loss, "bits": loss / math.log(2)}, self)
        return loss
