"""The library behind the sample commands: parsing, note selection, decoding, interpolation."""

import json

import h5py
import numpy as np
import pytest
from model_fixtures import make_autoencoder, make_wavenet, parallel_logits

from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.sampling import (
    inputs as sampling_inputs,
    outputs as sampling_outputs,
    synthesis,
)

HOP = 8


@pytest.fixture(scope="module")
def autoencoder():
    return make_autoencoder(seed=3)


def test_parse_duration():
    assert sampling_inputs.parse_duration("16000", 16000, "--length") == 16000
    assert sampling_inputs.parse_duration("2.5s", 16000, "--length") == 40000
    assert sampling_inputs.parse_duration(300, 16000, "--length") == 300
    for bad in ("abc", "0", "-3", "0.00001s", "nans", "s"):
        with pytest.raises(WaveNetError, match="--length"):
            sampling_inputs.parse_duration(bad, 16000, "--length")


def test_speaker_id_by_name_or_id():
    model = make_wavenet(n_global=3)
    model.metadata = {"speakers": ["alice", "bob", "carol"]}
    assert sampling_inputs.speaker_id(model, "bob") == 1
    assert sampling_inputs.speaker_id(model, "2") == 2
    for bad in ("dave", "3"):
        with pytest.raises(WaveNetError, match="0 = alice, 1 = bob, 2 = carol"):
            sampling_inputs.speaker_id(model, bad)
    with pytest.raises(WaveNetError, match="choose one"):
        sampling_inputs.speaker_id(model, None)


def test_speaker_id_without_names_or_conditioning():
    model = make_wavenet(n_global=2)
    model.metadata = {}
    assert sampling_inputs.speaker_id(model, "1") == 1
    with pytest.raises(WaveNetError, match="ids 0..1"):
        sampling_inputs.speaker_id(model, "x")
    assert sampling_inputs.speaker_id(make_wavenet(n_global=1), None) == 0
    assert sampling_inputs.speaker_id(make_wavenet(), None) is None
    with pytest.raises(WaveNetError, match="not conditioned"):
        sampling_inputs.speaker_id(make_wavenet(), "alice")


def test_check_model(autoencoder):
    sampling_inputs.check_model(autoencoder, "ae.h5", autoencoder=True)
    sampling_inputs.check_model(make_wavenet(), "wn.h5", autoencoder=False)
    with pytest.raises(WaveNetError, match="ae.h5: is an autoencoder"):
        sampling_inputs.check_model(autoencoder, "ae.h5", autoencoder=False)
    with pytest.raises(WaveNetError, match="wn.h5: is a WaveNet"):
        sampling_inputs.check_model(make_wavenet(), "wn.h5", autoencoder=True)
    with pytest.raises(WaveNetError, match="local features"):
        sampling_inputs.check_model(make_wavenet(local_channels=2), "wn.h5", autoencoder=False)


def test_sample_audio_starts_with_the_prime():
    model = make_wavenet()
    prime = np.array([3, 9, 20, 31], np.int32)
    audio = synthesis.sample_audio(model, 10, batch_size=2, prime=prime, seed=0,
                                   progress=False)
    assert audio.shape == (2, 14) and audio.dtype == np.float32
    np.testing.assert_array_equal(audio[:, :4], np.tile(mu_law.decode(prime, 32), (2, 1)))


def test_decode_is_the_decoders_own_prediction(autoencoder):
    """Near-zero temperature: each sample is the teacher-forced argmax at its position."""
    audio = np.sin(np.arange(10 * HOP) / 3.0).astype(np.float32)
    z = autoencoder.encode(np.stack([audio, audio[::-1]]))
    decoded = synthesis.decode(autoencoder, z, [60, 72], temperature=1e-4, seed=0,
                               progress=False)
    assert decoded.shape == (2, 10 * HOP) and decoded.dtype == np.float32
    classes = mu_law.encode(decoded, 32)
    assert np.all(classes[:, 0] == 16)
    logits = parallel_logits(autoencoder.decoder, classes[:, :-1], np.array([60, 72], np.int32),
                             z)
    field = autoencoder.receptive_field
    np.testing.assert_array_equal(logits.argmax(axis=1), classes[:, field:])


