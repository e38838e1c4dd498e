"""Data-parallel training with ChainerMN over MPI, and the single-process case alike.

Under ``mpiexec -n N`` with ``--communicator``, each rank trains on its own
share of the crops, gradients are averaged over all ranks every step, and
only rank 0 writes logs, plots and snapshots. Without a communicator the
same calls do what a single process needs.
"""

import chainer
import numpy as np

from chainer_wavenet.errors import WaveNetError

COMMUNICATORS = ("naive", "flat", "hierarchical", "two_dimensional", "single_node",
                 "non_cuda_aware", "pure_nccl")


def add_parallel_arguments(parser):
    parser.add_argument("--communicator", choices=COMMUNICATORS, default=None,
                        help="train data-parallel over MPI with this ChainerMN communicator "
                             "(run under mpiexec; naive for CPUs, pure_nccl for GPUs)")


class SingleProcess:
    """One process: rank 0 of 1."""

    rank = 0
    size = 1
    is_root = True

    def gpu(self, gpu):
        return gpu

    def share(self, dataset, seed):
        return dataset

    def optimizer(self, optimizer):
        return optimizer

    def evaluator(self, evaluator):
        return evaluator

    def agree(self, outcome):
        return outcome


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
            raise WaveNetError(f"--communicator {name}: cannot create it ({error})") from None
        self.rank = self.comm.rank
        self.size = self.comm.size
        self.is_root = self.rank == 0

    def gpu(self, gpu):
        """One GPU per process on each machine: the process's rank on its machine."""
        return self.comm.intra_rank if gpu >= 0 else gpu

    def share(self, dataset, seed):
        """This rank's equal share of a seeded permutation of ``dataset`` (no data is sent)."""
        order = np.random.RandomState(seed).permutation(len(dataset))
        begin, end = self._chainermn.scatter_index(len(dataset), self.comm)
        return chainer.datasets.SubDataset(dataset, begin, end, order)

    def optimizer(self, optimizer):
        return self._chainermn.create_multi_node_optimizer(optimizer, self.comm)

    def evaluator(self, evaluator):
        return self._chainermn.create_multi_node_evaluator(evaluator, self.comm)

    def agree(self, outcome):
        """Rank 0's outcome (a value, or a WaveNetError to raise) on every rank."""
        # Wrapped: ChainerMN cannot broadcast a bare None from the root.
        outcome, = self.comm.bcast_obj((outcome,) if self.is_root else None)
        if isinstance(outcome, WaveNetError):
            raise outcome
        return outcome


def create_group(communicator):
    return SingleProcess() if communicator is None else MPIGroup(communicator)
