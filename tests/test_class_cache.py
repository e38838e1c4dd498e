"""The memory-mapped class cache: same classes as decoding, reused, rebuilt when a file
changes, never left half-written, and the autoencoder trained from it bit for bit alike."""

import json

import numpy as np
import pytest
from test_resume import RATE, tone, train, weights, write_nsynth, write_speaker_folder

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets import class_cache
from chainer_wavenet.datasets.nsynth import load_nsynth
from chainer_wavenet.errors import WaveNetError

pytestmark = pytest.mark.slow


@pytest.fixture
def notes(tmp_path):
    return load_nsynth(write_nsynth(tmp_path / "nsynth"), "train")


def test_cached_classes_are_the_decoded_ones_and_read_only(notes, tmp_path):
    cached = notes.classes(256, cache=tmp_path / "cache")
    decoded = notes.classes(256)
    assert len(cached) == len(decoded) == 2
    for mapped, kept in zip(cached, decoded, strict=True):
        np.testing.assert_array_equal(mapped, kept, strict=True)
        assert isinstance(mapped, np.memmap)
        with pytest.raises(ValueError, match="read-only"):
            mapped[0] = 1
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".classes", ".json"]


def test_a_second_run_reads_no_wav(notes, tmp_path, monkeypatch):
    first = [m.copy() for m in notes.classes(256, cache=tmp_path / "cache")]

    def no_reading(*args):
        raise AssertionError("a WAV file was read again")

    monkeypatch.setattr(class_cache, "read_wav", no_reading)
    for again, before in zip(notes.classes(256, cache=tmp_path / "cache"), first, strict=True):
        np.testing.assert_array_equal(again, before)


def test_a_changed_file_rebuilds_the_cache(notes, tmp_path):
    before = notes.classes(256, cache=tmp_path / "cache")[1].copy()
    write_wav(notes.notes[1].path, tone(np.random.default_rng(9), 900, 880.0), RATE, force=True)
    after = notes.classes(256, cache=tmp_path / "cache")
    assert len(after[1]) == 900 != len(before)
    np.testing.assert_array_equal(after[1], notes.classes(256)[1])


def test_a_failed_build_leaves_no_cache_and_names_the_file(notes, tmp_path):
    bad = notes.notes[1].path
    good = bad.read_bytes()
    bad.write_bytes(b"not audio")
    with pytest.raises(WaveNetError, match=bad.name):
        notes.classes(256, cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
    bad.write_bytes(good)
    assert len(notes.classes(256, cache=tmp_path / "cache")) == 2


def test_a_damaged_index_is_rebuilt(notes, tmp_path):
    notes.classes(256, cache=tmp_path / "cache")
    index, = (tmp_path / "cache").glob("*.json")
    index.write_text("{")
    again = notes.classes(256, cache=tmp_path / "cache")
    assert json.loads(index.read_text())["n_classes"] == 256
    np.testing.assert_array_equal(again[0], notes.classes(256)[0])


@pytest.mark.parametrize("script,dataset,flags,caches", [
    ("autoencoder", write_nsynth, ("--preview-notes", 0), 2),  # train and valid notes
    ("wavenet", write_speaker_folder, ("--mel", 8, "--mel-hop", 64, "--mel-window", 256), 1),
    ("wavenet", write_speaker_folder, ("--mel", 8, "--mel-hop", 64, "--mel-window", 256,
                                       "--output", "logistic_mixture", "--upsampling",
                                       "transposed", "--ema", 0.9), 1),
])
def test_training_from_the_cache_gives_the_same_model(tmp_path, script, dataset, flags, caches):
    flags = ("--dataset", dataset(tmp_path / "data"), *flags, "--length", 64, "--batchsize", 2,
             "--iteration", 3, "--interval", 3, "--seed", 1)
    train(script, "--out", tmp_path / "plain", *flags)
    for run in ("cached", "cached-again"):
        train(script, "--out", tmp_path / run, "--cache", tmp_path / "cache", *flags)
    plain = weights(tmp_path / "plain" / "model.h5")[0]
    for run in ("cached", "cached-again"):
        cached = weights(tmp_path / run / "model.h5")[0]
        assert sorted(cached) == sorted(plain)
        for name, array in plain.items():
            np.testing.assert_array_equal(cached[name], array, err_msg=name)
    assert len(list((tmp_path / "cache").glob("*.classes"))) == caches
