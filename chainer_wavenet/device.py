"""Choosing the device from Chainer's ``--gpu`` / ``--device`` flags, with clear errors."""

import chainer

from chainer_wavenet.errors import WaveNetError


def add_device_arguments(parser):
    parser.add_argument("--gpu", "-g", type=int, default=-1,
                        help="GPU id, or -1 for the CPU (default)")
    parser.add_argument("--device", "-d", default=None,
                        help="Chainer device specifier (@numpy, @cupy:0); overrides --gpu")


def what_to_do_without_cupy(error):
    """Advice for the ``error`` Chainer met importing CuPy: install it, or its own reason."""
    if isinstance(error, ModuleNotFoundError) and error.name == "cupy":
        return "install the 'gpu' extra (cupy) on a GPU machine"
    return (f"CuPy is installed but Chainer cannot use it ({type(error).__name__}: {error}); "
            f"install the CuPy build for this machine's CUDA")


def get_device(gpu=-1, device=None):
    """A chainer device for ``--device`` or ``--gpu``; WaveNetError when it cannot be used."""
    flag = f"--device {device}" if device is not None else f"--gpu {gpu}"
    spec = device if device is not None else ("@numpy" if gpu < 0 else f"@cupy:{gpu}")
    if "cupy" in spec:
        from chainer.backends import cuda

        if not cuda.available:
            raise WaveNetError(f"{flag}: CuPy with a working CUDA GPU is not available here; "
                               f"{what_to_do_without_cupy(cuda._resolution_error)}, or use "
                               f"--gpu -1 for the CPU")
    try:
        chosen = chainer.get_device(spec)
        chosen.use()
    except Exception as error:  # chainer raises many kinds for a bad specifier or id
        raise WaveNetError(f"{flag}: cannot use this device ({error})") from None
    return chosen
