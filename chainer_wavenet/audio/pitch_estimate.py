"""Fundamental-frequency estimate of a held note (YIN, in NumPy).

Used to check that rendered notes sound at the MIDI pitch they are labelled with.
"""

import numpy as np

from chainer_wavenet.errors import WaveNetError

MIN_LAG = 20  # samples in the shortest period searched; audio is upsampled to reach it
MAX_FRAMES = 100  # frames analysed, evenly spread; their median is the estimate


def midi_to_hz(pitch):
    """Frequency of a MIDI note number in equal temperament (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


def cents(f0, pitch):
    """Signed distance in cents from the frequency ``f0`` to MIDI note ``pitch``."""
    return 1200.0 * np.log2(np.asarray(f0, dtype=np.float64) / midi_to_hz(pitch))


def _frames(x, length, hop):
    n = 1 + (len(x) - length) // hop
    index = np.arange(length)[None, :] + hop * np.arange(n)[:, None]
    return x[index]


def _difference(frames, window, max_lag):
    """YIN's difference d(tau) and its cumulative mean normalised d'(tau), tau = 0..max_lag."""
    nfft = 1 << int(np.ceil(np.log2(frames.shape[1] + window)))
    spec = np.fft.rfft(frames, nfft)
    head = np.fft.rfft(frames[:, :window], nfft)
    acf = np.fft.irfft(np.conj(head) * spec, nfft)[:, : max_lag + 1]
    power = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    energy = power[:, lags + window] - power[:, lags]
    diff = np.maximum(energy[:, :1] + energy - 2.0 * acf, 0.0)
    mean = np.cumsum(diff[:, 1:], axis=1) / lags[1:]
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(mean, 1e-12)
    return diff, cmnd


def estimate_f0(audio, sample_rate, fmin=30.0, fmax=4200.0, threshold=0.15, top_db=30.0):
    """Median fundamental frequency in Hz over the loud, periodic frames of ``audio``.

    Frames more than ``top_db`` below the loudest frame (onset silence, release
    tail) are ignored; of the rest, those whose YIN dip stays above ``threshold``
    count as aperiodic and are ignored too. Returns NaN when no frame is left.
    On clean harmonic tones from ``fmin`` to ``fmax`` the error is below 1 cent.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise WaveNetError(f"estimate_f0: expected mono 1-D audio, got shape {x.shape}")
    if not 0 < fmin < fmax < sample_rate / 2:
        raise WaveNetError(
            f"estimate_f0: need 0 < fmin < fmax < sample_rate/2, got fmin={fmin}, "
            f"fmax={fmax}, sample_rate={sample_rate}"
        )
    factor = int(np.ceil(MIN_LAG * fmax / sample_rate))
    if factor > 1:  # band-limited upsampling, so that short periods span enough samples
        x = np.fft.irfft(np.fft.rfft(x), factor * len(x)) * factor
        sample_rate *= factor
    min_lag = int(np.floor(sample_rate / fmax))
    max_lag = int(np.ceil(sample_rate / fmin))
    window = max_lag + 1
    if len(x) < window + max_lag:
        return float("nan")
    hop = max(window // 4, (len(x) - window - max_lag) // MAX_FRAMES + 1)
    frames = _frames(x, window + max_lag, hop)
    loudness = np.sqrt(np.mean(frames[:, :window] ** 2, axis=1))
    if loudness.max() <= 0.0:
        return float("nan")
    frames = frames[loudness >= loudness.max() * 10.0 ** (-top_db / 20.0)]

    diff, d = _difference(frames, window, max_lag)
    inner = d[:, min_lag:max_lag]
    dip = (inner < d[:, min_lag - 1 : max_lag - 1]) & (inner <= d[:, min_lag + 1 : max_lag + 1])
    dip &= inner < threshold
    periodic = dip.any(axis=1)
    if not periodic.any():
        return float("nan")
    diff = diff[periodic]
    tau = min_lag + np.argmax(dip[periodic], axis=1)

    rows = np.arange(len(diff))
    left, mid, right = diff[rows, tau - 1], diff[rows, tau], diff[rows, tau + 1]
    curve = left - 2.0 * mid + right
    shift = np.where(curve > 0, 0.5 * (left - right) / np.where(curve > 0, curve, 1.0), 0.0)
    return float(np.median(sample_rate / (tau + shift)))


def weak_fundamental(audio, sample_rate, f0, floor_db=30.0):
    """True when ``audio`` holds almost nothing at ``f0`` Hz (the band within a semitone of
    it stays ``floor_db`` below the spectrum's peak): the pitch found is then a common
    divisor of other partials, as for a chord, rather than a note's own fundamental."""
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    hz = np.fft.rfftfreq(len(audio), 1.0 / sample_rate)
    band = (hz > f0 * 2 ** (-1 / 12)) & (hz < f0 * 2 ** (1 / 12))
    if not band.any() or spectrum.max() == 0:
        return False
    return spectrum[band].max() < spectrum.max() * 10 ** (-floor_db / 20)
