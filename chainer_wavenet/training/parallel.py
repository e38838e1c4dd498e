"""Data-parallel training with ChainerMN over MPI, and the single-process case alike.

Under ``mpiexec -n N`` with ``--communicator``, each rank trains on its own
share of the crops, gradients are averaged over all ranks every step, and
only rank 0 writes logs, plots and snapshots. Without a communicator the
same calls do what a single process needs, and neither ChainerMN nor mpi4py
is imported.
"""

import contextlib
import os
import sys
import traceback

import chainer
import numpy as np
from chainer.training import extension

from chainer_wavenet.errors import WaveNetError

# The communicators ChainerMN 7.8.1 offers. naive hands MPI the gradients where they lie, raw
# device pointers on a GPU, which only a CUDA-aware MPI can read; the others need CuPy and a
# GPU per process.
COMMUNICATORS = ("naive", "flat", "non_cuda_aware", "pure_nccl")
CPU_COMMUNICATORS = ("naive",)
GPU_COMMUNICATORS = ("pure_nccl", "flat", "non_cuda_aware")

# Set by the launchers of Open MPI and of MPICH-like MPIs (Hydra, Slurm's PMI) in every process.
_LAUNCHER_SIZES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_LAUNCHER_RANKS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")


def add_parallel_arguments(parser):
    parser.add_argument("--communicator", choices=COMMUNICATORS, default=None,
                        help="train data-parallel over MPI with this ChainerMN communicator "
                             "(run under mpiexec; naive for CPUs, pure_nccl for GPUs)")


def uses_gpu(gpu, device):
    """Whether ``--gpu`` / ``--device`` (which overrides it) ask for a GPU."""
    return "cupy" in device if device is not None else gpu >= 0


def check_communicator_device(communicator, gpu, device):
    """WaveNetError for a ``--communicator`` that cannot train on the device asked for.

    Asked before MPI starts and before CUDA is touched.
    """
    if communicator is None:
        return
    flag = f"--device {device}" if device is not None else f"--gpu {gpu}"
    on_gpu = uses_gpu(gpu, device)
    if on_gpu and communicator in CPU_COMMUNICATORS:
        raise WaveNetError(f"--communicator {communicator} with {flag}: it would hand GPU memory "
                           f"to MPI; on GPUs use --communicator "
                           f"{', '.join(GPU_COMMUNICATORS)}, or train on CPUs with --gpu -1")
    if not on_gpu and communicator not in CPU_COMMUNICATORS:
        raise WaveNetError(f"--communicator {communicator} trains on GPUs: pass --gpu 0 (each "
                           f"process then takes the GPU of its rank on its machine), or use "
                           f"--communicator naive on CPUs")


class SingleProcess:
    """One process: rank 0 of 1."""

    rank = 0
    size = 1
    is_root = True

    def device(self, gpu, device):
        """``get_device``'s arguments: the flags as given."""
        return gpu, device

    def share(self, dataset, seed):
        return dataset

    def optimizer(self, optimizer, link):
        optimizer.setup(link)
        return optimizer

    def evaluator(self, evaluator):
        return evaluator

    def extensions(self, keys):
        return []

    def agree(self, outcome):
        if isinstance(outcome, WaveNetError):
            raise outcome
        return outcome

    def largest(self, value):
        return value

    def broadcast(self, value):
        return value

    def stop_all_on_error(self):
        return contextlib.nullcontext()


