"""Faults of a long run: a disk that fills up, SIGTERM and SIGINT, a damaged newest snapshot,
temporary files of cut writes, a lost MPI rank. Each meets one clear answer and loses nothing.

Every run is a real process of a train or sample script, on the CPU with one BLAS thread. Full
disks are small tmpfs file systems mounted for the test (root only; skipped otherwise), filled
with a ballast file while the run is stopped (SIGSTOP) at a chosen moment; a file-size limit
(RLIMIT_FSIZE) stands in for them where no root is needed.
"""

import errno
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from model_fixtures import make_autoencoder, make_wavenet
from test_resume import (
    assert_same_arrays,
    trainer_state,
    wait_for,
    weights,
    without_times,
    write_nsynth,
    write_speaker_folder,
)

from chainer_wavenet import snapshot
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.sampling import synthesis

# End-to-end runs of the scripts: the NumPy 1.26 line leaves them out (see Makefile).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OPENBLAS_NUM_THREADS": "1"}
PAGE = 4096
HALF, TOTAL = 4, 8
SCHEDULE = ("--length", 64, "--batchsize", 2, "--iteration", TOTAL, "--interval", HALF,
            "--validation-crops", 4, "--keep-snapshots", 0, "--seed", 3,
            "--validation-fraction", 0.34)


