"""How good a model's audio is: likelihood, pitch accuracy, spectral distance.

Measures of audio and of a model's likelihood only; playing notes to measure them is
:mod:`chainer_wavenet.sampling.evaluation`'s.
"""

from chainer_wavenet.evaluations.likelihood import nll_bits, recording_nll_bits
from chainer_wavenet.evaluations.pitch_accuracy import (
    PITCH_START,
    PITCH_STOP,
    SEARCH_SEMITONES,
    TOLERANCE_CENTS,
    PitchMeasure,
    estimate_pitch,
    measure_melody,
    measure_pitch,
)
from chainer_wavenet.evaluations.spectral_distance import log_mel_distance

__all__ = ["PITCH_START", "PITCH_STOP", "SEARCH_SEMITONES", "TOLERANCE_CENTS", "PitchMeasure",
           "estimate_pitch", "log_mel_distance", "measure_melody", "measure_pitch", "nll_bits",
           "recording_nll_bits"]
