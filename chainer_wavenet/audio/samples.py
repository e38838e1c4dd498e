"""What the Python API accepts as audio: float samples in [-1, 1], mono, one note per row."""

import numpy as np

from chainer_wavenet.audio.wav import CLIP_TOLERANCE
from chainer_wavenet.errors import WaveNetError


def checked_notes(audio, min_samples=1, what="audio"):
    """``audio`` as float32 (time,) or (notes, time), refusing what would be read wrongly.

    Integer samples (e.g. int16 read without scaling) and values outside [-1, 1], 3-D
    arrays, and 2-D arrays whose rows are shorter than ``min_samples`` (a (frames,
    channels) stereo array read as many notes of 2 samples) raise WaveNetError saying what
    to do.
    """
    audio = np.asarray(audio)
    if audio.dtype.kind in "iub":
        raise WaveNetError(
            f"{what} is {audio.dtype} samples; give float samples in [-1, 1] "
            "(e.g. audio / 32768 for int16, or chainer_wavenet.read_wav(path))")
    if audio.dtype.kind != "f":
        raise WaveNetError(f"{what} is of dtype {audio.dtype}; give float samples in [-1, 1]")
    if audio.ndim not in (1, 2):
        raise WaveNetError(f"{what} has shape {audio.shape}; give mono samples (time,) or "
                           "several notes of equal length (notes, time)")
    if audio.shape[-1] < min_samples:
        hint = ("; for (frames, channels) audio, mix the channels down first: "
                "audio.mean(axis=1)" if audio.ndim == 2 else "")
        raise WaveNetError(f"{what} of shape {audio.shape} reads as notes of "
                           f"{audio.shape[-1]} samples, fewer than {min_samples}{hint}")
    if audio.size and not np.all(np.isfinite(audio)):
        raise WaveNetError(f"{what} holds NaN or infinite values")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0 + CLIP_TOLERANCE:
        raise WaveNetError(f"{what} reaches {peak:.4g}, outside [-1, 1]; scale it into "
                           "[-1, 1] (e.g. divide by 32768 for 16-bit samples)")
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)