def start(script, *args, **options):
    return subprocess.Popen([sys.executable, script, *map(str, args)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def train(dataset, out, *flags, **options):
    return start("train/wavenet.py", "--dataset", dataset, "--out", out, *SCHEDULE, *flags,
                 **options)


def one_line(result, status=2):
    """The one error line a failed command printed last on stderr (after any progress bar)."""
    assert result.returncode == status, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], result.stderr
    return lines[-1]


def contents(folder):
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_no_temporaries(folder):
    left = [path.name for path in folder.rglob("*") if path.name.startswith((".", "log"))
            and path.name != "log"]
    assert not left, left


def assert_ends_like(out, reference):
    """The run in ``out`` ended with the reference's trainer state, weights and log."""
    assert_same_arrays(trainer_state(reference / f"snapshot_iter_{TOTAL}.npz"),
                       trainer_state(out / f"snapshot_iter_{TOTAL}.npz"), str(out))
    assert_same_arrays(weights(reference / "model.h5")[0], weights(out / "model.h5")[0])
    assert without_times(json_log(out)) == without_times(json_log(reference))


def json_log(out):
    return json.loads((out / "log").read_text())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_speaker_folder(tmp_path_factory.mktemp("speakers"))


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    """A run from 0 to TOTAL, never stopped: its --out."""
    out = tmp_path_factory.mktemp("reference") / "run"
    result = finish(train(dataset, out))
    assert result.returncode == 0, result.stderr
    return out


# Small file systems


def free_bytes(folder):
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


@pytest.fixture
def small_disks(tmp_path):
    """Mounts 64 MB tmpfs file systems by name under tmp_path; unmounts them afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mounted = []

    def mount(name):
        disk = tmp_path / name
        disk.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk],
                                capture_output=True, text=True)
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(disk)
        return disk

    yield mount
    for disk in mounted:
        subprocess.run(["umount", "-l", disk], check=True)


@pytest.fixture
def small_disk(small_disks):
    return small_disks("disk")


def fill(disk, leave):
    """Write a ballast file on ``disk`` until at most ``leave`` bytes stay free."""
    with open(disk / "ballast", "ab", buffering=0) as ballast:
        while free_bytes(disk) > leave:
            try:
                ballast.write(bytes(min(free_bytes(disk) - leave, 1 << 20)))
            except OSError as error:
                assert error.errno == errno.ENOSPC
                break


def sizes(reference):
    """Bytes of each file a run writes at an interval, rounded up to whole pages."""
    def pages(name):
        return -(-(reference / name).stat().st_size // PAGE) * PAGE

    return dict(log=pages("log"), png=pages("loss.png"), model=pages("model.h5"),
                npz=pages(f"snapshot_iter_{HALF}.npz"))


# Which write fails: the moment the disk is filled (a file that has just appeared) and the
# space left then. At each interval the run writes log, loss.png, model.h5, then the snapshot.
FILLS = {
    f"snapshot_iter_{HALF}.npz": ("config.json",
                                  lambda s: s["log"] + 2 * s["png"] + s["model"] + s["npz"] // 2),
    "log": (f"snapshot_iter_{HALF}.npz", lambda s: 0),
    "loss.png": (f"snapshot_iter_{HALF}.npz", lambda s: 2 * PAGE),
    "model.h5": (f"snapshot_iter_{HALF}.npz", lambda s: 2 * s["png"] + s["model"] // 2),
    f"snapshot_iter_{TOTAL}.npz": (f"snapshot_iter_{HALF}.npz",
                                   lambda s: (s["model"] + s["npz"]) // 2),
}
RESUMED_AFTER = (f"snapshot_iter_{HALF}.npz", "model.h5", f"snapshot_iter_{TOTAL}.npz")
WRITTEN_BEFORE = {"log": (), "loss.png": ("log",), "model.h5": ("log", "loss.png"),
                  f"snapshot_iter_{TOTAL}.npz": ("log", "loss.png", "model.h5")}


def fill_at_moments(dataset, reference, disks, outs, targets):
    """Start one run per target, each filling its disk at its moment: what each run's folder
    held then, and how each run ended."""
    runs = {target: train(dataset, outs[target]) for target in targets}
    before = {}
    while len(before) < len(runs):
        for target, run in runs.items():
            moment, leave = FILLS[target]
            if target not in before and (outs[target] / moment).exists():
                run.send_signal(signal.SIGSTOP)
                before[target] = contents(outs[target])
                fill(disks[target], leave(sizes(reference)))
                run.send_signal(signal.SIGCONT)
            assert target in before or run.poll() is None, finish(run).stderr
        time.sleep(0.001)
    return before, {target: finish(run) for target, run in runs.items()}


def test_disk_full_at_each_write_of_training(dataset, reference, small_disks):
    """One line naming the file and the last snapshot, exit 2, older files byte-identical, no
    temporary left; after space is freed, --resume ends like a run never stopped. One run per
    write, at once, each on its own small disk filled at its moment. A run that got past its
    moment before it was stopped (a busy machine) is run again."""
    disks = {target: small_disks(f"disk{number}") for number, target in enumerate(FILLS)}
    outs = {target: disk / "run" for target, disk in disks.items()}
    before, results, missed = {}, {}, set(FILLS)
    for _ in range(3):
        found, ended = fill_at_moments(dataset, reference, disks, outs, missed)
        before.update(found)
        results.update(ended)
        missed = {target for target in missed if f"error: {outs[target] / target}: cannot "
                  f"write it" not in results[target].stderr}
        for target in missed:
            shutil.rmtree(outs[target])
            (disks[target] / "ballast").unlink()
        if not missed:
            break
    lines = {target: one_line(result) for target, result in results.items()}

    for target, line in lines.items():
        out = outs[target]
        first = target == f"snapshot_iter_{HALF}.npz"
        assert line.startswith(f"error: {out / target}: cannot write it (No space left on "
                               f"device); free space on its disk, or choose another --out. "
                               f"Training stopped at iteration {HALF if first else TOTAL}; "), line
        if first:
            assert line.endswith("no trainer snapshot was written yet: once the write can "
                                 "succeed, start again with --force")
        else:
            assert line.endswith(f"the last trainer snapshot is "
                                 f"{out / f'snapshot_iter_{HALF}.npz'}: once the write can "
                                 f"succeed, run the same command with --resume")
            after = contents(out)
            # A temporary caught in the middle of its write is no file of the user's.
            for name in set(before[target]) - set(WRITTEN_BEFORE[target]):
                if not name.startswith("."):
                    assert after[name] == before[target][name], name
            assert not (out / target).exists() or after[target] == before[target][target]
        assert_no_temporaries(out)
        (disks[target] / "ballast").unlink()

    # Resumed after the first and the last write of an interval (the others leave the same
    # state between them): the run goes on from step 0 or from HALF.
    again = {target: train(dataset, outs[target], "--force" if "--force" in lines[target]
                           else "--resume") for target in RESUMED_AFTER}
    for target, run in again.items():
        result = finish(run)
        assert result.returncode == 0, result.stderr
        assert_ends_like(outs[target], reference)


def test_disk_full_before_training_names_the_config_file(dataset, small_disk):
    fill(small_disk, 0)
    line = one_line(finish(train(dataset, small_disk / "run")))
    assert line == (f"error: {small_disk / 'run' / 'config.json'}: cannot write it (No space "
                    f"left on device); free space on its disk, or choose another --out")


def limit_file_size(size):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_file_size_limit_stops_training_with_one_line(dataset, reference, tmp_path):
    """A file larger than RLIMIT_FSIZE (ulimit -f) allows: no root needed."""
    limit = (sizes(reference)["model"] + sizes(reference)["npz"]) // 2
    out = tmp_path / "run"
    line = one_line(finish(train(dataset, out, preexec_fn=limit_file_size(limit))))
    assert line.startswith(f"error: {out / f'snapshot_iter_{HALF}.npz'}: cannot write it (File "
                           f"too large); the file outgrows the size this process may write "
                           f"(ulimit -f); raise that limit, or choose another --out. "), line
    assert_no_temporaries(out)


def test_disk_full_while_sampling_and_caching(dataset, reference, small_disk):
    """The WAV, then the PNG of a sample command; a class cache: one line each, no temporary."""
    sample = ("sample/wavenet.py", "--model", reference / "model.h5", "--length", 100,
              "--speaker", "alice", "--seed", 0, "--out", small_disk / "samples")
    fill(small_disk, 0)
    line = one_line(finish(start(*sample)))
    assert line.startswith(f"error: {small_disk / 'samples'}"), line
    assert "No space left on device" in line
    (small_disk / "ballast").unlink()
    (small_disk / "samples").mkdir(exist_ok=True)
    fill(small_disk, 2 * PAGE)
    line = one_line(finish(start(*sample)))
    assert line.startswith(f"error: {small_disk / 'samples'}/"), line
    assert ".png: cannot write it (No space left on device)" in line, line
    assert_no_temporaries(small_disk / "samples")

    (small_disk / "ballast").unlink()
    fill(small_disk, 0)
    line = one_line(finish(train(dataset, small_disk / "run", "--cache", small_disk / "cache")))
    assert f"{small_disk / 'cache'}" in line and "No space left on device" in line, line
    assert_no_temporaries(small_disk / "cache")


UNTRAINED_AUTOENCODER = """
import sys
import chainer_wavenet
from chainer_wavenet import snapshot
from chainer_wavenet.models.config import AUTOENCODER_PRESETS

snapshot.save(sys.argv[1], snapshot.build(AUTOENCODER_PRESETS["small"]), {"sample_rate": 16000})
"""


def test_disk_full_while_embeddings_are_written(small_disk, tmp_path):
    """sample/autoencoder.py encode: the HDF5 file of embeddings, built in memory, then
    written; one line, no temporary."""
    model = tmp_path / "autoencoder.h5"
    subprocess.run([sys.executable, "-c", UNTRAINED_AUTOENCODER, model], cwd=ROOT, env=ENV,
                   check=True)
    notes = write_nsynth(tmp_path / "nsynth")
    out = small_disk / "embeddings"
    out.mkdir()
    fill(small_disk, 0)
    line = one_line(finish(start("sample/autoencoder.py", "encode", "--model", model,
                                 "--dataset", notes, "--split", "valid", "--out", out)))
    assert line.startswith(f"error: {out}/") and ".h5: cannot write it (No space left on " \
        "device)" in line, line
    assert_no_temporaries(out)


# Signals


def stop_at_random(run, out, seed, number):
    """Send ``number`` to ``run`` at a random moment of its training."""
    wait_for(run, (out / "config.json").exists)
    time.sleep(random.Random(seed).uniform(0.0, 2.0))
    if run.poll() is None:
        run.send_signal(number)


@pytest.mark.parametrize("seeds", [(0, 1, 2)])
def test_signal_at_a_random_moment_resumes_bit_for_bit(seeds, dataset, reference, tmp_path):
    """SIGTERM (twice) and SIGINT: a snapshot of the step reached, said on stderr, exit
    128 + the signal; the resumed run ends like one never stopped."""
    numbers = (signal.SIGTERM, signal.SIGTERM, signal.SIGINT)
    outs = [tmp_path / f"run{seed}" for seed in seeds]
    runs = [train(dataset, out) for out in outs]
    for run, out, seed, number in zip(runs, outs, seeds, numbers, strict=True):
        stop_at_random(run, out, seed, number)
    resumed = {}
    for run, out, number in zip(runs, outs, numbers, strict=True):
        result = finish(run)
        if result.returncode in (0, -number) and "model written to" in result.stdout:
            continue  # ended before the signal, or the signal came as the interpreter exited
        assert result.returncode == 128 + number, result.stderr
        name = signal.Signals(number).name
        notice, stopped = result.stderr.strip().splitlines()[-2:]
        assert notice == (f"{name}: stopping after this step with a trainer snapshot (send it "
                          f"again to stop at once)")
        assert stopped.startswith(f"{name}: stopped at iteration "), stopped
        step = int(stopped.split("iteration ")[1].split(";")[0])
        assert stopped.endswith(f"wrote its trainer snapshot {out / f'snapshot_iter_{step}.npz'}"
                                f". Run the same command with --resume to continue")
        assert_no_temporaries(out)
        resumed[out] = step, train(dataset, out, "--resume")
    for out, (step, run) in resumed.items():
        result = finish(run)
        assert result.returncode == 0, result.stderr
        assert f"snapshot_iter_{step}.npz at iteration {step}" in result.stdout
        assert_ends_like(out, reference)



def test_a_signal_between_intervals_writes_the_snapshot_it_names(dataset, tmp_path):
    """SIGTERM at steps that are no interval's (the interval lies beyond the steps a run
    reaches here): the stop writes the snapshot it names, and --resume starts from its step;
    a second stop after the resume does the same."""
    out = tmp_path / "run"
    flags = ("--iteration", 10 ** 6, "--interval", 10 ** 6)
    stops = []
    for attempt, ready in enumerate((lambda: (out / "config.json").exists(),
                                     lambda: "resumed from" in (tmp_path / "stdout").read_text())):
        with open(tmp_path / "stdout", "w+") as stdout:
            run = subprocess.Popen(
                [sys.executable, "train/wavenet.py", "--dataset", dataset, "--out", out,
                 *map(str, SCHEDULE + flags + ("--resume",) * attempt)], cwd=ROOT,
                env=ENV | {"PYTHONUNBUFFERED": "1"}, stdout=stdout, stderr=subprocess.PIPE,
                text=True)
            wait_for(run, ready)
            run.send_signal(signal.SIGTERM)
            stderr = run.communicate(timeout=300)[1]
            printed = stdout.seek(0) or stdout.read()
        assert run.returncode == 128 + signal.SIGTERM, stderr
        stopped = stderr.strip().splitlines()[-1]
        step = int(stopped.split("stopped at iteration ")[1].split(";")[0])
        named = out / f"snapshot_iter_{step}.npz"
        assert f"wrote its trainer snapshot {named}." in stopped
        assert named.is_file() and trainer_state(named)["updater/iteration"] == step
        if stops:
            assert f"resumed from {stops[-1][0]} at iteration {stops[-1][1]}" in printed
            assert step > stops[-1][1]
        stops.append((named, step))
    assert_no_temporaries(out)


def test_a_second_signal_stops_at_once(tmp_path):
    """A second SIGTERM, sent once the first is acknowledged, lands within the step (steps of
    long crops here) and ends the run there."""
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    write_wav(tmp_path / "data" / "a.wav", 0.3 * rng.standard_normal(40000), 16000)
    out = tmp_path / "run"
    with open(tmp_path / "stderr", "w+") as stderr:
        run = subprocess.Popen([sys.executable, "train/wavenet.py", "--dataset",
                                tmp_path / "data", "--out", out, "--validation-fraction", "0",
                                "--length", "16384", "--batchsize", "2", "--interval", "1"],
                               cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=stderr)
        wait_for(run, (out / "snapshot_iter_1.npz").exists)
        time.sleep(0.2)  # into the second step
        run.send_signal(signal.SIGTERM)
        wait_for(run, lambda: "SIGTERM: stopping" in (tmp_path / "stderr").read_text())
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
    assert (tmp_path / "stderr").read_text().strip().endswith(
        "SIGTERM again: stopped at once, without a snapshot of this step")
    assert_no_temporaries(out)


PROGRESS = re.compile(r"generating: .*?\| *(\d+)/(\d+)")


def progress_bars(text):
    """Each "generating" bar's newest (done, total), in the order the bars began."""
    bars = []
    for line in re.split(r"[\r\n]", text):
        match = PROGRESS.search(line)
        if match:
            done, total = map(int, match.groups())
            if not bars or bars[-1][0] == bars[-1][1] or done < bars[-1][0]:
                bars.append((done, total))  # a new bar: the last one finished or restarted
            else:
                bars[-1] = (done, total)
    return bars


