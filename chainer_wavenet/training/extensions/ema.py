"""An exponential moving average of every weight, kept beside training as a Trainer extension.

After each update, ``average = d * average + (1 - d) * weight`` with
``d = min(decay, (1 + n) / (10 + n))`` after n earlier updates: the average starts from the
initial weights and, with a decay of 0.9999, follows the weights closely over the first
thousands of steps instead of staying near their random start. The average and n are part
of the trainer snapshot, so a resumed run continues it bit for bit.
"""

import contextlib

from chainer.training import extension, extensions

from chainer_wavenet.errors import WaveNetError


def check_decay(decay):
    """WaveNetError unless ``decay`` (from ``--ema``) lies in (0, 1)."""
    if decay is not None and not 0 < decay < 1:
        raise WaveNetError(f"--ema must lie strictly between 0 and 1 (e.g. 0.9999), got {decay}")


class ExponentialMovingAverage(extension.Extension):
    """Keeps ``average``, a copy of ``model`` whose weights are the moving average of its own.

    Runs after every update, before any extension that reads or writes the model.
    """

    name = "ExponentialMovingAverage"
    trigger = (1, "iteration")
    priority = extension.PRIORITY_EDITOR

    def __init__(self, model, decay):
        check_decay(decay)
        self.model = model
        self.decay = decay
        self.average = model.copy(mode="copy")
        self.updates = 0

    def __call__(self, trainer):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averages = dict(self.average.namedparams())
        for name, param in self.model.namedparams():
            average = averages[name].array
            average *= decay
            average += (1 - decay) * param.array
        self.updates += 1

    def serialize(self, serializer):
        self.updates = serializer("updates", self.updates)
        self.average.serialize(serializer["average"])


@contextlib.contextmanager
def weights_of(model, average):
    """``model`` holding the weights of ``average`` (a copy of it) inside the block, its
    own again after it."""
    own = {name: param.array.copy() for name, param in model.namedparams()}
    averages = dict(average.namedparams())
    for name, param in model.namedparams():
        param.array[...] = averages[name].array
    try:
        yield
    finally:
        for name, param in model.namedparams():
            param.array[...] = own[name]


class AveragedEvaluator(extensions.Evaluator):
    """An Evaluator of ``target`` (which scores ``model``) run with ``model`` holding the
    weights of ``average`` (None: its own), those model.h5 is written with. Runs after the
    average's update of the step, before the extensions that read what it reports."""

    priority = extension.PRIORITY_EDITOR - 1

    def __init__(self, iterator, target, model, average, **kwargs):
        super().__init__(iterator, target, **kwargs)
        self.model = model
        self.average = average

    def evaluate(self):
        if self.average is None:
            return super().evaluate()
        with weights_of(self.model, self.average):
            return super().evaluate()
