"""Counts the sound files a Python process opens for reading, for tests of whole scripts.

On ``PYTHONPATH`` with ``WAV_READ_LOG`` set, every process appends one JSON line to that
file when it ends: its command line and how many sound files it opened for reading.
"""

import atexit
import json
import os
import sys

if os.environ.get("WAV_READ_LOG"):
    import soundfile

    _opened = []
    _open = soundfile.SoundFile.__init__

    def _counting_open(self, file, mode="r", *args, **kwargs):
        if mode is None or "r" in mode:
            _opened.append(str(file))
        _open(self, file, mode, *args, **kwargs)

    def _report():
        with open(os.environ["WAV_READ_LOG"], "a") as log:
            log.write(json.dumps({"argv": sys.argv, "reads": len(_opened)}) + "\n")

    soundfile.SoundFile.__init__ = _counting_open
    atexit.register(_report)
