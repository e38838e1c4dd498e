"""Safe writes: every output goes to a temporary name in its folder and is renamed into place.

A crash therefore never leaves a truncated file under the real name, and an output never
replaces a file that is already there unless the caller asks for it (``force``).
"""

import contextlib
import os
import secrets
from pathlib import Path

from chainer_wavenet.errors import WaveNetError


def ensure_output_dir(path):
    """Create the folder ``path`` (and its parents) and check that it is writable."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WaveNetError(
            f"{path}: exists but is not a folder; choose another output folder"
        ) from None
    except OSError as error:
        raise WaveNetError(
            f"{path}: cannot create this output folder ({error.strerror}); "
            "choose another output folder"
        ) from None
    _check_writable_dir(path)
    return path


def _check_writable_dir(folder):
    if not folder.is_dir():
        raise WaveNetError(
            f"{folder}: output folder does not exist; create it or choose another --out"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WaveNetError(f"{folder}: output folder is not writable; choose another --out")


def _check_free(path):
    if path.is_dir():
        raise WaveNetError(f"{path}: is a folder; give a file name to --out")
    if os.path.lexists(path):
        raise WaveNetError(
            f"{path}: already exists; pass --force to overwrite it or choose another --out"
        )


def _temporary_name(path):
    return path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}{path.suffix}")


def _fsync_file(path):
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms that cannot open a folder (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, force=False):
    """Yield a temporary path beside ``path``; on success move it to ``path``.

    The temporary file already exists (empty) and has the same suffix as ``path``,
    so libraries that pick a format from the suffix behave the same. On normal exit
    it is flushed to disk and renamed over ``path``; on an exception it is removed
    and the exception propagates. Without ``force`` an existing ``path`` raises
    WaveNetError before anything is written.
    """
    path = Path(path)
    folder = path.parent
    _check_writable_dir(folder)
    if not force:
        _check_free(path)
    elif path.is_dir():
        raise WaveNetError(f"{path}: is a folder; give a file name to --out")
    temporary = _temporary_name(path)
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as error:
        raise WaveNetError(
            f"{folder}: cannot write to this folder ({error.strerror}); choose another --out"
        ) from None
    try:
        yield temporary
        _fsync_file(temporary)
        if not force:
            _check_free(path)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_dir(folder)
