"""A shuffling order that a resumed run repeats exactly."""

import zlib

import numpy as np


class ReproducibleOrder:
    """Order sampler for Chainer iterators whose next epoch's order depends only on
    the seed and the order of the epoch before.

    The iterator already saves its current order in a trainer snapshot, so a
    resumed run shuffles every later epoch exactly as an uninterrupted run.
    """

    def __init__(self, seed):
        self.seed = int(seed)

    def __call__(self, current_order, current_position):
        key = zlib.crc32(np.ascontiguousarray(current_order, dtype=np.int64).tobytes())
        return np.random.default_rng((self.seed, key)).permutation(len(current_order))
