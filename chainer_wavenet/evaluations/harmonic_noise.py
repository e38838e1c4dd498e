"""Harmonic-to-noise ratio: how much of a pitched clip's energy lies on its harmonics.

The clip's STFT (``WINDOW``-sample Hann window, hop ``HOP``) is split, frame by frame, into
the bins near a harmonic k * f0 of the pitch it should play and the other bins between
``LOWEST_HZ`` and ``HIGHEST_HZ``. A bin is near a harmonic when it lies within
``HARMONIC_CENTS`` of it or within the window's main lobe (``MAIN_LOBE_BINS``), whichever
is wider: at low pitches 35 cents is narrower than a bin, and a pure tone's own energy would
count as noise. The ratio of the two energies in dB is taken per frame, over the frames
within ``LOUD_DB`` of the loudest; their median is the clip's figure. A pure harmonic tone
scores far above a recorded instrument, white noise far below 0 dB.
"""

import numpy as np

from chainer_wavenet.audio.pitch_signal import midi_to_hz
from chainer_wavenet.errors import WaveNetError

WINDOW = 4096
HOP = 1024
HARMONIC_CENTS = 35.0
MAIN_LOBE_BINS = 2.0
LOWEST_HZ = 60.0
HIGHEST_HZ = 7500.0
LOUD_DB = 40.0
START = 0.1
STOP = 2.0


def _frame_f0(pitch, frames, sample_rate):
    """f0 in Hz of each frame: MIDI ``pitch`` is a number or one value per sample (the
    median over the frame's window; NaN for rests)."""
    if np.ndim(pitch) == 0:
        return np.full(frames, float(midi_to_hz(pitch)))
    pitch = np.asarray(pitch, np.float64)
    medians = [np.nanmedian(pitch[f * HOP:f * HOP + WINDOW])
               if np.isfinite(pitch[f * HOP:f * HOP + WINDOW]).any() else np.nan
               for f in range(frames)]
    return midi_to_hz(np.asarray(medians))


def harmonic_to_noise(audio, sample_rate, pitch, start=START, stop=STOP):
    """The median harmonic-to-noise ratio in dB of ``audio`` from ``start`` to ``stop``
    seconds (clamped to the clip), for MIDI ``pitch`` (a number, or one per sample, NaN at
    rests). None when the span holds no whole window or no frame has a pitch."""
    audio = np.asarray(audio, np.float64).reshape(-1)
    first = min(round(start * sample_rate), max(len(audio) - WINDOW, 0))
    last = min(round(stop * sample_rate), len(audio))
    if np.ndim(pitch):
        pitch = np.asarray(pitch, np.float64).reshape(-1)
        if len(pitch) < len(audio):
            raise WaveNetError(f"a pitch track of {len(pitch)} samples is shorter than the "
                               f"clip it describes ({len(audio)} samples)")
        pitch = pitch[first:last]
    clip = audio[first:last]
    if len(clip) < WINDOW:
        return None
    frames = 1 + (len(clip) - WINDOW) // HOP
    index = np.arange(WINDOW)[None, :] + HOP * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(clip[index] * np.hanning(WINDOW), axis=1)) ** 2
    bins = np.fft.rfftfreq(WINDOW, 1.0 / sample_rate)
    band = (bins >= LOWEST_HZ) & (bins <= min(HIGHEST_HZ, sample_rate / 2))
    energy = power[:, band].sum(axis=1)
    loud = energy >= energy.max() * 10 ** (-LOUD_DB / 10) if energy.max() > 0 else energy > 0
    f0 = _frame_f0(pitch, frames, sample_rate)
    ratios = []
    for frame in np.flatnonzero(loud & np.isfinite(f0)):
        harmonic = np.maximum(bins[band], f0[frame] / 2) / f0[frame]
        nearest = np.maximum(np.round(harmonic), 1.0) * f0[frame]
        cents = np.abs(1200.0 * np.log2(np.maximum(bins[band], 1e-9) / nearest))
        near = (cents <= HARMONIC_CENTS) | (
            np.abs(bins[band] - nearest) <= MAIN_LOBE_BINS * sample_rate / WINDOW)
        on, off = power[frame, band][near].sum(), power[frame, band][~near].sum()
        ratios.append(10.0 * np.log10(max(on, 1e-30) / max(off, 1e-30)))
    return float(np.median(ratios)) if ratios else None
