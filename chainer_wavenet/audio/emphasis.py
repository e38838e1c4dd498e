"""Pre-emphasis (a first-order high-pass) and its exact inverse, de-emphasis.

``emphasize`` gives ``(x[t] - a * x[t-1]) / (1 + a)`` (silence before the clip); dividing by
``1 + a`` keeps audio in [-1, 1] in range. A model that learns emphasized audio makes errors
that are roughly white there; de-emphasis (``y[t] = (1 + a) * x[t] + a * y[t-1]``) then tilts
them under the spectrum of most instruments and voices, quieter at high frequencies, where
the signal is quiet too (LPCNet, Valin & Skoglund 2019). ``a = 0`` changes nothing.
"""

import numpy as np
import scipy.signal


def emphasize(audio, coefficient):
    """Float32 ``audio`` (..., time) pre-emphasized by ``coefficient`` along its last axis."""
    audio = np.asarray(audio, np.float32)
    if not coefficient:
        return audio
    a = np.float64(coefficient)
    out = scipy.signal.lfilter([1.0 / (1.0 + a), -a / (1.0 + a)], [1.0], audio, axis=-1)
    return out.astype(np.float32)


def deemphasize(audio, coefficient):
    """The inverse of :func:`emphasize`: float32 ``audio`` (..., time), from silence."""
    audio = np.asarray(audio, np.float32)
    if not coefficient:
        return audio
    a = np.float64(coefficient)
    return scipy.signal.lfilter([1.0 + a], [1.0, -a], audio, axis=-1).astype(np.float32)
