"""Safe writes: temporary name, rename into place, no overwrite without force."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from unprivileged import run_unprivileged

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_path, ensure_output_dir

REPOSITORY = Path(__file__).resolve().parents[1]


def test_writes_file_under_real_name_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.h5"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path
        assert temporary.suffix == ".h5"
        assert temporary.name.startswith(".model.h5.tmp-")
        assert temporary.exists() and not target.exists()
        temporary.write_bytes(b"weights")
    assert target.read_bytes() == b"weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5"]


def test_each_write_gets_its_own_temporary_name(tmp_path):
    with atomic_path(tmp_path / "a.npz") as first, atomic_path(tmp_path / "b.npz") as second:
        assert first != second
        first.write_bytes(b"1")
        second.write_bytes(b"2")
    assert (tmp_path / "a.npz").read_bytes() == b"1"


@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_exception_removes_temporary_and_keeps_previous_file(tmp_path, exception):
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous")
    with pytest.raises(exception):
        with atomic_path(target, force=True) as temporary:
            temporary.write_bytes(b"half writ")
            raise exception()
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_exception_before_first_write_creates_nothing(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "new.wav"):
            raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "mine.wav"
    target.write_bytes(b"user data")
    with pytest.raises(WaveNetError, match="--force") as error:
        with atomic_path(target):
            pytest.fail("the body must not run")
    assert str(target) in str(error.value)
    assert target.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.wav"]


def test_refuses_when_file_appears_during_write(tmp_path):
    target = tmp_path / "late.wav"
    with pytest.raises(WaveNetError, match="already exists"):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"ours")
            target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.wav"]


def test_force_overwrites(tmp_path):
    target = tmp_path / "snapshot.h5"
    target.write_bytes(b"old")
    with atomic_path(target, force=True) as temporary:
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_missing_folder_is_named(tmp_path):
    folder = tmp_path / "absent"
    with pytest.raises(WaveNetError, match="does not exist") as error:
        with atomic_path(folder / "out.wav"):
            pass
    assert str(folder) in str(error.value)


@pytest.mark.parametrize("force", [False, True])
def test_folder_as_target_is_refused(tmp_path, force):
    (tmp_path / "out.wav").mkdir()
    with pytest.raises(WaveNetError, match="is a folder"):
        with atomic_path(tmp_path / "out.wav", force=force):
            pass


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX permissions")
def test_unwritable_folder_is_named():
    def body(parent):
        folder = parent / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        try:
            with pytest.raises(WaveNetError, match="not writable") as error:
                with atomic_path(folder / "out.wav"):
                    pass
            assert str(folder) in str(error.value)
        finally:
            folder.chmod(0o700)

    run_unprivileged(body)


_KILLED_WRITER = """
import sys, time
import chainer_wavenet
from chainer_wavenet.files import atomic_path

with atomic_path(sys.argv[1], force=True) as temporary:
    with open(temporary, "wb") as handle:
        for _ in range(8):
            handle.write(b"n" * (1 << 20))
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_leaves_previous_file_intact(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"previous model")
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "writing"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert target.read_bytes() == b"previous model"
    leftovers = [p for p in tmp_path.iterdir() if p != target]
    assert [p.stat().st_size for p in leftovers] == [8 << 20]
    assert leftovers[0].name.startswith(".model.h5.tmp-")


def test_ensure_output_dir_creates_parents(tmp_path):
    folder = ensure_output_dir(tmp_path / "runs" / "first")
    assert folder.is_dir() and folder == tmp_path / "runs" / "first"
    assert ensure_output_dir(folder) == folder


def test_ensure_output_dir_names_a_file_in_the_way(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(WaveNetError) as error:
        ensure_output_dir(tmp_path / "runs")
    assert str(tmp_path / "runs") in str(error.value)
    with pytest.raises(WaveNetError) as error:
        ensure_output_dir(tmp_path / "runs" / "first")
    assert str(tmp_path / "runs" / "first") in str(error.value)
