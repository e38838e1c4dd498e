"""WaveNet and the NSynth-style WaveNet autoencoder as Chainer Chains."""

from chainer_wavenet import compat  # noqa: F401  (must run before chainer)
from chainer_wavenet.errors import WaveNetError

__all__ = ["WaveNetError"]
