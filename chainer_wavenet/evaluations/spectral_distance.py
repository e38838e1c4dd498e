"""Spectral distance: the mean absolute difference in dB between two clips' log-mel
spectrograms (a reconstruction or a vocoder's resynthesis against its original).
"""

import numpy as np

from chainer_wavenet.audio import mel
from chainer_wavenet.errors import WaveNetError

# Mel analysis for the spectral distance, and the floor under each spectrogram's peak.
DISTANCE_MEL = mel.MelSettings(n_mels=80, hop=256, n_fft=1024, fmin=40.0)

DISTANCE_RANGE_DB = 80.0


def _mel_db(audio, sample_rate):
    power = mel.mel_power(np.asarray(audio, np.float64), sample_rate, DISTANCE_MEL)
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def log_mel_distance(audio, reference, sample_rate):
    """Mean |difference| in dB between two clips' log-mel spectrograms.

    Both are cut to the shorter clip and floored ``DISTANCE_RANGE_DB`` under the
    reference's peak, so that silence below the floor counts as equal.
    """
    length = min(len(audio), len(reference))
    if length < 1:
        raise WaveNetError("log-mel distance needs two non-empty clips")
    mine, theirs = (_mel_db(a[:length], sample_rate) for a in (audio, reference))
    floor = theirs.max() - DISTANCE_RANGE_DB
    return float(np.mean(np.abs(np.maximum(mine, floor) - np.maximum(theirs, floor))))
