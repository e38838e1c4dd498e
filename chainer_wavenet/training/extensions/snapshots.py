"""Trainer snapshots (for ``--resume``) and the model snapshot, written atomically."""

import contextlib
import os
import re

import chainer
import numpy as np
from chainer.training import extension

from chainer_wavenet import snapshot
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_bytes

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

    Keeps the ``keep`` newest snapshots of this run and deletes its older ones. The
    list of them travels in each snapshot, so a resumed run counts those that the runs
    before it wrote (the one it resumed from last); files no run of its line wrote (an
    older run's, after ``--force``) are never touched.
    """

    priority = extension.PRIORITY_READER

    def __init__(self, model, keep=3):
        self.model = model
        self.keep = keep
        self._written = []  # iterations of the run's snapshots, oldest first
        self._last = None  # (iteration, path) of the newest snapshot written

    def __call__(self, trainer):
        iteration = trainer.updater.iteration
        path = os.path.join(trainer.out, trainer_snapshot_name(iteration))
        check_finite(self.model, path, iteration)
        # Listed before saving: the snapshot counts itself, as the newest, when resumed.
        self._written = [n for n in self._written if n != iteration] + [iteration]
        # Zipped in memory: NumPy 1.x's zip writer retries a failed write when collected.
        with atomic_bytes(path, force=True) as buffer:
            chainer.serializers.save_npz(buffer, trainer)
        self._last = iteration, path
        while self.keep and len(self._written) > self.keep:
            old = os.path.join(trainer.out, trainer_snapshot_name(self._written.pop(0)))
            with contextlib.suppress(FileNotFoundError):  # removed by hand meanwhile
                os.remove(old)

    def serialize(self, serializer):
        """The iterations of the snapshots kept so far, saved and restored with the trainer."""
        if isinstance(serializer, chainer.serializer.Serializer):
            serializer("written", np.array(self._written, np.int64))
            return
        try:
            written = serializer("written", None)
        except KeyError:  # a snapshot from before the list was kept: count from here
            return
        self._written = [int(n) for n in written]

    def of_this_step(self, trainer):
        """The path of a snapshot of the trainer's current step, written now unless it was."""
        if self._last is None or self._last[0] != trainer.updater.iteration:
            self(trainer)
        return self._last[1]


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
