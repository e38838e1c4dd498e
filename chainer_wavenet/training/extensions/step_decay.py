"""Adam's step size lowered by a factor at given steps."""

from chainer.training import extension


class StepDecay(extension.Extension):
    """Sets Adam's step size to ``lr * factor ** (milestones passed)`` after every update.

    A function of the iteration alone: a resumed run gets the same step size as an
    uninterrupted one with no saved state, and a resume with a lower ``--lr`` applies it.
    """

    trigger = (1, "iteration")
    priority = extension.PRIORITY_WRITER

    def __init__(self, lr, factor, milestones):
        self.lr = lr
        self.factor = factor
        self.milestones = sorted(milestones)

    def _set(self, trainer):
        passed = sum(trainer.updater.iteration >= m for m in self.milestones)
        trainer.updater.get_optimizer("main").alpha = self.lr * self.factor ** passed

    def initialize(self, trainer):
        self._set(trainer)

    def __call__(self, trainer):
        self._set(trainer)
