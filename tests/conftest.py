"""Shared fixtures: sine tones and small WAV files in a temporary folder."""

import os
import tempfile

# One BLAS thread per process (set before NumPy loads): tests start subprocesses and MPI
# ranks on a 2-core machine, where competing OpenBLAS thread pools slow each other ~100x.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# librosa compiles its pitch tracker with numba and caches it: each pytest-xdist worker gets
# its own cache folder, so that two workers of a fresh environment never write one cache
# file at once (a torn file crashed a worker once).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(),
        f"chainer-wavenet-numba-{os.getuid()}-{os.environ['PYTEST_XDIST_WORKER']}")

import numpy as np
import pytest
import soundfile
from hypothesis import settings

import chainer_wavenet  # noqa: F401  (installs the compat shim before chainer is imported)

# A failing Hypothesis example is printed as a @reproduce_failure decorator that replays it
# exactly, so a failure seen only in CI can be replayed anywhere.
settings.register_profile("replayable", print_blob=True)
settings.load_profile("replayable")


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a GPU (Chainer's own test marker)")
    config.addinivalue_line("markers", "slow: an end-to-end run of several seconds, run on "
                            "the NumPy 2 line only by `make test` (its NumPy-specific code "
                            "runs in the fast tests on both lines)")


@pytest.fixture
def sine():
    """Return a function making a float32 sine tone."""

    def make(frequency=440.0, samples=1600, sample_rate=16000, amplitude=0.5):
        t = np.arange(samples) / sample_rate
        return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)

    return make


@pytest.fixture
def make_wav(tmp_path, sine):
    """Return a function writing a WAV file under ``tmp_path`` (a sine tone by default).

    ``audio`` may be 2-D (frames, channels); ``subtype`` is a soundfile subtype such as
    "PCM_16" or "FLOAT". Subfolders in ``name`` are created.
    """

    def make(name="tone.wav", audio=None, sample_rate=16000, subtype="PCM_16"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = sine(sample_rate=sample_rate) if audio is None else audio
        soundfile.write(path, data, sample_rate, subtype=subtype, format="WAV")
        return path

    return make
