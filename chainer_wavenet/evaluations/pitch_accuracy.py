"""Pitch accuracy: the f0 of what a model plays against the pitch it was asked for.

The f0 is tracked with librosa's pYIN, searched within ``SEARCH_SEMITONES`` of the pitch
asked for, and its median over the voiced frames between ``PITCH_START`` and ``PITCH_STOP``
seconds is compared with that pitch in cents. A note with no voiced frame has no pitch: it
counts as a miss. A melody is measured note by note over each note's own time
(:func:`measure_melody`).
"""

import dataclasses
import math

import numpy as np

from chainer_wavenet.audio import pitch_track
from chainer_wavenet.audio.pitch_signal import hz_to_midi, midi_to_hz
from chainer_wavenet.errors import WaveNetError

TOLERANCE_CENTS = 50.0

SEARCH_SEMITONES = 13

PITCH_START = 0.1

PITCH_STOP = 2.0


@dataclasses.dataclass(frozen=True)
class PitchMeasure:
    """The f0 measured in a clip against the pitch asked for."""

    cents: float | None  # median f0's error; None when no frame is voiced
    voiced: float  # share of the analysed frames that are voiced

    @property
    def within(self):
        return self.cents is not None and abs(self.cents) <= TOLERANCE_CENTS


def _median_f0(audio, sample_rate, fmin, fmax):
    """pYIN between ``fmin`` and ``fmax`` Hz: the median f0 of the voiced frames (None when
    none is voiced, or the clip holds fewer than two periods of ``fmin``) and the share of
    frames voiced."""
    import librosa  # imported here: its first use compiles with numba (seconds)

    # Long enough for two periods of the lowest frequency searched, as YIN needs.
    frame_length = max(1024, 2 ** math.ceil(math.log2(2.2 * sample_rate / fmin)))
    if len(audio) < frame_length:
        return None, 0.0
    f0, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=fmax, sr=sample_rate,
                                 frame_length=frame_length, hop_length=frame_length // 4,
                                 center=False)
    voiced = voiced & np.isfinite(f0)
    if not voiced.any():
        return None, 0.0
    return float(np.median(f0[voiced])), float(voiced.mean())


def measure_pitch(audio, sample_rate, pitch):
    """The median f0 of ``audio`` between PITCH_START and PITCH_STOP s against MIDI ``pitch``.

    Clips shorter than that window are measured from PITCH_START (or from their start if
    even that is too short) to their end.
    """
    audio = np.asarray(audio, np.float32).reshape(-1)
    start = round(PITCH_START * sample_rate)
    if len(audio) - start < sample_rate // 4:
        start = 0
    clip = audio[start:round(PITCH_STOP * sample_rate)]
    nyquist = sample_rate / 2
    fmin = float(midi_to_hz(pitch - SEARCH_SEMITONES))
    fmax = float(min(midi_to_hz(pitch + SEARCH_SEMITONES), 0.95 * nyquist))
    if fmin >= fmax:
        raise WaveNetError(f"pitch {pitch} is above what {sample_rate} Hz audio can hold")
    f0, voiced = _median_f0(clip, sample_rate, fmin, fmax)
    if f0 is None:
        return PitchMeasure(None, 0.0)
    return PitchMeasure(100.0 * (float(hz_to_midi(f0)) - pitch), voiced)


def measure_melody(audio, sample_rate, notes, settle=0.05):
    """A PitchMeasure per melody note (start s, end s, MIDI pitch) of ``audio``: the median
    f0 of the voiced frames from ``settle`` s after its start to its end, by one pYIN pass
    over the melody's range (widened by SEARCH_SEMITONES)."""
    if not notes:
        return []
    pitches = [pitch for _, _, pitch in notes]
    lowest = max(0, min(pitches) - SEARCH_SEMITONES)
    highest = min(float(hz_to_midi(0.45 * sample_rate)), max(pitches) + SEARCH_SEMITONES)
    track = pitch_track.estimate(audio, sample_rate, lowest=lowest, highest=highest)
    rate = pitch_track.FRAME_RATE
    measures = []
    for start, end, pitch in notes:
        frames = track[math.ceil((start + settle) * rate):math.floor(end * rate)]
        voiced = frames[np.isfinite(frames)]
        measures.append(PitchMeasure(100.0 * (float(np.median(voiced)) - pitch),
                                     voiced.size / frames.size) if voiced.size
                        else PitchMeasure(None, 0.0))
    return measures


def estimate_pitch(audio, sample_rate, lowest=24, highest=108):
    """The MIDI pitch nearest the median f0 of ``audio`` (pYIN over MIDI ``lowest`` to
    ``highest``, or the Nyquist frequency), and the f0's offset from it in cents; None
    when no frame is voiced."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    fmax = min(midi_to_hz(highest), 0.45 * sample_rate)
    f0, _ = _median_f0(audio, sample_rate, float(midi_to_hz(lowest)), float(fmax))
    if f0 is None:
        return None
    midi = float(hz_to_midi(f0))
    return round(midi), 100.0 * (midi - round(midi))
