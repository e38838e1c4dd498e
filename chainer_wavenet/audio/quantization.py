"""Float audio in [-1, 1] to class indices and back: mu-law or linear.

``mu_law`` companding (see :mod:`chainer_wavenet.audio.mu_law`) gives the 256-class softmax
WaveNet its codes. ``linear`` cuts [-1, 1] into ``n_classes`` equal bins of width
``2 / n_classes``; class c stands for ``-1 + c * 2 / n_classes``, so 65536 classes are
the 16-bit PCM values themselves (class = int16 value + 32768) and silence is class
``n_classes // 2`` for any even count.
"""

import numpy as np

from chainer_wavenet.audio import mu_law
from chainer_wavenet.errors import WaveNetError

QUANTIZATIONS = ("mu_law", "linear")


def _check(quantization, n_classes):
    if quantization not in QUANTIZATIONS:
        raise WaveNetError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, "
                           f"got {quantization!r}")
    if int(n_classes) < 2:
        raise WaveNetError(f"{quantization} quantization needs at least 2 classes, "
                           f"got {n_classes}")
    return int(n_classes)


def describe(n_classes, quantization):
    """The quantization in words, as bits figures name it: '8-bit mu-law', '16-bit linear'
    (a class count that is no power of 2: '100-class linear')."""
    n_classes = _check(quantization, n_classes)
    name = quantization.replace("_", "-")
    bits = n_classes.bit_length() - 1
    return f"{bits}-bit {name}" if n_classes == 1 << bits else f"{n_classes}-class {name}"


def bin_width(n_classes):
    """The width of one linear class's bin in [-1, 1]."""
    return 2.0 / n_classes


def encode(audio, n_classes=256, quantization="mu_law"):
    """int32 classes in [0, n_classes) of float ``audio``; values outside [-1, 1] are
    clipped, NaN or inf raise WaveNetError. Computed in float64 (same codes on NumPy 1
    and 2)."""
    n_classes = _check(quantization, n_classes)
    if quantization == "mu_law":
        return mu_law.encode(audio, n_classes)
    audio = np.asarray(audio, dtype=np.float64)
    if not np.all(np.isfinite(audio)):
        raise WaveNetError("linear encode: audio holds NaN or inf values")
    classes = np.floor((audio + 1.0) / bin_width(n_classes) + 0.5)
    return np.clip(classes, 0, n_classes - 1).astype(np.int32)


def decode(classes, n_classes=256, quantization="mu_law"):
    """float32 audio of integer ``classes``; ``encode(decode(c)) == c``."""
    n_classes = _check(quantization, n_classes)
    if quantization == "mu_law":
        return mu_law.decode(classes, n_classes)
    classes = np.asarray(classes)
    if classes.dtype.kind not in "iu":
        raise WaveNetError(f"linear decode: class indices must be integers, got {classes.dtype}")
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise WaveNetError(f"linear decode: class indices must lie in [0, {n_classes}), "
                           f"got values in [{classes.min()}, {classes.max()}]")
    return (classes.astype(np.float64) * bin_width(n_classes) - 1.0).astype(np.float32)
