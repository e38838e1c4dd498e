"""Model snapshots: weights and config in one HDF5 file that loads with only its path.

Layout (readable with plain h5py)::

    /                 attrs: format = "chainer-wavenet", format_version = 1,
                             config = JSON of the model config ({"kind": ...}),
                             metadata = JSON of extra facts (sample rate, speakers, iteration)
    /weights/...      one dataset per parameter, at the link's path, e.g.
                      /weights/blocks/0/conv/W (out, in, width),
                      /weights/decoder/blocks/3/conv/W for the autoencoder,
                      /weights/flows/1/blocks/3/conv/W for a student (kind "student")
    /raw_weights/...  only from a run with an exponential moving average of its weights
                      (``--ema``): /weights then holds the average, and this group the
                      optimizer's own weights, laid out alike
"""

import json
import os

import chainer
import h5py

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_hdf5
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import (
    StudentConfig,
    WaveNetConfig,
    config_from_json,
    config_to_json,
)
from chainer_wavenet.models.student import Student
from chainer_wavenet.models.wavenet import WaveNet

FORMAT = "chainer-wavenet"
FORMAT_VERSION = 1
RAW_WEIGHTS = "raw_weights"


def build(config):
    """A fresh model for a WaveNetConfig, an AutoencoderConfig or a StudentConfig."""
    if isinstance(config, StudentConfig):
        return Student(config)
    return WaveNet(config) if isinstance(config, WaveNetConfig) else WaveNetAutoencoder(config)


def save(path, model, metadata=None, force=False, raw=None):
    """Write ``model`` (on any device) with its config to ``path``, atomically.

    ``raw``: when ``model`` holds averaged weights, the model of the same config whose own
    weights they average, kept under /raw_weights.
    """
    with atomic_hdf5(path, force=force) as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["config"] = config_to_json(model.config)
        f.attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True)
        chainer.serializers.HDF5Serializer(f.create_group("weights")).save(model)
        if raw is not None:
            chainer.serializers.HDF5Serializer(f.create_group(RAW_WEIGHTS)).save(raw)


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def read_config(path):
    """The config and metadata stored in snapshot ``path``, without building the model."""
    with _open(path) as f:
        return _config_and_metadata(path, f)


def _open(path):
    if not os.path.exists(path):
        raise WaveNetError(f"{path}: no such model snapshot; check the --model path")
    if os.path.isdir(path):
        raise WaveNetError(f"{path}: is a folder, not a model snapshot (.h5 file)")
    try:
        return h5py.File(path, "r")
    except OSError:
        raise WaveNetError(f"{path}: not a readable HDF5 file (truncated, or not a model "
                           f"snapshot); point --model at a model .h5 written by training"
                           ) from None


def _config_and_metadata(path, f):
    if _text(f.attrs.get("format", "")) != FORMAT:
        raise WaveNetError(f"{path}: HDF5 file is not a chainer-wavenet model snapshot")
    config = config_from_json(_text(f.attrs.get("config", "")), what=str(path))
    try:
        metadata = json.loads(_text(f.attrs.get("metadata", "{}")))
    except ValueError:
        raise WaveNetError(f"{path}: the snapshot's metadata is damaged (not JSON)") from None
    return config, metadata


def has_raw_weights(path):
    """Whether snapshot ``path`` keeps raw weights beside averaged ones."""
    with _open(path) as f:
        return RAW_WEIGHTS in f


def load(path, device=None, raw=False):
    """The model stored in ``path``, ready to use; ``model.metadata`` holds its extra facts.

    Its weights are the moving average where training kept one, or with ``raw`` the
    optimizer's own (the same where no average was kept).
    """
    with _open(path) as f:
        config, metadata = _config_and_metadata(path, f)
        model = build(config)
        _read_weights(path, f, model, RAW_WEIGHTS if raw and RAW_WEIGHTS in f else "weights")
    model.metadata = metadata
    if device is not None:
        model.to_device(device)
    return model


def load_weights(path, model):
    """Fill ``model`` from ``path``; WaveNetError if the snapshot holds another config."""
    with _open(path) as f:
        config, _ = _config_and_metadata(path, f)
        if config != model.config:
            raise WaveNetError(f"{path}: snapshot is of another model config than the one "
                               f"asked for; train with the --preset and settings it was "
                               f"trained with")
        _read_weights(path, f, model)


def _read_weights(path, f, model, group="weights"):
    try:
        chainer.serializers.HDF5Deserializer(f[group]).load(model)
    except (KeyError, ValueError, TypeError, OSError) as error:
        raise WaveNetError(f"{path}: weights do not fit the stored config ({error}); "
                           f"the snapshot is damaged") from None
