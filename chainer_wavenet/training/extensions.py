"""Trainer extensions that write files: snapshots, the log and loss plots, all atomically."""

import json
import os
import re

import chainer
import numpy as np
from chainer.training import extension
from chainer.training.extensions import LogReport

from chainer_wavenet import snapshot
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_bytes, atomic_path

TRAINER_SNAPSHOT = re.compile(r"^snapshot_iter_(\d+)\.npz$")


def trainer_snapshot_name(iteration):
    return f"snapshot_iter_{iteration}.npz"


def trainer_snapshots(out):
    """The ``snapshot_iter_N.npz`` files in ``out``, the last written first; of equally
    recent ones, the highest N first.

    By time, not by N: after a ``--force`` start over, the older run's snapshots stay, and
    may have higher N than the new run's.
    """
    found = []
    if os.path.isdir(out):
        for name in os.listdir(out):
            match = TRAINER_SNAPSHOT.match(name)
            if match:
                written = os.stat(os.path.join(out, name)).st_mtime_ns
                found.append((written, int(match.group(1)), name))
    return [os.path.join(out, name) for _, _, name in sorted(found, reverse=True)]


def check_finite(model, path, iteration):
    """WaveNetError if any parameter of ``model`` is NaN or inf: such weights are never saved."""
    for name, param in model.namedparams():
        if param.array is not None and not bool(param.xp.isfinite(param.array).all()):
            raise WaveNetError(f"{path}: not written: after iteration {iteration}, parameter "
                               f"{name} holds NaN or inf. Resume from the last snapshot with "
                               f"a lower --lr or --grad-clip")


class TrainerSnapshot(extension.Extension):
    """Saves the whole trainer (weights, optimizer, iterators, schedules, log) as npz.

    Keeps the ``keep`` newest snapshots this run wrote and deletes its own older
    ones; files it did not write are never touched.
    """

    priority = extension.PRIORITY_READER

    def __init__(self, model, keep=3):
        self.model = model
        self.keep = keep
        self._written = []
        self._last = None  # (iteration, path) of the newest snapshot written

    def __call__(self, trainer):
        iteration = trainer.updater.iteration
        path = os.path.join(trainer.out, trainer_snapshot_name(iteration))
        check_finite(self.model, path, iteration)
        # Zipped in memory: NumPy 1.x's zip writer retries a failed write when collected.
        with atomic_bytes(path, force=True) as buffer:
            chainer.serializers.save_npz(buffer, trainer)
        self._last = iteration, path
        if path not in self._written:
            self._written.append(path)
        while self.keep and len(self._written) > self.keep:
            os.remove(self._written.pop(0))

    def of_this_step(self, trainer):
        """The path of a snapshot of the trainer's current step, written now unless it was."""
        if self._last is None or self._last[0] != trainer.updater.iteration:
            self(trainer)
        return self._last[1]


class LogFile(LogReport):
    """Chainer's LogReport, its JSON file written by :func:`atomic_path` (a failed write is
    one WriteError, and no temporary folder is left). Named LogReport, as snapshots know it."""

    name = "LogReport"

    def __init__(self, trigger, filename="log"):
        super().__init__(trigger=trigger, log_name=None)
        self.filename = filename

    def __call__(self, trainer):
        entries = len(self.log)
        super().__call__(trainer)
        if len(self.log) > entries:
            with atomic_path(os.path.join(trainer.out, self.filename), force=True) as temporary:
                with open(temporary, "w") as f:
                    json.dump(self.log, f, indent=4)


class ModelSnapshot(extension.Extension):
    """Writes the model with its config to one HDF5 file that loads on its own.

    With ``average`` (a model holding the moving average of ``model``'s weights) the
    file's weights are the average, and ``model``'s own are kept as its raw weights.
    """

    priority = extension.PRIORITY_READER

    def __init__(self, model, filename="model.h5", metadata=None, average=None):
        self.model = model
        self.filename = filename
        self.metadata = metadata or {}
        self.average = average

    def __call__(self, trainer):
        path = os.path.join(trainer.out, self.filename)
        iteration = trainer.updater.iteration
        check_finite(self.model, path, iteration)
        metadata = dict(self.metadata, iteration=iteration)
        if self.average is None:
            snapshot.save(path, self.model, metadata, force=True)
        else:
            check_finite(self.average, path, iteration)
            snapshot.save(path, self.average, metadata, force=True, raw=self.model)


class LossPlot(extension.Extension):
    """Plots reported values (e.g. training and validation bits) against iterations as PNG."""

    trigger = (1, "epoch")
    priority = extension.PRIORITY_READER

    def __init__(self, keys, filename="loss.png", ylabel="bits per sample"):
        self.keys = keys
        self.filename = filename
        self.ylabel = ylabel

    def __call__(self, trainer):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        log = trainer.get_extension("LogReport").log
        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for key in self.keys:
            points = np.array([(e["iteration"], e[key]) for e in log if key in e])
            if len(points):
                axes.plot(points[:, 0], points[:, 1], marker="." if len(points) < 30 else None,
                          label=key)
        axes.set_xlabel("iteration")
        axes.set_ylabel(self.ylabel)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
        path = os.path.join(trainer.out, self.filename)
        with atomic_path(path, force=True) as temporary:
            figure.savefig(temporary, dpi=100)


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

