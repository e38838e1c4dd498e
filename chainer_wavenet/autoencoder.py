"""The NSynth-style WaveNet autoencoder: a non-causal encoder and a WaveNet decoder."""

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet import mu_law
from chainer_wavenet.config import AutoencoderConfig
from chainer_wavenet.layers import DilatedConv1D
from chainer_wavenet.pitch_signal import harmonic_signal, midi_to_hz
from chainer_wavenet.wavenet import WaveNet


class ResidualBlock(chainer.Chain):
    """ReLU -> centred dilated conv -> ReLU -> 1x1 -> + input (the encoder's layer)."""

    def __init__(self, channels, width, dilation):
        super().__init__()
        with self.init_scope():
            self.conv = DilatedConv1D(channels, channels, width, dilation)
            self.mix = DilatedConv1D(channels, channels, 1)

    def __call__(self, x):
        pad = self.conv.reach // 2
        h = F.pad(F.relu(x), ((0, 0), (0, 0), (pad, pad)), "constant")
        return x + self.mix(F.relu(self.conv(h)))


class Encoder(chainer.Chain):
    """Mu-law classes (batch, time) -> z (batch, bottleneck, time // hop).

    Every layer is non-causal (it sees the past and the future); the
    bottleneck is averaged over windows of ``hop`` samples.
    """

    def __init__(self, config, n_classes):
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        with self.init_scope():
            self.first = DilatedConv1D(1, config.channels, config.filter_width)
            self.blocks = chainer.ChainList(*(
                ResidualBlock(config.channels, config.filter_width, d) for d in config.dilations))
            self.bottleneck = DilatedConv1D(config.channels, config.bottleneck, 1)

    def __call__(self, x):
        batch, length = x.shape
        hop = self.config.hop
        if length % hop:
            raise ValueError(f"encoder input of {length} samples is not a multiple of hop {hop}")
        scale = np.float32(2.0 / (self.n_classes - 1))
        h = (x.astype(np.float32) * scale - 1).astype(self.first.W.dtype)[:, None, :]
        pad = self.first.reach // 2
        h = self.first(F.pad(h, ((0, 0), (0, 0), (pad, pad)), "constant"))
        for block in self.blocks:
            h = block(h)
        z = self.bottleneck(h)
        return F.mean(F.reshape(z, (batch, self.config.bottleneck, length // hop, hop)), axis=3)


class WaveNetAutoencoder(chainer.Chain):
    """Encodes a note into z and decodes it with a WaveNet biased by z and its pitch.

    The pitch reaches the decoder as an id, as a signal (``pitch_source``), or both,
    as the config says.
    """

    def __init__(self, config=None):
        super().__init__()
        self.config = config = config or AutoencoderConfig()
        with self.init_scope():
            self.encoder = Encoder(config.encoder, config.decoder.n_classes)
            self.decoder = WaveNet(config.decoder)

    @property
    def receptive_field(self):
        return self.decoder.receptive_field

    @property
    def hop(self):
        return self.config.encoder.hop

    def pitch_ids(self, pitches):
        """The decoder's global ids for MIDI ``pitches`` (batch,), or None if it takes none."""
        return pitches if self.config.decoder.n_global else None

    def pitch_source(self, pitches, length):
        """The decoder's source for notes of MIDI ``pitches`` (batch,): (batch, channels,
        length) on the model's device, or None if it takes none."""
        if not self.config.pitch_harmonics:
            return None
        pitches = chainer.backend.CpuDevice().send(pitches)
        signal = harmonic_signal(pitches, length, self.config.sample_rate,
                                 self.config.pitch_harmonics)
        return self.xp.asarray(signal, self.decoder.head2.W.dtype)

    def pitch_periods(self, pitches):
        """The decoder's pitch periods in samples (batch,) for MIDI ``pitches``, or None if
        it reads no pitch lags."""
        if not self.config.decoder.pitch_lags:
            return None
        pitches = chainer.backend.CpuDevice().send(pitches)
        return self.xp.asarray(self.config.sample_rate / midi_to_hz(pitches))

    def loss(self, x, pitch):
        """Decoder NLL (nats) of crop x (batch, time) given its own z and pitch (batch,)."""
        return self.decoder.loss(x, self.pitch_ids(pitch), self.encoder(x),
                                 self.pitch_source(pitch, x.shape[1] - 1),
                                 self.pitch_periods(pitch))

    def encode(self, audio):
        """z as NumPy (batch, bottleneck, frames) for float audio (batch, time) or (time,).

        Audio is padded with silence at the end to a whole number of frames.
        """
        audio = np.asarray(audio, np.float32)
        single = audio.ndim == 1
        classes = mu_law.encode(np.atleast_2d(audio), self.config.decoder.n_classes)
        padding = -classes.shape[1] % self.hop
        classes = np.pad(classes, ((0, 0), (0, padding)),
                         constant_values=self.config.decoder.n_classes // 2)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            z = self.encoder(self.xp.asarray(classes)).array
        z = chainer.backend.CpuDevice().send(z)
        return z[0] if single else z