def interrupt_sampling(script, args, tmp_path, ready):
    """Run sample/<script>.py, send it SIGINT once ``ready(bars)`` holds for its progress
    bars, and return what it printed and the bars seen then."""
    with open(tmp_path / "stderr", "w+") as stderr:
        # SIGINT's default restored: a suite started in the background (`make test &`)
        # hands its children SIGINT ignored, and Python then raises no KeyboardInterrupt.
        run = subprocess.Popen([sys.executable, f"sample/{script}.py", *map(str, args)],
                               cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=stderr,
                               text=True, preexec_fn=lambda: signal.signal(
                                   signal.SIGINT, signal.SIG_DFL))
        wait_for(run, lambda: ready(progress_bars((tmp_path / "stderr").read_text())),
                 poll=0.01)
        seen = progress_bars((tmp_path / "stderr").read_text())
        run.send_signal(signal.SIGINT)
        stdout = run.communicate(timeout=120)[0]
        printed = stderr.seek(0) or stderr.read()
    assert run.returncode == 130, printed
    assert printed.strip().splitlines()[-1] == "interrupted" and "Traceback" not in printed
    return stdout, seen


def test_ctrl_c_while_sampling_writes_what_was_generated(tmp_path):
    """sample/wavenet.py: SIGINT during generation writes each file's samples made so far as
    sample_<n>_partial (what the same seed generates first, WAV + PNG), says so, exits 130."""
    model = tmp_path / "wavenet.h5"
    snapshot.save(model, make_wavenet(seed=1), {"sample_rate": 16000})
    out = tmp_path / "samples"
    stdout, seen = interrupt_sampling(
        "wavenet", ("--model", model, "--out", out, "--seconds", 600, "--batch", 2, "--seed",
                    4), tmp_path, lambda bars: bars and bars[0][0] > 0)
    assert sorted(path.name for path in out.iterdir()) == [
        "sample_000_partial.png", "sample_000_partial.wav", "sample_001_partial.png",
        "sample_001_partial.wav"]
    takes = [read_wav(out / f"sample_00{i}_partial.wav") for i in range(2)]
    made = len(takes[0])
    assert len(takes[1]) == made and seen[0][0] <= made < seen[0][1]
    for i in range(2):
        assert (f"wrote {out / f'sample_00{i}_partial.wav'} ({made} samples, "
                f"{made / 16000:.2f} s at 16000 Hz, cut short by the interrupt) and its PNG"
                in stdout)
    expected = synthesis.sample_audio(snapshot.load(model), made, 2, seed=4, progress=False)
    np.testing.assert_allclose(np.stack(takes), expected, rtol=0, atol=1.01 / 32768)


