"""The GPUs this machine can use, for tests that need a GPU id no command can use."""

from chainer.backends import cuda


def gpu_count():
    """CUDA GPUs usable here: 0 without CuPy, without CUDA or without a GPU."""
    if not cuda.available:
        return 0
    return cuda.cupy.cuda.runtime.getDeviceCount()


def unusable_gpu():
    """A GPU id that ``--gpu`` must refuse here: one past the last usable GPU (0 if none)."""
    return gpu_count()


def refusal_reason():
    """What a refusal of :func:`unusable_gpu` says: no usable CuPy, or no such device."""
    if gpu_count():
        return "cannot use this device"
    return "CuPy with a working CUDA GPU is not available"
