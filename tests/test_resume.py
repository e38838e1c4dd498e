"""Nothing lost: a run killed with SIGKILL resumes exactly, and a kill mid-write spares old files.

Every run here is a process of its own (a train script, or a script that writes snapshots), on
the CPU, with one BLAS thread.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from chainer_wavenet import snapshot
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.models.config import WaveNetConfig, config_to_json, dilation_stacks
from chainer_wavenet.models.wavenet import WaveNet

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OPENBLAS_NUM_THREADS": "1"}
RATE = 16000
HALF, TOTAL = 8, 16  # killed after the snapshot at HALF, resumed to TOTAL

# Five training crops in batches of 2: epochs end within the batches of iterations 3, 8 and
# 13, and with those of 5, 10 and 15; the step size decays at 8 and 12. Both halves cross
# both kinds of point.
LR = 2e-3
SCHEDULE = ("--length", 64, "--batchsize", 2, "--iteration", TOTAL, "--interval", 4,
            "--validation-crops", 4, "--keep-snapshots", 0, "--seed", 3, "--lr", LR)


def step_sizes(log):
    """Adam's step size (alpha) at each log entry, as the log reports it."""
    return [entry["lr"] for entry in log]


def command(script, *args):
    return [sys.executable, f"train/{script}.py", *map(str, args)]


