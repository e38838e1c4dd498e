"""mu-law companding between float audio in [-1, 1] and class indices."""

import numpy as np

from chainer_wavenet.errors import WaveNetError


def _check_classes(n_classes):
    if int(n_classes) < 2:
        raise WaveNetError(f"mu-law needs at least 2 classes, got {n_classes}")
    return int(n_classes)


def encode(audio, n_classes=256):
    """Map float audio in [-1, 1] to int32 class indices in [0, n_classes).

    Computed in float64 and rounded, so NumPy 1.x and 2.x give the same codes.
    Values outside [-1, 1] are clipped; NaN or inf raise WaveNetError.
    """
    n_classes = _check_classes(n_classes)
    audio = np.asarray(audio, dtype=np.float64)
    if not np.all(np.isfinite(audio)):
        raise WaveNetError("mu-law encode: audio holds NaN or inf values")
    mu = float(n_classes - 1)
    x = np.clip(audio, -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    # Half up, not half to even: silence (0.0) is always class n_classes // 2.
    return np.floor((y + 1.0) / 2.0 * mu + 0.5).astype(np.int32)


def decode(classes, n_classes=256):
    """Map class indices back to float32 audio; ``encode(decode(c)) == c``."""
    n_classes = _check_classes(n_classes)
    classes = np.asarray(classes)
    if classes.dtype.kind not in "iu":
        raise WaveNetError(f"mu-law decode: class indices must be integers, got {classes.dtype}")
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise WaveNetError(
            f"mu-law decode: class indices must lie in [0, {n_classes}), "
            f"got values in [{classes.min()}, {classes.max()}]"
        )
    mu = float(n_classes - 1)
    y = 2.0 * classes.astype(np.float64) / mu - 1.0
    x = np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu
    return x.astype(np.float32)
