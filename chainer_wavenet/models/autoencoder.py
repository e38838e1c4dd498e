"""The NSynth-style WaveNet autoencoder: a non-causal encoder and a WaveNet decoder."""

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.emphasis import deemphasize, emphasize
from chainer_wavenet.audio.pitch_signal import harmonic_signal, midi_to_hz
from chainer_wavenet.audio.samples import checked_notes
from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D
from chainer_wavenet.models.config import MIDI_PITCHES, AutoencoderConfig
from chainer_wavenet.models.wavenet import WaveNet


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
    as the config says. ``pitch`` arguments are MIDI numbers: (batch,), one per note,
    or a track (batch, samples) giving the pitch of every sample of a melody (rests
    filled, see :func:`chainer_wavenet.audio.pitch_track.fill_rests`). A track reaches the
    decoder's id table once per frame of z (the pitch at the frame's centre) and its
    signals at every sample; a track holding one pitch plays as that note.
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

    def pitch_ids(self, pitch):
        """The decoder's global ids: (batch,) for notes, (batch, frames) for a track of
        ``frames * hop`` samples or more; None if it takes none."""
        if not self.config.decoder.n_global:
            return None
        if pitch.ndim == 1:
            return pitch
        xp = chainer.backend.get_array_module(pitch)
        centres = pitch[:, self.hop // 2::self.hop][:, :pitch.shape[1] // self.hop]
        return xp.clip(xp.rint(centres), 0, MIDI_PITCHES - 1).astype(np.int32)

    def pitch_source(self, pitch, length):
        """The decoder's source for its first ``length`` inputs: (batch, channels, length)
        on the model's device, or None if it takes none."""
        if not self.config.pitch_harmonics:
            return None
        pitch = chainer.backend.CpuDevice().send(pitch)
        signal = harmonic_signal(_predicted(pitch), length, self.config.sample_rate,
                                 self.config.pitch_harmonics)
        return self.xp.asarray(signal, self.decoder.head2.W.dtype)

    def pitch_periods(self, pitch):
        """The decoder's pitch periods in samples: (batch,) for notes, (batch, samples - 1)
        for a track (the period of the sample after each input), or None if it reads no
        pitch lags."""
        if not self.config.decoder.pitch_lags:
            return None
        pitch = chainer.backend.CpuDevice().send(pitch)
        return self.xp.asarray(self.config.sample_rate / midi_to_hz(_predicted(pitch)))

    def loss(self, x, pitch, inputs=None):
        """Decoder NLL (nats) of crop x (batch, time) given its own z and ``pitch``: (batch,)
        or a track covering the crop, (batch, time) or (batch, 1, time) as crops give it.
        ``inputs``: what the decoder reads as its past in x's place (the encoder reads x)."""
        return self.decoder.loss(x, *self.decoder_conditions(x, pitch), inputs)

    def decoder_conditions(self, x, pitch, z=None):
        """What the decoder reads beside its input to predict crop x (batch, time) from its
        own past, as ``pitch`` asks (see :meth:`loss`): global ids, z, source and periods.
        ``z``: another embedding (batch, bottleneck, frames) to read in place of x's own."""
        if pitch.ndim == 3:
            pitch = pitch[:, 0]
        return (self.pitch_ids(pitch), self.encoder(x) if z is None else z,
                self.pitch_source(pitch, x.shape[1] - 1), self.pitch_periods(pitch))

    def classes(self, audio):
        """The decoder's int32 classes of float ``audio`` (any shape): pre-emphasized as the
        config says (see :mod:`chainer_wavenet.audio.emphasis`), then mu-law encoded."""
        return mu_law.encode(emphasize(audio, self.config.pre_emphasis),
                             self.config.decoder.n_classes)

    def waveform(self, classes):
        """Float32 audio of decoder ``classes`` (..., time): the inverse of :meth:`classes`."""
        return deemphasize(mu_law.decode(classes, self.config.decoder.n_classes),
                           self.config.pre_emphasis)

    def encode(self, audio):
        """z as NumPy (batch, bottleneck, frames) for float audio (batch, time) or (time,).

        Audio is padded with silence at the end to a whole number of frames. Integer
        samples, values outside [-1, 1] and notes shorter than one frame (such as a
        (frames, channels) stereo array) raise WaveNetError.
        """
        audio = checked_notes(audio, self.hop)
        single = audio.ndim == 1
        classes = self.classes(np.atleast_2d(audio))
        padding = -classes.shape[1] % self.hop
        classes = np.pad(classes, ((0, 0), (0, padding)),
                         constant_values=self.config.decoder.n_classes // 2)
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            z = self.encoder(self.xp.asarray(classes)).array
        z = chainer.backend.CpuDevice().send(z)
        return z[0] if single else z


def _predicted(pitch):
    """A track's pitch of the sample predicted after each input (it starts one later);
    one pitch per note as it is."""
    return pitch if pitch.ndim == 1 else pitch[:, 1:]
