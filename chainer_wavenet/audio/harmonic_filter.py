"""A harmonic (pitch) postfilter: each sample averaged with the samples whole pitch periods
before and after it.

The average of a periodic signal over its own period passes it unchanged, while noise
between its harmonics is averaged down: with N periods on each side, white noise loses
about 10 log10(2N + 1) dB. Speech codecs filter their output so for the same reason. The
price: the note's changes are spread over N periods each way (an attack is smeared), and
the pitch must be known, which it is for a note decoded at its MIDI pitch or track.
"""

import numpy as np

from chainer_wavenet.audio.pitch_signal import midi_to_hz
from chainer_wavenet.errors import WaveNetError


def check_periods(periods):
    """WaveNetError unless ``periods`` (from ``--harmonic-filter``) is a count >= 0."""
    if periods < 0:
        raise WaveNetError(f"--harmonic-filter must be >= 0 pitch periods (0 = no filter), "
                           f"got {periods}")


def harmonic_filter(audio, rate, pitch, periods):
    """float32 ``audio`` (T,), each sample the mean of itself and the samples 1..``periods``
    pitch periods before and after it that lie within the clip (fractional positions read
    by cubic Lagrange interpolation). ``pitch``: a MIDI pitch, or one per sample (T,)."""
    check_periods(periods)
    audio = np.asarray(audio, np.float32)
    if periods == 0 or len(audio) < 4:
        return audio
    period = rate / midi_to_hz(np.broadcast_to(np.asarray(pitch, np.float64), audio.shape))
    time = np.arange(len(audio), dtype=np.float64)
    total = audio.astype(np.float64)
    count = np.ones(len(audio))
    for step in range(1, periods + 1):
        for position in (time - step * period, time + step * period):
            inside = (position >= 1) & (position <= len(audio) - 2)
            total += np.where(inside, _read(audio, position), 0.0)
            count += inside
    return (total / count).astype(np.float32)


def _read(audio, position):
    """``audio`` at fractional ``position``s, from the 4 samples around each (cubic
    Lagrange); positions outside [1, T - 2] read clipped neighbours (the caller drops them)."""
    base = np.clip(np.floor(position).astype(np.int64), 1, len(audio) - 3)
    f = position - base
    weights = (-f * (f - 1) * (f - 2) / 6, (f + 1) * (f - 1) * (f - 2) / 2,
               -(f + 1) * f * (f - 2) / 2, (f + 1) * f * (f - 1) / 6)
    return sum(w * audio[base + k] for w, k in zip(weights, (-1, 0, 1, 2), strict=True))
