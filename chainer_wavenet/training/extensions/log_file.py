"""The training log as JSON, written atomically."""

import json
import os

from chainer.training.extensions import LogReport

from chainer_wavenet.files import atomic_path


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
