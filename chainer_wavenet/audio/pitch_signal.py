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
predicts, which for a periodic sound is nearly that sample itself. The decoder
reads each lag as it reads its input, by class (a table per lag), so that copying
the sample one period back is one learned table, not a curve fitted to a number.
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
    """float32 (batch, 2 * harmonics, length) for MIDI ``pitches``: (batch,), one held
    pitch per note, or a track (batch, >= length), the pitch of each described sample.

    ``offset``: the samples of a held note before the first one described (so that a
    crop's signal continues the note's). A track's phase starts at 0 before its first
    sample and advances by each sample's own frequency.
    """
    pitches = np.asarray(pitches, np.float64)
    if harmonics < 1:
        raise WaveNetError(f"a pitch signal needs at least one harmonic, got {harmonics}")
    if pitches.ndim not in (1, 2) or (pitches.ndim == 2 and pitches.shape[1] < length):
        raise WaveNetError(f"pitches of shape {pitches.shape} give neither one pitch per note "
                           f"nor a track of {length} samples")
    if not np.isfinite(pitches).all() or pitches.min(initial=0) < 0:
        raise WaveNetError("pitches must be finite MIDI numbers >= 0, got values in "
                           f"[{pitches.min()}, {pitches.max()}]")
    cycles_per_sample = midi_to_hz(pitches) / sample_rate
    if pitches.ndim == 1:
        times = offset + 1 + np.arange(length, dtype=np.float64)
        # The fractional cycle is exact in float64 for any note length in use.
        cycles = cycles_per_sample[:, None] * times
        cycles_per_sample = cycles_per_sample[:, None]
    else:
        cycles_per_sample = cycles_per_sample[:, :length]
        cycles = np.cumsum(cycles_per_sample, axis=1)
    phase = 2 * np.pi * np.mod(cycles, 1.0)
    orders = np.arange(1, harmonics + 1, dtype=np.float64)[None, :, None]
    angles = orders * phase[:, None, :]
    audible = orders * cycles_per_sample[:, None, :] < 0.5
    signal = np.empty((len(pitches), 2 * harmonics, length), np.float32)
    signal[:, 0::2] = np.sin(angles) * audible
    signal[:, 1::2] = np.cos(angles) * audible
    return signal


def _neighbours(classes, positions, n_classes):
    """Where fractional ``positions`` (batch, lags, m) fall among ``classes`` (batch, n).

    Returns ``indices`` and ``weights`` (batch, 2 * lags, m): for lag ``k`` the
    classes just below and above its position, offset by ``k * n_classes`` (each lag
    has its own table), and their linear-interpolation weights. Before input 0 is
    nothing: weight 0.
    """
    xp = chainer.backend.get_array_module(classes)
    batch, lags, m = positions.shape
    floor = xp.floor(positions)
    fraction = (positions - floor).astype(np.float32)
    floor = floor.astype(np.int64)
    last = classes.shape[1] - 1
    offsets = (n_classes * xp.arange(lags))[None, :, None]
    flat = classes[:, None, :]
    below = xp.take_along_axis(flat, xp.clip(floor, 0, last).reshape(batch, 1, -1), axis=2)
    above = xp.take_along_axis(flat, xp.clip(floor + 1, 0, last).reshape(batch, 1, -1), axis=2)
    indices = xp.concatenate([below.reshape(floor.shape) + offsets,
                              above.reshape(floor.shape) + offsets], axis=1)
    weights = xp.concatenate([(1 - fraction) * (floor >= 0), fraction * (floor >= -1)], axis=1)
    return indices.astype(np.int32), weights.astype(np.float32)


def lag_neighbours(classes, periods, lags, n_classes):
    """The inputs ``1 .. lags`` pitch periods before each predicted sample, as
    :func:`_neighbours` gives them: (indices, weights), each (batch, 2 * lags, n).

    ``classes``: int inputs (batch, n); input ``t`` is read before predicting sample
    ``t + 1``, so lag ``k`` of position ``t`` is input ``t + 1 - k * period``, between
    two inputs (a long-term predictor's view of the past, as in pitch-adaptive
    WaveNets). ``periods``: samples per period, (batch,) or (batch, >= n), at least 2
    (below the Nyquist frequency), so a lag is always an input already read.
    """
    xp = chainer.backend.get_array_module(classes)
    length = classes.shape[1]
    periods = xp.asarray(periods, np.float64)
    periods = periods[:, None] if periods.ndim == 1 else periods[:, :length]
    times = xp.arange(1, length + 1, dtype=np.float64)[None, None, :]
    ks = xp.arange(1, lags + 1, dtype=np.float64)[None, :, None]
    return _neighbours(classes, times - ks * periods[:, None, :], n_classes)


class LagHistory:
    """The one-sample form of :func:`lag_neighbours`: keeps every input of a generation."""

    def __init__(self, xp, batch_size, steps, periods, lags, n_classes):
        self.xp = xp
        self.lags = lags
        self.n_classes = n_classes
        periods = xp.asarray(periods, np.float64)
        self.periods = xp.broadcast_to(periods[:, None], (batch_size, steps)) \
            if periods.ndim == 1 else periods
        self.history = xp.zeros((batch_size, steps), np.int32)
        self.time = 0

    def step(self, classes):
        """Record input ``classes`` (batch,); return its lags' (indices, weights),
        each (batch, 2 * lags)."""
        xp = self.xp
        if self.time >= self.history.shape[1]:
            raise ValueError(f"pitch periods cover {self.history.shape[1]} steps; step "
                             f"{self.time + 1} needs more")
        self.history[:, self.time] = classes
        periods = self.periods[:, self.time:self.time + 1]
        positions = self.time + 1 - periods * xp.arange(1, self.lags + 1, dtype=np.float64)
        self.time += 1
        indices, weights = _neighbours(self.history, positions[:, :, None], self.n_classes)
        return indices[:, :, 0], weights[:, :, 0]
