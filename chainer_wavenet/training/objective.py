"""The training objective: a model's NLL, reported in nats and bits per sample, checked finite."""

import math

import chainer
import numpy as np
from chainer.training import extension

from chainer_wavenet.errors import WaveNetError


class NonFiniteLoss(WaveNetError):
    """The loss became NaN or inf: in training (the weights were not updated with it, or,
    checked over ``iterations`` (first, last) on a GPU, not saved), or in validation (the
    last update broke the weights)."""

    def __init__(self, value, training, iterations=None):
        super().__init__(f"{'training' if training else 'validation'} loss became {value}")
        self.value = value
        self.training = training
        self.iterations = iterations


class Objective(chainer.Chain):
    """Wraps a model whose ``loss(*batch)`` (or ``loss(**batch)``) is a mean NLL in nats.

    ``loss``, if given, is called instead of the model's own, and may return the loss
    and a dict of its parts to report beside it (a student's KL and power loss; the
    model's weights alone are trained and saved). A ``loss`` that is a Link is kept as a
    child, so that its persistent values go into trainer snapshots.

    Reports ``loss`` (nats) and, unless ``bits`` is False (a loss that is no likelihood,
    e.g. a KL plus a power loss), ``bits`` (bits per sample), and stops training on a NaN
    or inf loss. Each loss is read on the host as it comes (before the optimizer touches
    the weights) when ``check_every_step`` is True, by default on NumPy only: on a GPU
    that read would wait for the device every step. Otherwise training losses are only
    kept on the device, to be checked by :meth:`check` (see :class:`DeferredLossCheck`);
    validation losses are always read as they come.
    """

    def __init__(self, model, check_every_step=None, loss=None, bits=True):
        super().__init__()
        with self.init_scope():
            self.model = model
            if isinstance(loss, chainer.Link):
                self.loss_state = loss
        self.check_every_step = check_every_step
        self.bits = bits
        self._loss = loss
        self._all_finite = None  # on the device: every unchecked training loss was finite

    def __call__(self, *batch, **named):
        loss = (self.model.loss if self._loss is None else self._loss)(*batch, **named)
        parts = {}
        if isinstance(loss, tuple):
            loss, parts = loss
        every_step = self.check_every_step
        if every_step is None:
            every_step = isinstance(loss.array, np.ndarray)
        if every_step or not chainer.config.train:
            value = float(loss.array)
            if not math.isfinite(value):
                raise NonFiniteLoss(value, chainer.config.train)
        else:
            finite = self.xp.isfinite(loss.array)
            self._all_finite = finite if self._all_finite is None else self._all_finite & finite
        reported = {"loss": loss, "bits": loss / math.log(2)} if self.bits else {"loss": loss}
        chainer.report({**reported, **parts}, self)
        return loss

    def check(self, iterations):
        """NonFiniteLoss if a training loss kept on the device since the last check was NaN
        or inf, in ``iterations`` (first, last); one wait for the device."""
        all_finite, self._all_finite = self._all_finite, None
        if all_finite is not None and not bool(all_finite):
            raise NonFiniteLoss("nan or inf", True, iterations)


class DeferredLossCheck(extension.Extension):
    """Runs :meth:`Objective.check` on the iterations since its last run, before any
    extension reports, plots or writes (a no-op where each loss is checked as it comes)."""

    priority = extension.PRIORITY_WRITER + 1

    def __init__(self, objective):
        self.objective = objective
        self.checked = 0  # the last iteration checked

    def initialize(self, trainer):
        self.checked = trainer.updater.iteration

    def __call__(self, trainer):
        first, self.checked = self.checked + 1, trainer.updater.iteration
        self.objective.check((first, self.checked))
