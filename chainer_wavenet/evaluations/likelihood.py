"""Likelihood: teacher-forced negative log-likelihood in bits per sample (no sampling; the
samples after the first receptive field carry it), of notes or of whole recordings.
"""

import math

import chainer
import numpy as np

from chainer_wavenet.errors import WaveNetError


def nll_bits(model, notes):
    """Teacher-forced negative log-likelihood of each note in bits per sample (a list)."""
    result = []
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for note in notes:
            classes = model.xp.asarray(model.classes(note.audio[None]))
            pitch = (np.array([note.pitch], np.int32) if note.track is None
                     else note.track[None, :classes.shape[1]])
            nats = model.loss(classes, model.xp.asarray(pitch)).array
            result.append(float(nats) / math.log(2))
    return result


def spread_bits(model, z, played, pitch):
    """How sure an autoencoder's decoder is along what it ``played`` (float audio): the mean
    entropy in bits of its distribution at every sample after the first receptive field,
    given the samples played before it, the note's embedding ``z`` (bottleneck, frames; what
    ``model.encode`` gives for the original) and ``pitch`` (a MIDI number, or a track of one
    per sample). Along the original itself: how sure it is of the recording. None for a
    decoder whose output is not a softmax."""
    distribution = model.decoder.distribution
    if not hasattr(distribution, "entropy_bits"):
        return None
    length = z.shape[-1] * model.hop
    played = np.asarray(played, np.float32)[:length]
    classes = np.full((1, length), model.config.decoder.n_classes // 2, np.int32)
    classes[0, :len(played)] = model.classes(played)
    track = np.ndim(pitch) > 0
    pitch = (np.pad(np.asarray(pitch, np.float64)[:length], (0, max(0, length - len(pitch))),
                    mode="edge")[None] if track else np.array([pitch], np.int32))
    xp = model.xp
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        conditions = model.decoder_conditions(xp.asarray(classes), xp.asarray(pitch),
                                              xp.asarray(z[None]))
        outputs = model.decoder(xp.asarray(classes[:, :-1]), *conditions).array
    return float(distribution.entropy_bits(outputs).mean())


def recording_nll_bits(wavenet, classes, global_id=None, features=None, chunk=16384):
    """Teacher-forced NLL in bits per sample of a WaveNet on one recording: its mu-law
    ``classes`` after the first receptive field, with its speaker ``global_id`` and its
    local ``features`` (channels, frames), taken ``chunk`` predicted samples at a time."""
    field = wavenet.receptive_field
    if len(classes) <= field:
        raise WaveNetError(f"a recording of {len(classes)} samples is not longer than the "
                           f"receptive field ({field})")
    hop = max(wavenet.config.local_hop, 1)
    chunk = hop * max(1, chunk // hop)  # every chunk starts on a frame
    xp = wavenet.xp
    ids = None if global_id is None else xp.asarray([global_id], np.int32)
    nats = 0.0
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for start in range(0, len(classes) - field, chunk):
            x = xp.asarray(classes[None, start:start + field + chunk], np.int32)
            local = None if features is None else xp.ascontiguousarray(xp.asarray(
                features[None, :, start // hop:], np.float32))
            nats += float(wavenet.loss(x, ids, local).array) * (x.shape[1] - field)
    return nats / (len(classes) - field) / math.log(2)