def test_decode_one_note_and_bad_inputs(autoencoder):
    z = autoencoder.encode(np.zeros(3 * HOP, np.float32))
    first = synthesis.decode(autoencoder, z, 60, seed=5, progress=False)
    assert first.shape == (3 * HOP,)
    np.testing.assert_array_equal(first, synthesis.decode(autoencoder, z, 60, seed=5,
                                                          progress=False))
    with pytest.raises(WaveNetError, match="0..127"):
        synthesis.decode(autoencoder, z, 128, progress=False)
    with pytest.raises(WaveNetError, match="one pitch per note"):
        synthesis.decode(autoencoder, np.stack([z, z]), [60, 61, 62], progress=False)
    with pytest.raises(WaveNetError, match="bottleneck"):
        synthesis.decode(autoencoder, z[:2], 60, progress=False)


def test_interpolate_includes_both_ends():
    z_a = np.zeros((4, 5), np.float32)
    z_b = np.ones((4, 7), np.float32)
    path = synthesis.interpolate(z_a, z_b, 3)
    assert path.shape == (3, 4, 5)
    np.testing.assert_array_equal(path[:, 0, 0], [0.0, 0.5, 1.0])
    with pytest.raises(WaveNetError, match="--steps"):
        synthesis.interpolate(z_a, z_b, 1)


def test_interpolate_mixes_every_channel_and_frame():
    """Each step is (1 - w) z_a + w z_b over the first frames of both, w from 0 to 1."""
    rng = np.random.default_rng(0)
    z_a = rng.normal(size=(4, 5)).astype(np.float32)
    z_b = rng.normal(size=(4, 7)).astype(np.float32)
    path = synthesis.interpolate(z_a, z_b, 5)
    np.testing.assert_array_equal(path[0], z_a)
    np.testing.assert_array_equal(path[-1], z_b[:, :5])
    for step, weight in enumerate(np.linspace(0.0, 1.0, 5)):
        np.testing.assert_allclose(path[step], (1 - weight) * z_a + weight * z_b[:, :5],
                                   rtol=1e-6, atol=1e-6)


