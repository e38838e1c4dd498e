"""A note's pitch as signals a decoder reads at every sample.

Harmonics: sines and cosines of the pitch's harmonics, one value per sample.

A decoder that hears its pitch only as an id must learn, for every pitch, which
delay repeats the waveform; one that is also given the phase of the fundamental
at every sample only has to shape each period (as the excitation of a
source-filter model does). Channel ``2k`` is ``sin((k+1) * phase)``, channel
``2k + 1`` is ``cos((k+1) * phase)``; harmonics at or above the Nyquist frequency
are zero. Sample ``t`` of the signal describes the sample a decoder predicts after
reading input ``t``: the phase of sample ``offset + t + 1``.

Lags: the decoder's own input one, two, ... pitch periods before the sample it
predicts, which for a periodic sound is nearly that sample itself.
"""

import chainer
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


def _interpolate(values, positions):
    """``values`` (batch, n) read at fractional ``positions`` (batch, m); before 0 is silence."""
    xp = chainer.backend.get_array_module(values)
    floor = xp.floor(positions)
    fraction = (positions - floor).astype(values.dtype)
    floor = floor.astype(np.int64)
    last = values.shape[1] - 1
    below = xp.take_along_axis(values, xp.clip(floor, 0, last), axis=1) * (floor >= 0)
    above = xp.take_along_axis(values, xp.clip(floor + 1, 0, last), axis=1) * (floor >= -1)
    return (1 - fraction) * below + fraction * above


def lagged_samples(values, periods, lags):
    """(batch, lags, n): the input ``k`` pitch periods before each predicted sample.

    ``values``: float inputs (batch, n); input ``t`` is read before predicting sample
    ``t + 1``, so lag ``k`` of position ``t`` is input ``t + 1 - k * period``, linearly
    interpolated between its neighbours (a long-term predictor's view of the past, as
    in pitch-adaptive WaveNets). ``periods``: samples per period, (batch,) or
    (batch, >= n), at least 2 (below the Nyquist frequency).
    """
    xp = chainer.backend.get_array_module(values)
    batch, length = values.shape
    periods = xp.asarray(periods, np.float64)
    periods = periods[:, None] if periods.ndim == 1 else periods[:, :length]
    times = xp.arange(1, length + 1, dtype=np.float64)[None, :]
    return xp.stack([_interpolate(values, times - k * periods) for k in range(1, lags + 1)],
                    axis=1)


class LagHistory:
    """The one-sample form of :func:`lagged_samples`: keeps every input of a generation."""

    def __init__(self, xp, batch_size, steps, periods, lags, dtype):
        self.xp = xp
        self.lags = lags
        periods = xp.asarray(periods, np.float64)
        self.periods = xp.broadcast_to(periods[:, None], (batch_size, steps)) \
            if periods.ndim == 1 else periods
        self.history = xp.zeros((batch_size, steps), dtype)
        self.time = 0

    def step(self, value):
        """Record input ``value`` (batch,); return its lags (batch, lags)."""
        xp = self.xp
        if self.time >= self.history.shape[1]:
            raise ValueError(f"pitch periods cover {self.history.shape[1]} steps; step "
                             f"{self.time + 1} needs more")
        self.history[:, self.time] = value
        periods = self.periods[:, self.time:self.time + 1]
        positions = self.time + 1 - periods * xp.arange(1, self.lags + 1, dtype=np.float64)
        self.time += 1
        return _interpolate(self.history, positions)
