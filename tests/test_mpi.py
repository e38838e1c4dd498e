"""Data-parallel training over MPI: real ``mpiexec`` runs of 2 ranks on the CPU."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import chainer
import mpi_worker
import numpy as np
import pytest
from chainer.dataset import concat_examples

from chainer_wavenet import snapshot
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.training.objective import Objective
from chainer_wavenet.training.parallel import SingleProcess, create_group

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs an MPI (mpiexec on PATH, e.g. Debian's openmpi-bin) and mpi4py")

# One BLAS thread per rank (2 ranks share 2 cores); Open MPI refuses to run as root, and more
# ranks than cores, unless told.
MPI_ENV = dict(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
BATCH = 2
STEPS = 4


def mpiexec(*programs, timeout=120):
    """``mpiexec -n 1 python PROGRAM : -n 1 python PROGRAM ...``, one rank per program.

    Each rank gets its own arguments, so a test can tell apart what each rank did. A run
    that outlives ``timeout`` (a hang) is killed with all its ranks, and the test fails.
    """
    command = [MPIEXEC]
    for number, program in enumerate(programs):
        command += [":"] * (number > 0) + ["-n", "1", sys.executable, *map(str, program)]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, **MPI_ENV), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"mpiexec hung for {timeout} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_worker(tmp, name, steps, *flags):
    """Train the worker's tiny WaveNet on 2 ranks up to ``steps``; each rank's dump."""
    dump = tmp / name
    dump.mkdir()
    program = ["tests/mpi_worker.py", "--out", tmp / "run", "--dump", dump, "--iteration",
               steps, "--interval", 2, "--batchsize", BATCH, "--lr-decay", 1,
               "--communicator", "naive", *flags]
    result = mpiexec(program, program)
    assert result.returncode == 0, result.stdout + result.stderr
    return [dict(np.load(dump / f"rank{rank}.npz")) for rank in range(2)]


def weights(dump):
    return {name: array for name, array in dump.items() if name != "indices"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Dumps of 4 steps in one go, and of 2 steps then resumed up to 4 (another --out)."""
    whole = run_worker(tmp_path_factory.mktemp("whole"), "dump", STEPS)
    halves = tmp_path_factory.mktemp("halves")
    first = run_worker(halves, "first", STEPS // 2)
    second = run_worker(halves, "second", STEPS, "--resume")
    return whole, first, second


def one_process(batches):
    """The worker's model after one step per batch of crop indices, in this process, with
    the runner's defaults (Adam at --lr 1e-3, --grad-clip 10)."""
    model = mpi_worker.build_model(seed=0)
    objective = Objective(model)
    optimizer = chainer.optimizers.Adam(alpha=1e-3)
    optimizer.setup(objective)
    optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(10.0))
    data = mpi_worker.crops()
    for batch in batches:
        optimizer.update(objective, *concat_examples([data[i] for i in batch]))
    return {name: param.array for name, param in model.namedparams()}


