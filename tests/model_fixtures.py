"""Tiny models and helpers shared by the model tests."""

import chainer
import numpy as np

from chainer_wavenet.audio import mu_law
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import (
    EncoderConfig,
    WaveNetConfig,
    autoencoder_config,
    with_pitch_input,
)
from chainer_wavenet.models.wavenet import WaveNet


def tiny_config(**settings):
    """A WaveNetConfig small enough to run many times per test."""
    values = dict(n_classes=32, residual_channels=8, dilation_channels=8, skip_channels=12,
                  dilations=(1, 2, 4))
    values.update(settings)
    return WaveNetConfig(**values)


def randomize_parameters(model, seed):
    """Give every parameter, biases included, non-trivial random values.

    Zero-initialised biases and a quiet output layer could hide a step form that
    forgets a bias or misaligns a tap; random values make every term count.
    """
    rng = np.random.default_rng(seed)
    for _, param in sorted(model.namedparams()):
        shape = param.shape
        if len(shape) == 3:
            scale = 1.0 / np.sqrt(shape[1] * shape[2])
        elif len(shape) == 2:
            scale = 1.0
        else:
            scale = 0.3
        param.array[...] = rng.normal(0.0, scale, shape).astype(param.dtype)
    return model


def make_wavenet(seed=0, **settings):
    """A tiny WaveNet with random parameters (``settings`` override :func:`tiny_config`)."""
    np.random.seed(seed)
    return randomize_parameters(WaveNet(tiny_config(**settings)), seed)


def random_classes(rng, batch, length, n_classes):
    return rng.integers(0, n_classes, (batch, length)).astype(np.int32)


def random_conditions(config, rng, batch, length):
    """Global ids and local features (covering ``length`` samples) that ``config`` expects."""
    global_ids = None
    local_features = None
    if config.n_global:
        global_ids = rng.integers(0, config.n_global, batch).astype(np.int32)
    if config.local_channels:
        frames = -(-length // config.local_hop)
        local_features = rng.normal(size=(batch, config.local_channels, frames))
        local_features = local_features.astype(np.float32)
    return global_ids, local_features


def parallel_logits(model, x, global_ids=None, local_features=None):
    """The whole-sequence forward pass as a NumPy array (batch, n_classes, outputs)."""
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        return model(x, global_ids, local_features).array


def stepped_logits(model, x, global_ids=None, local_features=None):
    """Logits after each teacher-forced ``step``: (batch, n_classes, N) for x (batch, N)."""
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        model.start(x.shape[0], global_ids, local_features)
        steps = [model.step(x[:, t]) for t in range(x.shape[1])]
    return np.stack(steps, axis=2)


def changed_outputs(before, after, threshold=1e-5):
    """Indices along the last axis where two output arrays differ by more than ``threshold``."""
    difference = np.abs(after - before).reshape(-1, before.shape[-1]).max(axis=0)
    return np.flatnonzero(difference > threshold)


def tiny_encoder_config(**settings):
    values = dict(channels=8, filter_width=3, dilations=(1, 2), bottleneck=4, hop=8)
    values.update(settings)
    return EncoderConfig(**values)


def make_autoencoder(seed=0, encoder_settings=None, **decoder_settings):
    """A tiny WaveNetAutoencoder with random parameters."""
    decoder = dict(n_classes=32, residual_channels=8, dilation_channels=8, skip_channels=12,
                   dilations=(1, 2, 4))
    decoder.update(decoder_settings)
    config = autoencoder_config(tiny_encoder_config(**(encoder_settings or {})), decoder)
    np.random.seed(seed)
    return randomize_parameters(WaveNetAutoencoder(config), seed)


def trained_pitch_autoencoder(recordings, pitches, steps=300, seed=0):
    """A small autoencoder whose decoder reads the pitch as an id and its input two pitch
    periods back, trained by Adam for ``steps`` batches of 4 crops alternating between
    ``recordings`` (float audio), each with its pitch: a MIDI number, or a track of one
    pitch per sample. ``seed`` sets the weights and the crops."""
    encoder = EncoderConfig(channels=16, filter_width=3, dilations=(1, 2, 4, 8, 16, 32),
                            bottleneck=4, hop=256)
    config = with_pitch_input(autoencoder_config(encoder, dict(
        residual_channels=16, dilation_channels=16, skip_channels=32,
        dilations=(1, 2, 4, 8, 16, 32, 64))), "id", 0, lags=2)
    np.random.seed(seed)
    model = WaveNetAutoencoder(config)
    optimizer = chainer.optimizers.Adam(3e-3)
    optimizer.setup(model)
    classes = [mu_law.encode(audio) for audio in recordings]
    rng = np.random.default_rng(seed)
    hop = model.hop
    length = -(-(model.receptive_field + 1024) // hop) * hop
    for _ in range(steps):
        picks = [i % len(recordings) for i in range(4)]
        starts = [rng.integers(0, (len(classes[p]) - length) // hop) * hop for p in picks]
        x = np.stack([classes[p][s:s + length] for p, s in zip(picks, starts, strict=True)])
        if np.ndim(pitches[0]) == 0:
            pitch = np.array([pitches[p] for p in picks], np.int32)
        else:
            pitch = np.stack([pitches[p][s:s + length]
                              for p, s in zip(picks, starts, strict=True)])
        loss = model.loss(x, pitch)
        model.cleargrads()
        loss.backward()
        optimizer.update()
    return model