def test_ctrl_c_while_decoding_writes_the_notes_done_and_the_one_cut_short(tmp_path):
    """sample/autoencoder.py reconstruct and decode: SIGINT during the second of three notes
    writes the first whole, the second as <stem>_partial, nothing of the third; exit 130."""
    model = tmp_path / "autoencoder.h5"
    snapshot.save(model, make_autoencoder(seed=3, encoder_settings=dict(hop=16)),
                  {"sample_rate": 16000})
    t = np.arange(4 * 16000) / 16000
    notes = []
    for name, hz in (("a", 262.0), ("b", 330.0), ("c", 392.0)):
        notes.append(tmp_path / f"{name}.wav")
        write_wav(notes[-1], 0.5 * np.sin(2 * np.pi * hz * t), 16000)

    def second_started(bars):
        return len(bars) == 2 and 0 < bars[1][0] < bars[1][1]

    encoded = tmp_path / "z"
    encode = finish(start("sample/autoencoder.py", "encode", "--model", model, *notes,
                          "--pitch", 60, "--out", encoded))
    assert encode.returncode == 0, encode.stderr
    for command, stems in (("reconstruct", [f"{n.stem}_reconstruction" for n in notes]),
                           ("decode", [f"{n.stem}_decoded" for n in notes])):
        out = tmp_path / command
        inputs = (notes if command == "reconstruct"
                  else ["--z", encoded / "embeddings.h5"])
        stdout, seen = interrupt_sampling(
            "autoencoder", (command, "--model", model, *inputs, "--pitch", 60, "--out", out,
                            "--seed", 0), tmp_path, second_started)
        assert sorted(path.name for path in out.iterdir()) == sorted(
            f"{stem}{suffix}" for stem in (stems[0], f"{stems[1]}_partial")
            for suffix in (".png", ".wav"))
        assert len(read_wav(out / f"{stems[0]}.wav")) == len(t)
        cut = len(read_wav(out / f"{stems[1]}_partial.wav"))
        assert seen[1][0] < cut < len(t)
        assert f"{out / stems[0]}.wav ({len(t)} samples, 4.00 s at 16000 Hz) and" in stdout
        assert f"{stems[1]}_partial.wav ({cut} samples" in stdout
        assert "cut short by the interrupt" in stdout