class RecordingEncoder:
    hop = HOP

    def __init__(self):
        self.batches = []

    def encode(self, audio):
        self.batches.append(audio.shape)
        return np.zeros((len(audio), 2, audio.shape[1] // HOP), np.float32)


def test_encode_all_batches_only_equal_lengths():
    lengths = [16, 16, 16, 32, 16]
    model = RecordingEncoder()
    zs = list(synthesis.encode_all(model, (np.zeros(n) for n in lengths), batch_size=2))
    assert [z.shape[1] for z in zs] == [2, 2, 2, 4, 2]
    assert model.batches == [(2, 16), (1, 16), (1, 32), (1, 16)]


def test_decode_all_keeps_order_and_lengths(autoencoder):
    """Each note comes back in its place: the equal-length pair is decoded as one batch
    with the seed, the longer note alone with the next seed."""
    zs = [autoencoder.encode(np.sin(np.arange(n * HOP) / f).astype(np.float32))
          for n, f in ((2, 2.0), (2, 5.0), (3, 3.0))]
    audio = synthesis.decode_all(autoencoder, zs, [60, 61, 62], batch_size=2, seed=1,
                                 progress=False)
    assert [len(a) for a in audio] == [2 * HOP, 2 * HOP, 3 * HOP]
    pair = synthesis.decode(autoencoder, np.stack(zs[:2]), [60, 61], seed=1, progress=False)
    expected = [*pair, synthesis.decode(autoencoder, zs[2], 62, seed=2, progress=False)]
    assert not np.array_equal(pair[0], pair[1])
    for decoded, wanted in zip(audio, expected, strict=True):
        np.testing.assert_array_equal(decoded, wanted)


def test_parse_pitches():
    assert sampling_inputs.parse_pitches("48, 55,60") == [48, 55, 60]
    for bad in ("48,x", "48,128", ""):
        with pytest.raises(WaveNetError, match="--pitches"):
            sampling_inputs.parse_pitches(bad)


@pytest.fixture
def dataset(tmp_path):
    """Three notes in the NSynth layout, 16 kHz, 100 samples each."""
    folder = tmp_path / "nsynth-valid"
    (folder / "audio").mkdir(parents=True)
    examples = {}
    for name, pitch, family in (("flute_acoustic_002-067-100", 67, 2),
                                ("guitar_acoustic_001-060-075", 60, 3),
                                ("guitar_acoustic_001-064-075", 64, 3)):
        write_wav(folder / "audio" / f"{name}.wav", np.full(100, 0.25), 16000)
        examples[name] = dict(pitch=pitch, velocity=75, instrument=1,
                              instrument_str=name[:-8], instrument_family=family,
                              instrument_source=0)
    (folder / "examples.json").write_text(json.dumps(examples))
    return tmp_path


def test_select_dataset_notes(dataset):
    notes = sampling_inputs.select_notes(dataset=dataset, split="valid")
    assert [(n.name, n.pitch, n.record.family) for n in notes] == [
        ("flute_acoustic_002-067-100", 67, 2), ("guitar_acoustic_001-060-075", 60, 3),
        ("guitar_acoustic_001-064-075", 64, 3)]
    assert len(notes[0].read()) == 100
    picked = sampling_inputs.select_notes(dataset=dataset, split="valid",
                                          names=["guitar_acoustic_001-064-075"], pitch=30)
    assert [(n.name, n.pitch) for n in picked] == [("guitar_acoustic_001-064-075", 30)]
    assert len(sampling_inputs.select_notes(dataset=dataset, split="valid", count=2)) == 2
    assert len(sampling_inputs.select_notes(dataset=dataset, split="valid", limit=1)) == 1
    with pytest.raises(WaveNetError, match="no note 'nope'"):
        sampling_inputs.select_notes(dataset=dataset, split="valid", names=["nope"])
    with pytest.raises(WaveNetError, match="22050 Hz"):
        sampling_inputs.select_notes(dataset=dataset, split="valid", rate=22050)


def test_select_wav_notes(tmp_path):
    paths = []
    for name in ("a.wav", "sub/b.wav", "c/a.wav"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_wav(tmp_path / name, np.zeros(50), 16000)
        paths.append(tmp_path / name)
    notes = sampling_inputs.select_notes(paths[:2], pitch=60)
    assert [(n.name, n.pitch) for n in notes] == [("a", 60), ("b", 60)]
    assert [n.pitch for n in sampling_inputs.select_notes(paths[:2])] == [None, None]
    with pytest.raises(WaveNetError, match="two inputs are named 'a'"):
        sampling_inputs.select_notes(paths)
    with pytest.raises(WaveNetError, match="takes 1 note"):
        sampling_inputs.select_notes(paths[:2], count=1)
    with pytest.raises(WaveNetError, match="--pitch: MIDI pitch"):
        sampling_inputs.select_notes(paths[:1], pitch=-1)
    with pytest.raises(WaveNetError, match="no input notes"):
        sampling_inputs.select_notes()
    with pytest.raises(WaveNetError, match="not both"):
        sampling_inputs.select_notes(paths[:1], dataset=tmp_path)


def test_read_note_cuts_to_whole_frames():
    note = sampling_inputs.NoteInput("n", 60, "n.wav", lambda: np.arange(30, dtype=np.float32))
    assert len(sampling_inputs.read_note(note, HOP)) == 24
    assert len(sampling_inputs.read_note(note, HOP, max_samples=20)) == 16
    with pytest.raises(WaveNetError, match="n.wav: 5 samples is shorter than one frame"):
        sampling_inputs.read_note(note, HOP, max_samples=5)


def test_check_free(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    sampling_outputs.check_free(tmp_path, ["y"], force=False)
    sampling_outputs.check_free(tmp_path, ["x"], force=True)
    with pytest.raises(WaveNetError, match="x.png: already exists; pass --force"):
        sampling_outputs.check_free(tmp_path, ["y", "x"], force=False)


def test_save_embeddings(tmp_path):
    zs = [np.full((4, 3), i, np.float32) for i in range(2)]
    path = tmp_path / "embeddings.h5"
    sampling_outputs.save_embeddings(path, zs, ["a", "b"], [60, None], HOP, 16000)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["z"][:], np.stack(zs))
        assert [n.decode() for n in f["names"][:]] == ["a", "b"]
        assert f["pitches"][:].tolist() == [60, -1]
        assert f.attrs["hop"] == HOP and f.attrs["sample_rate"] == 16000
    with pytest.raises(WaveNetError, match="differ in length"):
        sampling_outputs.save_embeddings(tmp_path / "other.h5", [zs[0], zs[1][:, :2]], ["a", "b"],
                                         [1, 2], HOP, 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["embeddings.h5"]
