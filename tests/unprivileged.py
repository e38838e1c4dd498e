"""Test bodies that need file permissions to hold: run as an unprivileged user under root.

Root writes into read-only folders, so a check of an unwritable folder proves nothing when
the tests run as root (as CI does). There the body runs in a forked child that has dropped
to uid and gid 65534 (nobody).
"""

import os
import shutil
import tempfile
import traceback
from pathlib import Path

NOBODY = 65534


def run_unprivileged(body, *inputs):
    """Call ``body(folder, *copies)`` as a user without privileges; fail with its traceback.

    ``folder`` is a new folder that user owns; ``copies`` are copies of the files
    ``inputs`` in it, readable by that user.
    """
    folder = Path(tempfile.mkdtemp(prefix="unprivileged-"))
    try:
        copies = [Path(shutil.copy(path, folder)) for path in inputs]
        if os.geteuid() != 0:
            body(folder, *copies)
            return
        for path in (folder, *copies):
            os.chown(path, NOBODY, NOBODY)
        report = _in_child_as_nobody(body, folder, *copies)
        assert report is None, f"as uid {NOBODY}:\n{report}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _in_child_as_nobody(body, *args):
    """Run ``body(*args)`` in a forked child as uid/gid 65534: None, or its traceback."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            body(*args)
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return report or f"the child ended with status {status}"