# Damaged snapshots and leftovers


def other_config_snapshot(tmp_path):
    """A trainer snapshot of another model (the MPI worker's tiny WaveNet)."""
    result = finish(start("tests/mpi_worker.py", "--out", tmp_path / "other", "--dump", tmp_path,
                          "--iteration", 1, "--interval", 1))
    assert result.returncode == 0, result.stderr
    return (tmp_path / "other" / "snapshot_iter_1.npz").read_bytes()


def damage(path, kind, tmp_path):
    data = path.read_bytes()
    stat = path.stat()
    path.write_bytes({"truncated": lambda: data[:len(data) // 2],
                      "zeroed": lambda: bytes(len(data)),
                      "other-config": lambda: other_config_snapshot(tmp_path)}[kind]())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # still the newest


@pytest.mark.parametrize("kind", ["truncated", "zeroed", "other-config"])
def test_damaged_newest_snapshot(kind, dataset, reference, tmp_path):
    """--resume alone says so and goes on from the newest good one; an explicit path to the
    damaged one is refused in one line."""
    out = shutil.copytree(reference, tmp_path / "run")
    newest = out / f"snapshot_iter_{TOTAL}.npz"
    damage(newest, kind, tmp_path)
    kept = newest.read_bytes()
    refused = one_line(finish(train(dataset, out, "--resume", newest)))
    assert refused.startswith(f"error: --resume {newest}: cannot load this trainer snapshot ("), \
        refused
    assert refused.endswith("it is damaged or of another run. Pass another snapshot, or "
                            "--resume alone for the newest good one in --out")

    resumed = finish(train(dataset, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    good = out / f"snapshot_iter_{HALF}.npz"
    assert (f"--resume: skipped the newer trainer snapshot(s) that do not load, damaged or of "
            f"another run: {newest} (") in resumed.stdout
    assert f"resumed from {good} at iteration {HALF}" in resumed.stdout
    assert_ends_like(out, reference)
    assert newest.read_bytes() != kept  # rewritten whole by the resumed run


def test_no_snapshot_loads(dataset, reference, tmp_path):
    out = shutil.copytree(reference, tmp_path / "run")
    for path in out.glob("snapshot_iter_*.npz"):
        damage(path, "zeroed", tmp_path)
    line = one_line(finish(train(dataset, out, "--resume")))
    assert line.startswith(f"error: --resume: no trainer snapshot in {out} loads, each damaged "
                           f"or of another run: "), line
    assert line.endswith("Give a good one's path, or start again with --force")


def test_temporaries_of_cut_writes_are_removed_at_start(dataset, reference, tmp_path):
    """Only names of the project's own temporary files; the user's look-alikes stay."""
    out = shutil.copytree(reference, tmp_path / "run")
    ours = [".model.h5.tmp-0123456789ab.h5", f".snapshot_iter_{TOTAL}.npz.tmp-abcdef012345.npz",
            ".log.tmp-00000000aaaa"]
    theirs = [".model.h5.tmp-0123.h5", ".model.h5.tmp-0123456789ab.npz", "notes.tmp",
              "model.h5.tmp-0123456789ab.h5"]
    for name in ours + theirs:
        (out / name).write_bytes(b"half")
    resumed = finish(train(dataset, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert (f"{out}: removed 3 temporary file(s) left by a write cut short: "
            f"{', '.join(sorted(ours))}") in resumed.stdout
    assert sorted(name for name in os.listdir(out) if "tmp" in name) == sorted(theirs)


# MPI

MPI_ENV = dict(OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def mpi_group(out, dump, *flags):
    dump.mkdir(exist_ok=True)
    return subprocess.Popen(
        ["mpiexec", "-n", "2", sys.executable, "tests/mpi_worker.py", *map(str, (
            "--out", out, "--dump", dump, "--interval", 20, "--communicator", "naive", *flags))],
        cwd=ROOT, env=ENV | MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def rank_process(launcher, rank):
    """The pid of the process of ``rank`` that ``launcher`` (mpiexec) started."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                environment = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            except (OSError, IndexError):
                continue
            if parent == launcher.pid and f"OMPI_COMM_WORLD_RANK={rank}".encode() in environment:
                return int(entry)
    raise AssertionError(f"no process of rank {rank}")


def mpi_available():
    return shutil.which("mpiexec") is not None and importlib.util.find_spec("mpi4py") is not None


def stopped_job(job, out, stop):
    """Wait for the first snapshot of ``job`` past those in ``out`` now, ``stop(job)`` it, and
    return what it printed; it must end within 30 s."""
    known = set(out.glob("snapshot_iter_*.npz"))
    wait_for(job, lambda: set(out.glob("snapshot_iter_*.npz")) - known)
    stop(job)
    began = time.monotonic()
    result = finish(job, timeout=60)
    assert time.monotonic() - began < 30
    assert result.returncode != 0
    return result


def newest_snapshot(out):
    newest = max(out.glob("snapshot_iter_*.npz"), key=lambda path: path.stat().st_mtime_ns)
    return newest, int(newest.stem.split("_")[-1])


@pytest.mark.skipif(not mpi_available(), reason="needs an MPI and mpi4py")
def test_mpi_job_meets_a_signal_and_a_lost_rank(tmp_path):
    """SIGTERM to mpiexec stops every rank at one step with one snapshot, from rank 0; the
    group resumes; a killed rank then ends the whole job within seconds, naming the rank; the
    group resumes from the newest snapshot."""
    out, dump = tmp_path / "run", tmp_path / "dump"
    result = stopped_job(mpi_group(out, dump, "--iteration", 100000), out,
                         lambda job: job.send_signal(signal.SIGTERM))
    stopped = [line for line in result.stderr.splitlines() if "stopped at iteration" in line]
    assert len(stopped) == 1, result.stderr
    newest, step = newest_snapshot(out)
    assert f"wrote its trainer snapshot {newest}" in stopped[0]

    result = stopped_job(mpi_group(out, dump, "--iteration", 100000, "--resume"), out,
                         lambda job: os.kill(rank_process(job, 1), signal.SIGKILL))
    assert f"resumed from {newest} at iteration {step}" in result.stdout
    assert "process rank 1" in result.stderr and "exited on signal 9" in result.stderr

    newest, step = newest_snapshot(out)
    resumed = finish(mpi_group(out, dump, "--iteration", step + 2, "--resume"), timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {newest} at iteration {step}" in resumed.stdout