@needs_mpi
def test_ranks_end_with_the_weights_of_one_process_on_the_global_batch(runs):
    ranks = runs[0]
    for name, array in weights(ranks[0]).items():
        np.testing.assert_array_equal(array, ranks[1][name], err_msg=name)
    shares = [rank["indices"] for rank in ranks]
    assert [len(share) for share in shares] == [STEPS * BATCH] * 2
    assert not set(shares[0]) & set(shares[1])
    # The global batch of step t: rank 0's crops of that step, then rank 1's.
    batches = [np.concatenate([share[t * BATCH:(t + 1) * BATCH] for share in shares])
               for t in range(STEPS)]
    expected = one_process(batches)
    initial = one_process([])
    moved = max(np.abs(array - initial[name]).max() for name, array in expected.items())
    assert moved > 1e-3  # training moved the weights far beyond the tolerance below
    for name, array in weights(ranks[0]).items():
        np.testing.assert_allclose(array, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


@needs_mpi
def test_resumed_group_continues_exactly_as_an_uninterrupted_one(runs):
    whole, first, second = runs
    half = STEPS // 2 * BATCH
    for rank in range(2):
        np.testing.assert_array_equal(first[rank]["indices"], whole[rank]["indices"][:half])
        np.testing.assert_array_equal(second[rank]["indices"], whole[rank]["indices"][half:])
        for name, array in weights(whole[rank]).items():
            np.testing.assert_array_equal(second[rank][name], array, err_msg=name)


@needs_mpi
def test_train_script_writes_on_rank_0_only_and_resumes_the_group(make_wav, sine, tmp_path):
    for number in range(4):
        make_wav(f"data/{'ab'[number % 2]}/{number}.wav", sine(220.0 * (number + 1)))
    outs = [tmp_path / "rank0", tmp_path / "rank1"]

    def train(*flags, status=0):
        result = mpiexec(*[["train/wavenet.py", "--dataset", tmp_path / "data", "--out", out,
                            "--length", 64, "--batchsize", 2, "--interval", 1,
                            "--communicator", "naive", *flags] for out in outs])
        assert result.returncode == status, result.stdout + result.stderr
        return result

    first = train("--iteration", 2).stdout
    # What the run says of itself comes once, from rank 0.
    assert first.count(" validation files, ") == 1, first
    assert first.count("model written to") == 1, first
    assert sorted(os.listdir(outs[0])) == ["config.json", "log", "loss.png", "model.h5",
                                           "previews", "snapshot_iter_1.npz",
                                           "snapshot_iter_2.npz"]
    # Rank 0's refusal reaches every rank: all stop together, with no abort.
    refused = train("--iteration", 2, status=2).stderr
    assert refused.count("already holds a training run") == 2
    assert "stopping all" not in refused
    stdout = train("--iteration", 4, "--resume").stdout
    resumed = f"resumed from {outs[0] / 'snapshot_iter_2.npz'} at iteration 2"
    assert stdout.count(resumed) == 2  # both ranks, from rank 0's snapshot
    log = json.loads((outs[0] / "log").read_text())
    assert [entry["iteration"] for entry in log] == [1, 2, 3, 4]
    assert (outs[0] / "snapshot_iter_4.npz").exists()
    assert snapshot.load(outs[0] / "model.h5").metadata["processes"] == 2
    assert not outs[1].exists() or not os.listdir(outs[1])


@needs_mpi
def test_a_failure_on_one_rank_stops_every_rank(tmp_path):
    program = ["tests/mpi_worker.py", "--out", tmp_path / "run", "--dump", tmp_path,
               "--communicator", "naive"]
    result = mpiexec(program, program + ["--device", "@nowhere"])
    assert result.returncode == 2
    assert "error: --device @nowhere: cannot use this device" in result.stderr
    assert "rank 1 of 2 failed; stopping all" in result.stderr


def test_without_communicator_neither_chainermn_nor_mpi4py_is_needed(make_wav, tmp_path):
    make_wav("data/tone.wav")
    blocked = ("import importlib.abc, runpy, sys\n"
               "class Block(importlib.abc.MetaPathFinder):\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.partition('.')[0] in ('chainermn', 'mpi4py'):\n"
               "            raise ImportError('blocked ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "sys.argv = sys.argv[1:]\n"
               "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    env = {name: value for name, value in os.environ.items()
           if name not in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")}
    result = subprocess.run(
        [sys.executable, "-c", blocked, "train/wavenet.py", "--dataset", str(tmp_path / "data"),
         "--out", str(tmp_path / "out"), "--iteration", "1", "--length", "64",
         "--validation-fraction", "0"],
        cwd=ROOT, env=dict(env, OPENBLAS_NUM_THREADS="1"), capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "model.h5").exists()


def test_copies_started_by_mpiexec_without_communicator_refuse_to_train(monkeypatch):
    monkeypatch.delenv("PMI_SIZE", raising=False)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    with pytest.raises(WaveNetError, match="without --communicator"):
        create_group(None)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "1")
    assert isinstance(create_group(None), SingleProcess)


def test_single_process_raises_the_error_it_is_asked_to_agree_on():
    group = SingleProcess()
    assert group.agree("path") == "path"
    with pytest.raises(WaveNetError, match="already holds"):
        group.agree(WaveNetError("out: already holds a training run"))


@needs_mpi
def test_each_rank_takes_the_gpu_of_its_rank_whatever_id_the_flags_name(tmp_path):
    """--gpu K and --device @cupy:K both mean "on GPUs" under MPI: rank r on its machine
    gets GPU r; CPU flags pass through. Asked of a naive group of 2 real ranks."""
    program = tmp_path / "devices.py"
    program.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import chainer_wavenet  # noqa: F401  (sets chainer up)\n"
        "from chainer_wavenet.training.parallel import MPIGroup\n"
        "group = MPIGroup('naive')\n"
        "asked = [(0, None), (5, None), (-1, '@cupy:3'), (-1, None), (0, '@numpy')]\n"
        # One file per rank: MPI forwards the ranks' stdout interleaved.
        f"answer = open({str(tmp_path)!r} + f'/rank{{group.rank}}.json', 'w')\n"
        "answer.write(json.dumps([group.device(*flags) for flags in asked]))\n"
        "answer.close()\n")
    result = mpiexec([program], [program])
    assert result.returncode == 0, result.stderr
    answers = sorted(json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1))
    assert answers == [[[rank, None]] * 3 + [[-1, None], [0, "@numpy"]] for rank in (0, 1)]
