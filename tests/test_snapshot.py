"""HDF5 model snapshots: round trips, metadata, and errors that name the file."""

import h5py
import numpy as np
import pytest
from model_fixtures import (
    make_autoencoder,
    make_wavenet,
    parallel_logits,
    random_classes,
    random_conditions,
)

from chainer_wavenet import WaveNetError, snapshot
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.wavenet import WaveNet


@pytest.fixture
def saved_wavenet(tmp_path):
    """A globally conditioned WaveNet and the path it was saved to."""
    model = make_wavenet(n_global=4, input_mode="scalar", filter_width=3)
    path = tmp_path / "model.h5"
    snapshot.save(path, model, metadata={"sample_rate": 16000, "speakers": ["a", "b"]})
    return model, path


def test_wavenet_round_trip_gives_identical_outputs(saved_wavenet):
    model, path = saved_wavenet
    loaded = snapshot.load(path)
    assert isinstance(loaded, WaveNet)
    assert loaded.config == model.config
    rng = np.random.default_rng(0)
    x = random_classes(rng, 2, model.receptive_field + 10, 32)
    ids, _ = random_conditions(model.config, rng, 2, x.shape[1])
    np.testing.assert_array_equal(parallel_logits(loaded, x, ids), parallel_logits(model, x, ids))
    for (name, param), (loaded_name, loaded_param) in zip(
            sorted(model.namedparams()), sorted(loaded.namedparams()), strict=True):
        assert name == loaded_name
        np.testing.assert_array_equal(loaded_param.array, param.array)


def test_autoencoder_round_trip_gives_identical_outputs(tmp_path):
    model = make_autoencoder(filter_width=3)
    path = tmp_path / "autoencoder.h5"
    snapshot.save(path, model)
    loaded = snapshot.load(str(path))
    assert isinstance(loaded, WaveNetAutoencoder)
    assert loaded.config == model.config
    audio = np.sin(np.arange(64) * 0.2).astype(np.float32)
    np.testing.assert_array_equal(loaded.encode(audio), model.encode(audio))
    rng = np.random.default_rng(1)
    x = random_classes(rng, 1, 64, 32)
    pitch = np.array([60], np.int32)
    assert float(loaded.loss(x, pitch).array) == float(model.loss(x, pitch).array)


def test_metadata_round_trip(saved_wavenet):
    model, path = saved_wavenet
    loaded = snapshot.load(path)
    assert loaded.metadata == {"sample_rate": 16000, "speakers": ["a", "b"]}
    config, metadata = snapshot.read_config(path)
    assert config == model.config
    assert metadata == loaded.metadata


def test_metadata_defaults_to_empty(tmp_path):
    path = tmp_path / "plain.h5"
    snapshot.save(path, make_wavenet())
    assert snapshot.load(path).metadata == {}


def test_snapshot_is_plain_hdf5_with_the_documented_layout(saved_wavenet):
    model, path = saved_wavenet
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "chainer-wavenet"
        assert f.attrs["format_version"] == 1
        weights = f["weights/blocks/0/conv/W"][...]
    np.testing.assert_array_equal(weights, model.blocks[0].conv.W.array)


def test_save_refuses_to_overwrite_without_force(saved_wavenet):
    _, path = saved_wavenet
    other = make_wavenet(seed=1, n_global=4, input_mode="scalar", filter_width=3)
    with pytest.raises(WaveNetError, match="already exists"):
        snapshot.save(path, other)
    snapshot.save(path, other, force=True)
    loaded = snapshot.load(path)
    np.testing.assert_array_equal(loaded.head2.W.array, other.head2.W.array)
    assert loaded.metadata == {}


def test_save_leaves_no_temporary_files(tmp_path):
    snapshot.save(tmp_path / "model.h5", make_wavenet())
    assert [p.name for p in tmp_path.iterdir()] == ["model.h5"]


def test_load_weights_fills_a_model_of_the_same_config(saved_wavenet):
    model, path = saved_wavenet
    target = make_wavenet(seed=5, n_global=4, input_mode="scalar", filter_width=3)
    snapshot.load_weights(path, target)
    np.testing.assert_array_equal(target.blocks[1].conv.W.array, model.blocks[1].conv.W.array)


def expect_error_naming(path, reason, call=snapshot.load, *args):
    """The WaveNetError of ``call(path, *args)``: it names the path and says ``reason``."""
    with pytest.raises(WaveNetError, match=reason) as error:
        call(path, *args)
    assert str(path) in str(error.value)
    return str(error.value)


def test_load_weights_into_another_config_raises(saved_wavenet):
    _, path = saved_wavenet
    other = make_wavenet(n_global=4, input_mode="scalar", filter_width=2)
    before = other.blocks[0].conv.W.array.copy()
    expect_error_naming(path, "another model config", snapshot.load_weights, other)
    np.testing.assert_array_equal(other.blocks[0].conv.W.array, before)


def test_missing_path(tmp_path):
    assert "no such" in expect_error_naming(tmp_path / "absent.h5", "no such model snapshot")


def test_folder(tmp_path):
    assert "folder" in expect_error_naming(tmp_path, "is a folder, not a model snapshot")


def test_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a snapshot\n")
    expect_error_naming(path, "not a readable HDF5 file")
    expect_error_naming(path, "not a readable HDF5 file", snapshot.read_config)


def test_truncated_snapshot(saved_wavenet, tmp_path):
    _, path = saved_wavenet
    data = path.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[:len(data) // 2])
    expect_error_naming(truncated, "not a readable HDF5 file")


def test_hdf5_file_of_another_kind(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(4)
    message = expect_error_naming(path, "not a chainer-wavenet model snapshot")
    assert "not a chainer-wavenet" in message


def test_snapshot_with_a_missing_weight(saved_wavenet):
    _, path = saved_wavenet
    with h5py.File(path, "r+") as f:
        del f["weights/blocks/0/conv/W"]
    expect_error_naming(path, "weights do not fit the stored config")


def test_snapshot_with_an_unreadable_config(saved_wavenet):
    _, path = saved_wavenet
    with h5py.File(path, "r+") as f:
        f.attrs["config"] = "{broken"
    expect_error_naming(path, "not a chainer-wavenet model config")


def test_snapshot_without_its_config(saved_wavenet):
    _, path = saved_wavenet
    with h5py.File(path, "r+") as f:
        del f.attrs["config"]
    expect_error_naming(path, "not a chainer-wavenet model config")


def test_snapshot_with_unreadable_metadata(saved_wavenet):
    _, path = saved_wavenet
    with h5py.File(path, "r+") as f:
        f.attrs["metadata"] = "not json"
    expect_error_naming(path, "metadata is damaged")
