"""A note's pitch as a signal: sines and cosines of its harmonics, one value per sample.

A decoder that hears its pitch only as an id must learn, for every pitch, which
delay repeats the waveform; one that is also given the phase of the fundamental
at every sample only has to shape each period (as the excitation of a
source-filter model does). Channel ``2k`` is ``sin((k+1) * phase)``, channel
``2k + 1`` is ``cos((k+1) * phase)``; harmonics at or above the Nyquist frequency
are zero. Sample ``t`` of the signal describes the sample a decoder predicts after
reading input ``t``: the phase of sample ``offset + t + 1``.
"""

import numpy as np

from chainer_wavenet.errors import WaveNetError

A4_HZ = 440.0
A4_MIDI = 69


def midi_to_hz(pitch):
    """Frequency in Hz of a (possibly fractional) MIDI pitch, A4 = 69 = 440 Hz."""
    return A4_HZ * 2.0 ** ((np.asarray(pitch, np.float64) - A4_MIDI) / 12.0)


def hz_to_midi(hz):
    """Fractional MIDI pitch of a frequency in Hz."""
    return A4_MIDI + 12.0 * np.log2(np.asarray(hz, np.float64) / A4_HZ)


def harmonic_signal(pitches, length, sample_rate, harmonics, offset=0):
    """float32 (batch, 2 * harmonics, length) for MIDI ``pitches`` (batch,), held constant.

    ``offset``: the samples of the note before the first one described (so that a
    crop's signal continues the note's).
    """
    pitches = np.asarray(pitches, np.float64).reshape(-1)
    if harmonics < 1:
        raise WaveNetError(f"a pitch signal needs at least one harmonic, got {harmonics}")
    if not np.isfinite(pitches).all() or pitches.min(initial=0) < 0:
        raise WaveNetError(f"pitches must be finite MIDI numbers >= 0, got {pitches.tolist()}")
    cycles_per_sample = midi_to_hz(pitches) / sample_rate
    times = offset + 1 + np.arange(length, dtype=np.float64)
    # The fractional cycle is exact in float64 for any note length in use.
    phase = 2 * np.pi * np.mod(cycles_per_sample[:, None] * times, 1.0)
    orders = np.arange(1, harmonics + 1, dtype=np.float64)
    angles = orders[None, :, None] * phase[:, None, :]
    audible = (orders[None, :] * cycles_per_sample[:, None] < 0.5)[:, :, None]
    signal = np.empty((len(pitches), 2 * harmonics, length), np.float32)
    signal[:, 0::2] = np.sin(angles) * audible
    signal[:, 1::2] = np.cos(angles) * audible
    return signal
