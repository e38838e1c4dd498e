"""Log-mel spectrograms: the frame-rate features a WaveNet can be locally conditioned on.

Frame ``f`` describes samples ``[f * hop, (f + 1) * hop)``, the convention of
``WaveNet``'s ``local_features``: its analysis window of ``n_fft`` samples is
centred on the middle of those samples (the signal is taken as zero outside
itself). A signal of N samples gives ``ceil(N / hop)`` frames.
"""

from dataclasses import asdict, dataclass

import numpy as np

from chainer_wavenet.errors import WaveNetError

# Power below this floor is clipped: about 70 dB under a full-scale sine's mel band.
FLOOR = 1e-5
# Frames analysed together: bounds the memory of a long recording's analysis.
FRAMES_PER_BLOCK = 2048


@dataclass(frozen=True)
class MelSettings:
    """What a model's features were computed with; kept in its snapshot's metadata."""

    n_mels: int = 80
    hop: int = 256
    n_fft: int = 1024
    fmin: float = 40.0
    fmax: float | None = None  # None: half the sample rate

    def check(self, sample_rate):
        """WaveNetError for settings that give empty or meaningless bands at ``sample_rate``."""
        fmax = self.top(sample_rate)
        if self.n_mels < 1 or self.hop < 1:
            raise WaveNetError(f"mel features need n_mels >= 1 and hop >= 1, got "
                               f"{self.n_mels} and {self.hop}")
        if self.n_fft < self.hop:
            raise WaveNetError(f"mel window of {self.n_fft} samples is shorter than its hop "
                               f"of {self.hop}: samples between windows would go unseen")
        if not 0 <= self.fmin < fmax <= sample_rate / 2:
            raise WaveNetError(f"mel bands need 0 <= fmin < fmax <= {sample_rate / 2:g} Hz, "
                               f"got {self.fmin:g} and {fmax:g}")
        spacing = sample_rate / self.n_fft
        narrowest = _mel_edges(self.fmin, fmax, self.n_mels)[:3]
        if narrowest[2] - narrowest[0] < 2 * spacing:
            raise WaveNetError(f"{self.n_mels} mel bands are too narrow for a window of "
                               f"{self.n_fft} samples at {sample_rate} Hz: use fewer bands "
                               f"or a longer window")

    def top(self, sample_rate):
        return sample_rate / 2 if self.fmax is None else self.fmax

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        return cls(**values)


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def _mel_edges(fmin, fmax, n_mels):
    """The n_mels + 2 band edges in Hz, equally spaced on the mel scale."""
    return _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))


def filterbank(settings, sample_rate):
    """(n_mels, n_fft // 2 + 1) triangular bands, each of unit area in Hz."""
    settings.check(sample_rate)
    edges = _mel_edges(settings.fmin, settings.top(sample_rate), settings.n_mels)
    bins = np.fft.rfftfreq(settings.n_fft, 1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))


def log_mel(audio, sample_rate, settings):
    """Log-mel features (n_mels, ceil(len(audio) / hop)) float32 of a mono float signal.

    Values are ``log(max(power, FLOOR))`` mapped linearly so that silence is -1 and
    a full-scale sine's band is about 1.8.
    """
    log_floor = np.log(FLOOR)
    power = mel_power(audio, sample_rate, settings)
    scaled = (np.log(np.maximum(power, FLOOR)) - log_floor) / -log_floor * 2 - 1
    return scaled.astype(np.float32)


def mel_power(audio, sample_rate, settings):
    """Mel band power (n_mels, ceil(len(audio) / hop)), float64, of a mono float signal."""
    audio = np.asarray(audio, np.float64)
    if audio.ndim != 1 or not len(audio):
        raise WaveNetError(f"mel features need a non-empty 1-D signal, got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise WaveNetError("mel features need a finite signal: it holds NaN or inf")
    bands = filterbank(settings, sample_rate).T * (sample_rate / settings.n_fft)
    hop, n_fft = settings.hop, settings.n_fft
    frames = -(-len(audio) // hop)
    # Window f covers [f * hop + hop / 2 - n_fft / 2, ... + n_fft): pad so it starts at f * hop.
    before = n_fft // 2 - hop // 2
    padded = np.zeros(before + frames * hop + n_fft, np.float64)
    padded[before:before + len(audio)] = audio
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:frames]
    window = np.hanning(n_fft + 1)[:-1]
    power = np.concatenate([
        np.abs(np.fft.rfft(windows[f:f + FRAMES_PER_BLOCK] * window, axis=1)) ** 2 @ bands
        for f in range(0, frames, FRAMES_PER_BLOCK)]) / (window ** 2).sum()
    return power.T