class MPIGroup:
    """The ranks of one ChainerMN communicator."""

    def __init__(self, name):
        try:
            import chainermn
            import mpi4py  # noqa: F401  (chainermn needs it; say so clearly)
        except ImportError:
            raise WaveNetError(f"--communicator {name}: needs mpi4py (pip install mpi4py, with "
                               f"an MPI such as Open MPI installed)") from None
        self._chainermn = chainermn
        try:
            self.comm = chainermn.create_communicator(name)
        except Exception as error:  # chainermn raises several kinds for an unusable setup
            raise WaveNetError(f"--communicator {name}: cannot create it ({error}); naive is "
                               f"the one for CPUs") from None
        self.name = name
        self.rank = self.comm.rank
        self.size = self.comm.size
        self.is_root = self.rank == 0
        self._agreed = None

    def device(self, gpu, device):
        """``get_device``'s arguments: on GPUs, one per process on each machine, the one of
        the process's rank on its machine, whatever id ``--gpu`` or ``--device`` names."""
        if uses_gpu(gpu, device):
            return self.comm.intra_rank, None
        return gpu, device

    def share(self, dataset, seed):
        """This rank's share of a seeded permutation of ``dataset`` (no data is sent).

        Every share has the same length, so every rank takes the same number of
        steps per epoch; when the ranks do not divide the dataset, neighbouring
        shares overlap by an example.
        """
        order = np.random.RandomState(seed).permutation(len(dataset))
        begin, end = self._chainermn.scatter_index(len(dataset), self.comm)
        return chainer.datasets.SubDataset(dataset, begin, end, order)

    def optimizer(self, optimizer, link):
        """``optimizer`` set up on ``link``, averaging gradients over all ranks.

        Rank 0's weights are broadcast here rather than at the first update,
        where ChainerMN would skip that step's update (and again after every
        resume).
        """
        multi_node = self._chainermn.create_multi_node_optimizer(optimizer, self.comm)
        multi_node.setup(link)
        self.comm.bcast_data(link)
        multi_node.is_changed(link)  # records the parameters, so the first update is a step
        return multi_node

    def evaluator(self, evaluator):
        return self._chainermn.create_multi_node_evaluator(evaluator, self.comm)

    def extensions(self, keys):
        """Extensions for every rank: the reported ``keys`` averaged over all ranks."""
        return [_MeanOverRanks(self.comm, keys)]

    def agree(self, outcome):
        """Rank 0's outcome (a value, or a WaveNetError to raise) on every rank."""
        # Wrapped: ChainerMN cannot broadcast a bare None from the root.
        outcome, = self.comm.bcast_obj((outcome,) if self.is_root else None)
        if isinstance(outcome, WaveNetError):
            self._agreed = outcome
            raise outcome
        return outcome

    def largest(self, value):
        """The largest of every rank's integer ``value``, on every rank."""
        from mpi4py import MPI

        return self.comm.mpi_comm.allreduce(value, op=MPI.MAX)

    def broadcast(self, value):
        """Rank 0's ``value`` on every rank."""
        value, = self.comm.bcast_obj((value,) if self.is_root else None)
        return value

    @contextlib.contextmanager
    def stop_all_on_error(self):
        """Abort every rank when one fails; the others would wait for it forever.

        An error all ranks raised together (from :meth:`agree`) passes through.
        """
        try:
            yield
        except Exception as error:
            if error is self._agreed:
                raise
            if isinstance(error, WaveNetError):
                print(f"error: {error}", file=sys.stderr)
            else:
                traceback.print_exc()
            print(f"rank {self.rank} of {self.size} failed; stopping all", file=sys.stderr,
                  flush=True)
            self.comm.mpi_comm.Abort(2 if isinstance(error, WaveNetError) else 1)


class _MeanOverRanks(extension.Extension):
    """Replaces reported values by their mean over all ranks, before LogReport reads them."""

    priority = extension.PRIORITY_EDITOR

    def __init__(self, comm, keys):
        self.comm = comm
        self.keys = keys

    def __call__(self, trainer):
        observation = trainer.observation
        local = np.array([float(chainer.as_array(observation[key])) for key in self.keys])
        total = self.comm.allreduce_obj(local)
        for key, value in zip(self.keys, total / self.comm.size, strict=True):
            observation[key] = float(value)


def launched_rank():
    """This process's rank in an MPI launch, 0 if it was not started by mpiexec.

    Read from the launcher's environment, so it can be asked before MPI starts.
    """
    for variable in _LAUNCHER_RANKS:
        rank = os.environ.get(variable, "")
        if rank.isdigit():
            return int(rank)
    return 0


def launched_as_rank_0():
    """Whether this process is rank 0 of an MPI launch, or was not started by mpiexec."""
    return launched_rank() == 0


def create_group(communicator):
    """The group for ``--communicator``; without one, refuse to run as one of many copies."""
    if communicator is not None:
        return MPIGroup(communicator)
    for variable in _LAUNCHER_SIZES:
        size = os.environ.get(variable, "1")
        if size.isdigit() and int(size) > 1:
            raise WaveNetError(f"started as one of {size} processes (by mpiexec) but without "
                               f"--communicator: each would train alone into the same --out. "
                               f"Pass --communicator naive (CPUs) or pure_nccl (GPUs)")
    return SingleProcess()
