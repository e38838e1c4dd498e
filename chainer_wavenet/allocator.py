"""Large NumPy temporaries from memory the process already holds, not fresh kernel pages.

By default glibc serves an allocation above its mmap threshold (32 MB at most, moved at run
time) with fresh pages from the kernel and returns heap memory above its trim threshold on
free; every fresh page is zeroed by the kernel at first touch, on one core. A training step
allocates and frees hundreds of MB of activations and gradients: at config S these page
faults were a fifth of a step's time on a 2-core CPU, and the second BLAS thread waited on
them. Raising both thresholds keeps freed blocks for the next step (benchmarks/README.md).
"""

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30  # allocations below 1 GB come from the heap ...
TRIM_THRESHOLD = 1 << 31  # ... and up to 2 GB of freed heap stays with the process


def keep_freed_memory():
    """Ask glibc to serve large allocations from the heap and keep what is freed for the
    next ones. True if it took; False where there is no glibc (another libc or OS)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
