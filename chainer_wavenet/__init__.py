"""WaveNet and the NSynth-style WaveNet autoencoder as Chainer Chains.

    import chainer_wavenet
    model = chainer_wavenet.load("result/autoencoder/model.h5")
    audio = chainer_wavenet.read_wav("note.wav")   # float32 mono in [-1, 1]
    z = model.encode(audio)   # (bottleneck, frames) NumPy
"""

from chainer_wavenet import compat  # noqa: F401  (must run before chainer)
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import AutoencoderConfig, EncoderConfig, WaveNetConfig
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.sampling.generate import generate
from chainer_wavenet.sampling.synthesis import decode
from chainer_wavenet.snapshot import load, save

__all__ = ["AutoencoderConfig", "EncoderConfig", "WaveNet", "WaveNetAutoencoder",
           "WaveNetConfig", "WaveNetError", "decode", "generate", "load", "read_wav", "save",
           "write_wav"]
