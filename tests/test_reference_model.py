"""The committed reference model loads on its own and plays a note."""

from pathlib import Path

import numpy as np

from chainer_wavenet import snapshot
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.sampling import synthesis

MODEL = Path(__file__).resolve().parent.parent / "models" / "reference" / "model.h5"


def test_the_reference_model_encodes_and_decodes():
    model = snapshot.load(MODEL)
    assert isinstance(model, WaveNetAutoencoder)
    assert model.config.decoder.pitch_lags == 2 and model.metadata["sample_rate"] == 16000
    t = np.arange(4 * model.hop) / 16000
    z = model.encode((0.3 * np.sin(2 * np.pi * 261.6 * t)).astype(np.float32))
    assert z.shape == (model.config.encoder.bottleneck, 4) and np.isfinite(z).all()
    audio = synthesis.decode(model, z, 60, seed=0, progress=False)
    assert audio.shape == (4 * model.hop,) and np.abs(audio).max() > 0
