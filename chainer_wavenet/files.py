"""Safe writes: every output goes to a temporary name in its folder and is renamed into place.

A crash therefore never leaves a truncated file under the real name, and an output never
replaces a file that is already there unless the caller asks for it (``force``).
"""

import contextlib
import errno
import io
import os
import re
import secrets
from pathlib import Path

import h5py

from chainer_wavenet.errors import WaveNetError, WriteError

# What to do about a failed write, by its errno; any other: another folder.
_ADVICE = {
    errno.ENOSPC: "free space on its disk, or choose another --out",
    errno.EDQUOT: "free space within your disk quota, or choose another --out",
    errno.EFBIG: "the file outgrows the size this process may write (ulimit -f); raise that "
                 "limit, or choose another --out",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.EIO: "the disk reported an I/O error; check it, or choose another --out",
}
# The temporary names of atomic_path: ".<name>.tmp-<12 hex digits><suffix of name>".
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-[0-9a-f]{12}(?P<suffix>\.[^.]*)?$")


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
        raise WriteError(
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


def is_temporary_name(name):
    """Whether ``name`` is one that :func:`atomic_path` gives its temporary files."""
    match = _TEMPORARY.match(name)
    return bool(match) and (match["suffix"] or "") == Path(match["name"]).suffix


def remove_stale_temporaries(folder):
    """Delete the temporary files that writes cut short (a kill, a power cut) left in
    ``folder``; return their names. Nothing else is touched."""
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            if is_temporary_name(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(entry.path)
                    removed.append(entry.name)
    return removed


def write_failure(path, error):
    """The WriteError for an OSError met while writing ``path``."""
    advice = _ADVICE.get(error.errno, "choose another --out")
    return WriteError(f"{path}: cannot write it ({error.strerror or error}); {advice}")


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
    and the exception propagates, an OSError (a full disk...) as a WriteError that
    names ``path`` and what to do. Without ``force`` an existing ``path`` raises
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
        raise write_failure(path, error) from None
    try:
        yield temporary
        _fsync_file(temporary)
        if not force:
            _check_free(path)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise write_failure(path, error) from None
        raise
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_bytes(path, force=False):
    """Yield an in-memory binary file; on success its bytes go to ``path`` by
    :func:`atomic_path`.

    For libraries that lose the reason of a failed write (libsndfile), crash on one (HDF5 on
    a full disk) or retry it later (NumPy 1.x's npz writer): they write to memory, and only
    plain Python writes touch the disk.
    """
    with atomic_path(path, force=force) as temporary:
        buffer = io.BytesIO()
        yield buffer
        with open(temporary, "wb") as handle:
            handle.write(buffer.getbuffer())


@contextlib.contextmanager
def atomic_hdf5(path, force=False):
    """Yield a writable h5py.File built in memory, written to ``path`` by :func:`atomic_bytes`."""
    with atomic_bytes(path, force=force) as buffer:
        with h5py.File(buffer, "w") as f:
            yield f
