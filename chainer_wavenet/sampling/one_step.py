"""One-step draws: every sample drawn from the model given the recording's own past.

Free-running, a model reads what it played itself; here it reads the original, one
parallel pass. What these draws lose against the original is the spread of the model's
distribution alone; what a free-running note loses beyond that is its errors feeding on
each other (docs/quality.md).
"""

import chainer
import numpy as np

from chainer_wavenet.sampling.generate import check_generation_args


def one_step_classes(wavenet, classes, conditions=(), temperature=1.0, seed=None, top_p=1.0):
    """int32 classes (batch, N), NumPy: the first receptive field of ``classes`` as it is,
    every later sample drawn at ``temperature`` (from the nucleus ``top_p``) given the
    ``classes`` before it. ``conditions``: what ``wavenet`` reads beside its input, in the
    order of its call (global ids, local features, source, periods)."""
    check_generation_args(1, 1, temperature, top_p)
    xp = wavenet.xp
    x = xp.asarray(classes, np.int32)
    with (chainer.using_device(wavenet.device), chainer.no_backprop_mode(),
          chainer.using_config("train", False)):
        outputs = wavenet(x[:, :-1], *conditions).array
    drawn = draw_each(wavenet.distribution, outputs, np.random.default_rng(seed), temperature,
                      top_p)
    result = x.copy()
    result[:, -drawn.shape[1]:] = drawn
    return chainer.backend.CpuDevice().send(result)


def draw_each(distribution, outputs, rng, temperature=1.0, top_p=1.0):
    """int32 classes (batch, length), on ``outputs``' device: one draw from ``distribution``
    at every sample of a parallel pass's ``outputs`` (batch, channels, length), its
    uniforms from the NumPy Generator ``rng``."""
    xp = chainer.backend.get_array_module(outputs)
    batch, channels, length = outputs.shape
    uniform = rng.random((batch * length, distribution.draws), dtype=np.float32)
    drawn = distribution.sample(outputs.transpose(0, 2, 1).reshape(batch * length, channels),
                                temperature, xp.asarray(uniform), top_p)
    return drawn.reshape(batch, length)


def one_step_note(model, audio, pitch, temperature=1.0, seed=None, top_p=1.0):
    """float32 audio: a note (float ``audio``, one MIDI ``pitch`` or a track of one per
    sample) played one step at a time by an autoencoder from its own z and true past."""
    classes = model.xp.asarray(model.classes(np.asarray(audio)[None]))
    pitch = np.asarray(pitch)[None]
    if pitch.ndim == 1:
        pitch = pitch.astype(np.int32)
    conditions = model.decoder_conditions(classes, model.xp.asarray(pitch))
    return model.waveform(one_step_classes(model.decoder, classes, conditions, temperature,
                                           seed, top_p))[0]
