"""Stopping on SIGTERM or SIGINT (preemption, Ctrl-C) with a trainer snapshot of the step."""

import contextlib
import signal
import sys

from chainer.training import extension

from chainer_wavenet.errors import Interrupted

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopOnSignal(extension.Extension):
    """After every step, stops training if SIGTERM or SIGINT arrived during it.

    A trainer snapshot of that step is written first (by rank 0 under MPI, where every
    rank stops at the same step), then :class:`Interrupted` ends the run with status
    128 + the signal's number. A second signal stops at once, without a snapshot.
    Set ``snapshot_of_this_step(trainer)``, which writes the snapshot and returns its
    path, before training; signals are caught from :meth:`catching` on.
    """

    trigger = (1, "iteration")
    priority = -1  # after every other extension, the interval's own snapshot included

    def __init__(self, group):
        self.group = group
        self.snapshot_of_this_step = None
        self.received = 0

    @contextlib.contextmanager
    def catching(self):
        """Catch SIGTERM and SIGINT while the block runs; the old handlers come back after."""
        previous = {number: signal.signal(number, self._receive) for number in SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _receive(self, number, frame):
        name = signal.Signals(number).name
        if self.received:
            raise Interrupted(f"{name} again: stopped at once, without a snapshot of this "
                              f"step", 128 + number)
        self.received = number
        if self.group.is_root:
            print(f"\n{name}: stopping after this step with a trainer snapshot (send it again "
                  f"to stop at once)", file=sys.stderr, flush=True)

    def __call__(self, trainer):
        number = self.group.largest(self.received)
        if not number:
            return
        path = self.snapshot_of_this_step(trainer) if self.group.is_root else None
        path = self.group.broadcast(path)  # every rank waits until the snapshot is complete
        message = (f"{signal.Signals(number).name}: stopped at iteration "
                   f"{trainer.updater.iteration}; wrote its trainer snapshot {path}. Run the "
                   f"same command with --resume to continue") if self.group.is_root else ""
        raise Interrupted(message, 128 + number)