def start(script, *args):
    return subprocess.Popen(command(script, *args), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def train(script, *args):
    result = subprocess.run(command(script, *args), cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def finish(process):
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return stdout


def wait_for(process, ready, poll=0.001, timeout=300):
    """Return as soon as ``ready()`` holds; fail if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"ended first: {process.communicate()[1]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)


def kill_when(process, ready):
    """SIGKILL ``process`` the moment ``ready()`` holds."""
    wait_for(process, ready)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


@pytest.fixture
def random_delay(request):
    """Random delays in [0, longest) s for kills at random moments, replayable: the seed is
    printed (pytest shows it with a failure), and KILL_SEED=<seed> replays its delays."""
    seed = int(os.environ.get("KILL_SEED", secrets.randbits(32)))
    print(f"KILL_SEED={seed}")
    rng = np.random.default_rng([seed, zlib.crc32(request.node.nodeid.encode())])

    def draw(longest):
        delay = float(rng.uniform(0.0, longest))
        print(f"random delay: {delay:.3f} s")
        return delay

    return draw


def kill_at_random(process, first_snapshot, delay, number=signal.SIGKILL):
    """Send ``number`` (SIGKILL) to ``process`` ``delay`` s after ``first_snapshot`` appears (a
    snapshot, model file, log or plot may be half written), unless it ends first. SIGTERM
    ends a run after a snapshot of its step, with status 128 + 15 (once training is over, it
    ends the process as by default)."""
    wait_for(process, first_snapshot.exists)
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, number)
    process.communicate()
    assert process.returncode in (0, -number, 128 + number)


def tone(rng, samples, frequency):
    t = np.arange(samples) / RATE
    return 0.4 * np.sin(2 * np.pi * frequency * t) + 0.05 * rng.standard_normal(samples)


def write_speaker_folder(root):
    """Two speakers; bob/c.wav is held out (seed 3), leaving 3 + 2 training crops of 64."""
    rng = np.random.default_rng(0)
    for name, samples, frequency in (("alice/a", 703, 220), ("bob/b", 639, 330),
                                     ("bob/c", 703, 440)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_wav(root / f"{name}.wav", tone(rng, samples, frequency), RATE)
    return root


def write_nsynth(root):
    """NSynth layout: two training notes (3 + 2 crops of 768 samples) and one validation note."""
    rng = np.random.default_rng(1)
    for split, notes in (("train", (("keyboard_acoustic_000-060-100", 60, 1200),
                                    ("string_acoustic_001-067-100", 67, 1000))),
                         ("valid", (("keyboard_acoustic_000-064-100", 64, 1200),))):
        folder = root / f"nsynth-{split}"
        (folder / "audio").mkdir(parents=True)
        examples = {}
        for name, pitch, samples in notes:
            write_wav(folder / "audio" / f"{name}.wav",
                      tone(rng, samples, 440 * 2 ** ((pitch - 69) / 12)), RATE)
            family = 4 if name.startswith("keyboard") else 8
            examples[name] = dict(pitch=pitch, velocity=100, instrument=family,
                                  instrument_str=name.split("-")[0], instrument_family=family,
                                  instrument_source=0)
        (folder / "examples.json").write_text(json.dumps(examples))
    return root


@pytest.fixture(scope="module")
def speaker_folder(tmp_path_factory):
    return write_speaker_folder(tmp_path_factory.mktemp("speakers"))


@pytest.fixture(scope="module")
def nsynth_root(tmp_path_factory):
    return write_nsynth(tmp_path_factory.mktemp("nsynth"))


def model_flags(model, request):
    if model == "wavenet":
        return ("--dataset", request.getfixturevalue("speaker_folder"),
                "--validation-fraction", 0.34)
    return "--dataset", request.getfixturevalue("nsynth_root"), "--preview-notes", 0


def weights(path):
    """Every dataset of an HDF5 model snapshot, and its attributes."""
    arrays = {}

    def keep(name, item):
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, "r") as f:
        f.visititems(keep)
        return arrays, dict(f.attrs)


def without_times(log):
    return [{k: v for k, v in entry.items() if k != "elapsed_time"} for entry in log]


# Not training state: wall-clock time, and the steps whose snapshots the run keeps (a stopped
# run also keeps the snapshot of the step it stopped at).
NOT_STATE = ("_snapshot_elapsed_time", "extensions/TrainerSnapshot/written")


def trainer_state(path):
    """A trainer snapshot's arrays, those that are no training state taken out."""
    with np.load(path) as npz:
        state = {key: npz[key] for key in npz.files if key not in NOT_STATE}
    state["extensions/LogReport/_log"] = without_times(
        json.loads(str(state["extensions/LogReport/_log"])))
    return state


def file_versions(folder):
    """Each trainer snapshot in ``folder``: its inode, modification time and bytes (a file
    written again gets a new inode, since every write renames a new file into place)."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
            for path in folder.glob("snapshot_iter_*.npz")}


def resumed_at(stdout):
    """The iteration a resumed run says it started at."""
    return int(re.search(r"resumed from \S+ at iteration (\d+)", stdout)[1])


def assert_same_arrays(left, right, what=""):
    assert sorted(left) == sorted(right)
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=f"{what} {key}", strict=True)


@pytest.mark.parametrize("model, extra", [("wavenet", ()), ("autoencoder", ()),
                                           ("wavenet", ("--ema", 0.9)),
                                           ("autoencoder", ("--input-noise", 2))])
def test_killed_runs_resume_bit_for_bit(model, extra, request, tmp_path, random_delay):
    """A straight run to TOTAL against runs killed right after the snapshot at HALF, after
    the one past the last step-size decay, or at a random moment (SIGKILL, and SIGTERM which
    snapshots the step reached), then resumed to TOTAL from where they stopped (they leave the
    snapshots written before the kill untouched). With --ema, the moving average too; with
    --input-noise, the noise of every step."""
    flags = (*model_flags(model, request), *SCHEDULE, *extra)
    outs = {name: tmp_path / name
            for name in ("straight", "half", "past_decay", "random", "sigterm")}
    runs = {name: start(model, "--out", out, *flags) for name, out in outs.items()}
    kill_when(runs["half"], (outs["half"] / f"snapshot_iter_{HALF}.npz").exists)
    kill_when(runs["past_decay"], (outs["past_decay"] / "snapshot_iter_12.npz").exists)
    kill_at_random(runs["random"], outs["random"] / "snapshot_iter_4.npz", random_delay(0.5))
    kill_at_random(runs["sigterm"], outs["sigterm"] / "snapshot_iter_4.npz", random_delay(1.0),
                   signal.SIGTERM)
    killed = ("half", "past_decay", "random", "sigterm")
    before_resume = {name: file_versions(outs[name]) for name in killed}
    resumed = {name: start(model, "--out", outs[name], *flags, "--resume") for name in killed}
    printed = {name: finish(process) for name, process in resumed.items()}
    assert f"snapshot_iter_{HALF}.npz at iteration {HALF}" in printed["half"]
    # Killed once snapshot 12 exists; on a busy machine the run may reach 16 before the
    # kill lands, and then resumes there (the loop below checks it resumed from its newest).
    assert resumed_at(printed["past_decay"]) >= 12
    assert "resumed from" in printed["random"] and "resumed from" in printed["sigterm"]
    for name in killed:
        kept = before_resume[name]
        assert max(int(n[len("snapshot_iter_"):-len(".npz")]) for n in kept) == resumed_at(
            printed[name]), name
        after = file_versions(outs[name])
        assert {n: after[n] for n in kept} == kept, f"{name}: rewrote a snapshot it resumed past"
    assert "5 training" in finish(runs["straight"])  # the crop count SCHEDULE relies on

    straight = outs["straight"]
    halfway = trainer_state(straight / f"snapshot_iter_{HALF}.npz")
    final = trainer_state(straight / f"snapshot_iter_{TOTAL}.npz")
    assert halfway["updater/iterator:main/epoch"] == 3
    assert final["updater/iterator:main/epoch"] == 6
    straight_weights, straight_attrs = weights(straight / "model.h5")
    averaged = [key for key in final if "ExponentialMovingAverage/average/" in key]
    assert bool(averaged) == ("--ema" in extra)
    assert any(key.startswith("raw_weights/") for key in straight_weights) == ("--ema" in extra)
    noise_calls = [final[key] for key in final if key.endswith("loss_state/calls")]
    assert noise_calls == ([TOTAL] if "--input-noise" in extra else [])
    straight_log = without_times(json.loads((straight / "log").read_text()))
    assert [entry["iteration"] for entry in straight_log] == [4, 8, 12, 16]
    assert step_sizes(straight_log) == pytest.approx([LR, LR / 2, LR / 4, LR / 4])
    for name in killed:
        assert_same_arrays(final, trainer_state(outs[name] / f"snapshot_iter_{TOTAL}.npz"), name)
        resumed_weights, resumed_attrs = weights(outs[name] / "model.h5")
        assert_same_arrays(straight_weights, resumed_weights)
        assert resumed_attrs == straight_attrs
        assert without_times(json.loads((outs[name] / "log").read_text())) == straight_log


def test_a_new_run_keeps_the_snapshots_it_did_not_write(speaker_folder, tmp_path):
    """Starting over needs --force, spares the old run's snapshots, and --resume then takes
    the new run's last snapshot although the old ones have higher numbers."""
    out = tmp_path / "run"
    common = ("--dataset", speaker_folder, "--out", out, "--validation-fraction", 0.34,
              "--length", 64, "--batchsize", 2, "--validation-crops", 4)
    train("wavenet", *common, "--iteration", 12, "--interval", 4, "--keep-snapshots", 0)
    old_run = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    assert {"snapshot_iter_4.npz", "snapshot_iter_8.npz", "snapshot_iter_12.npz"} < set(old_run)

    new_run = ("--iteration", 6, "--interval", 3, "--keep-snapshots", 1)
    refused = subprocess.run(command("wavenet", *common, *new_run), cwd=ROOT, env=ENV,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: {out}: already holds a training run")
    assert "--force" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == old_run

    train("wavenet", *common, *new_run, "--force")  # writes 3 and 6, then removes its own 3
    snapshots = sorted(path.name for path in out.glob("snapshot_iter_*"))
    assert snapshots == [f"snapshot_iter_{n}.npz" for n in (12, 4, 6, 8)]
    for name in ("snapshot_iter_4.npz", "snapshot_iter_8.npz", "snapshot_iter_12.npz"):
        assert (out / name).read_bytes() == old_run[name]
    resumed = train("wavenet", *common, *new_run, "--resume")
    assert f"resumed from {out / 'snapshot_iter_6.npz'} at iteration 6" in resumed.stdout



def test_keep_snapshots_counts_the_snapshots_of_the_runs_resumed(speaker_folder, tmp_path):
    """--keep-snapshots holds across resumes: a resumed run removes the oldest snapshots of
    the runs before it beyond N, and never the one it resumed from until it wrote a newer."""
    out = tmp_path / "run"
    common = ("--dataset", speaker_folder, "--out", out, "--validation-fraction", 0.34,
              "--length", 64, "--batchsize", 2, "--validation-crops", 4, "--interval", 1)

    def kept():
        return sorted(int(path.stem.split("_")[-1]) for path in out.glob("snapshot_iter_*"))

    train("wavenet", *common, "--iteration", 4, "--keep-snapshots", 3)
    assert kept() == [2, 3, 4]
    train("wavenet", *common, "--iteration", 4, "--keep-snapshots", 1, "--resume")
    assert kept() == [2, 3, 4]  # wrote none: the one it resumed from stays, and the others
    train("wavenet", *common, "--iteration", 6, "--keep-snapshots", 3, "--resume")
    assert kept() == [4, 5, 6]
    train("wavenet", *common, "--iteration", 7, "--keep-snapshots", 1, "--resume")
    assert kept() == [7]


# Writes a 4M-parameter WaveNet (about 15 MB, half a second) as model.h5 or as a trainer
# snapshot, over and over; each write holds the initial weights plus the number of writes before.
WRITER = """
import sys
import chainer_wavenet
import chainer
import numpy as np
from chainer_wavenet import snapshot
from chainer_wavenet.models.config import config_to_json, dilation_stacks, WaveNetConfig
from chainer_wavenet.training.extensions.snapshots import TrainerSnapshot
from chainer_wavenet.training.objective import Objective
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.models.config import config_from_json

kind, out, config = sys.argv[1:]
np.random.seed(0)
model = WaveNet(config_from_json(config))
if kind == "model":
    def write():
        snapshot.save(f"{out}/model.h5", model, force=True)
else:
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(Objective(model))
    updater = chainer.training.StandardUpdater(chainer.iterators.SerialIterator([0], 1), optimizer)
    trainer = chainer.training.Trainer(updater, lambda trainer: True, out=out)
    trainer.run()  # no step: only starts the clock that a trainer snapshot records
    write = lambda: TrainerSnapshot(model)(trainer)
while True:
    write()
    for param in model.params():
        param.array += 1
"""
BIG = WaveNetConfig(residual_channels=256, dilation_channels=256, skip_channels=256,
                    dilations=dilation_stacks(1, 10))


def size_of_temporary(folder, name):
    """Bytes written so far to the temporary file of ``name``, or -1 when there is none."""
    for temporary in folder.glob(f".{name}.tmp-*"):
        try:
            return temporary.stat().st_size
        except FileNotFoundError:  # renamed into place meanwhile
            pass
    return -1


def written_weights(kind, path):
    """The parameters stored in a model file or trainer snapshot, by name."""
    if kind == "model":
        return {key: param.array for key, param in snapshot.load(path).namedparams()}
    prefix = "updater/model:main/model"
    with np.load(path) as npz:  # reads every member and checks its CRC
        return {key[len(prefix):]: npz[key] for key in npz.files if key.startswith(prefix)}


@pytest.mark.parametrize("kind, name", [("model", "model.h5"), ("trainer", "snapshot_iter_0.npz")])
def test_kill_in_the_middle_of_a_large_write_keeps_a_complete_file(kind, name, tmp_path,
                                                                   random_delay):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, kind, tmp_path, config_to_json(BIG)],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    path = tmp_path / name
    wait_for(writer, path.exists)
    # The writer is nearly always inside a write; kill it at a random moment in one, once
    # its temporary file holds some bytes. (HDF5 writes much of a file when it closes it,
    # so waiting for a given size would race with the rename.)
    time.sleep(random_delay(1.0))
    kill_when(writer, lambda: size_of_temporary(tmp_path, name) > 0)

    assert len(list(tmp_path.glob(f".{name}.tmp-*"))) <= 1  # a cut write keeps its own name
    np.random.seed(0)
    initial = dict(WaveNet(BIG).namedparams())
    stored = written_weights(kind, path)
    assert sorted(stored) == sorted(initial)
    shifts = [np.asarray(stored[key]) - initial[key].array for key in sorted(stored)]
    writes_before = round(float(shifts[0].flat[0]))  # one complete version: the same for all
    assert writes_before >= 0
    for shift in shifts:
        np.testing.assert_allclose(shift, writes_before, atol=1e-3)


def test_a_run_started_from_a_model_continues_from_its_weights(speaker_folder, tmp_path):
    """--init MODEL starts a new run (a fresh optimizer and schedule) from MODEL's weights:
    after one near-zero step the new run's weights and validation loss are the old model's;
    a model of another config is refused with its path, before anything is written."""
    common = ("--dataset", speaker_folder, "--validation-fraction", 0.34, "--length", 64,
              "--batchsize", 2, "--validation-crops", 4, "--interval", 1)
    first, further = tmp_path / "first", tmp_path / "further"
    train("wavenet", *common, "--out", first, "--iteration", 4)
    train("wavenet", *common, "--out", further, "--iteration", 1, "--lr", 1e-12,
          "--init", first / "model.h5")
    old, new = (snapshot.load(path / "model.h5") for path in (first, further))
    for (name, a), (_, b) in zip(sorted(old.namedparams()), sorted(new.namedparams()),
                                 strict=True):
        np.testing.assert_allclose(b.array, a.array, atol=1e-9, err_msg=name)
    assert new.metadata["initialized_from"] == str(first / "model.h5")
    validation = [json.loads((path / "log").read_text())[-1]["validation/main/loss"]
                  for path in (first, further)]
    assert validation[1] == pytest.approx(validation[0], rel=1e-5)

    other = tmp_path / "other.h5"
    snapshot.save(other, WaveNet(WaveNetConfig(residual_channels=4, dilation_channels=4,
                                               skip_channels=4, dilations=(1, 2))))
    refused = subprocess.run(command("wavenet", *common, "--out", tmp_path / "refused",
                                     "--iteration", 1, "--init", other),
                             cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: {other}: snapshot is of another model config")
    assert not (tmp_path / "refused").exists()
