"""The NSynth-layout loader on a small dataset written in a temporary folder."""

import json

import numpy as np
import pytest

from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.nsynth import load_nsynth
from chainer_wavenet.errors import WaveNetError

# (instrument_str, instrument id, family id, source id, pitch, velocity)
NOTES = [
    ("bass_electronic_018", 18, 0, 1, 40, 100),
    ("bass_electronic_018", 18, 0, 1, 45, 127),
    ("guitar_acoustic_010", 10, 3, 0, 60, 75),
    ("guitar_acoustic_010", 10, 3, 0, 64, 100),
    ("keyboard_synthetic_002", 2, 4, 2, 60, 50),
    ("string_acoustic_071", 71, 8, 0, 72, 100),
]
FAMILY_NAMES = {0: "bass", 3: "guitar", 4: "keyboard", 8: "string"}
SOURCE_NAMES = ("acoustic", "electronic", "synthetic")


def note_str(instrument_str, pitch, velocity):
    return f"{instrument_str}-{pitch:03d}-{velocity:03d}"


def record(instrument_str, instrument, family, source, pitch, velocity, index):
    """A record shaped like the NSynth download's, extra fields included."""
    return {
        "note": index,
        "note_str": note_str(instrument_str, pitch, velocity),
        "instrument": instrument,
        "instrument_str": instrument_str,
        "pitch": pitch,
        "velocity": velocity,
        "sample_rate": 16000,
        "qualities": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        "qualities_str": ["dark"],
        "instrument_family": family,
        "instrument_family_str": FAMILY_NAMES[family],
        "instrument_source": source,
        "instrument_source_str": SOURCE_NAMES[source],
    }


def tone(pitch, velocity, samples=1600):
    t = np.arange(samples) / 16000
    return (velocity / 200 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t)).astype(
        np.float32
    )


def write_split(folder, notes):
    (folder / "audio").mkdir(parents=True)
    examples = {}
    for i, (instrument_str, instrument, family, source, pitch, velocity) in enumerate(notes):
        rec = record(instrument_str, instrument, family, source, pitch, velocity, i)
        examples[rec["note_str"]] = rec
        write_wav(folder / "audio" / f"{rec['note_str']}.wav", tone(pitch, velocity), 16000)
    (folder / "examples.json").write_text(json.dumps(examples))
    return folder


@pytest.fixture
def root(tmp_path):
    write_split(tmp_path / "nsynth-train", NOTES)
    write_split(tmp_path / "nsynth-valid", NOTES[:1])
    return tmp_path


def strs(dataset):
    return [n.note_str for n in dataset.notes]


def test_reads_notes_sorted_with_labels_and_paths(root):
    dataset = load_nsynth(root, "train")
    assert len(dataset) == len(NOTES)
    assert strs(dataset) == sorted(note_str(n[0], n[4], n[5]) for n in NOTES)
    guitar = dataset.notes[strs(dataset).index("guitar_acoustic_010-064-100")]
    assert (guitar.pitch, guitar.velocity, guitar.instrument) == (64, 100, 10)
    assert (guitar.family, guitar.family_str, guitar.source) == (3, "guitar", 0)
    assert guitar.instrument_str == "guitar_acoustic_010"
    assert guitar.path == root / "nsynth-train" / "audio" / "guitar_acoustic_010-064-100.wav"


def test_split_folder_and_root_give_the_same_notes(root):
    assert strs(load_nsynth(root / "nsynth-train")) == strs(load_nsynth(root, split="train"))
    assert strs(load_nsynth(root, split="valid")) == ["bass_electronic_018-040-100"]
    assert len(load_nsynth(root / "nsynth-valid", split="valid")) == 1


def test_root_needs_an_existing_split(root):
    with pytest.raises(WaveNetError, match="split.*nsynth-train, nsynth-valid"):
        load_nsynth(root)
    with pytest.raises(WaveNetError, match="nsynth-test/examples.json: not found"):
        load_nsynth(root, split="test")
    with pytest.raises(WaveNetError, match="nsynth-valid split, but split 'train'"):
        load_nsynth(root / "nsynth-valid", split="train")
    with pytest.raises(WaveNetError, match="not found"):
        load_nsynth(root / "nowhere")


def test_audio_is_read_lazily_and_mu_law_encoded_once(root):
    dataset = load_nsynth(root, "train")
    i = strs(dataset).index("string_acoustic_071-072-100")
    audio = dataset.audio(i)
    assert audio.dtype == np.float32 and audio.shape == (1600,)
    np.testing.assert_allclose(audio, tone(72, 100), atol=1 / 32767)
    classes = dataset.classes()
    assert len(classes) == len(dataset) and classes[i].dtype == np.uint8
    np.testing.assert_array_equal(classes[i], mu_law.encode(audio))
    assert dataset.classes() is classes
    assert dataset.classes(16)[i].max() < 16
    waveforms = dataset.load_all()
    assert dataset.load_all() is waveforms
    np.testing.assert_array_equal(waveforms[i], audio)


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"pitch_range": (60, 64)}, ["guitar_acoustic_010-060-075", "guitar_acoustic_010-064-100",
                                     "keyboard_synthetic_002-060-050"]),
        ({"families": "bass"}, ["bass_electronic_018-040-100", "bass_electronic_018-045-127"]),
        ({"families": [3, "string"]}, ["guitar_acoustic_010-060-075",
                                       "guitar_acoustic_010-064-100",
                                       "string_acoustic_071-072-100"]),
        ({"sources": ["synthetic"]}, ["keyboard_synthetic_002-060-050"]),
        ({"sources": 1, "pitch_range": (41, 127)}, ["bass_electronic_018-045-127"]),
        ({"instruments": ["string_acoustic_071", 2]}, ["keyboard_synthetic_002-060-050",
                                                       "string_acoustic_071-072-100"]),
    ],
)  # fmt: skip
def test_filters(root, filters, expected):
    assert strs(load_nsynth(root, "train", **filters)) == expected


def test_filters_that_leave_nothing_are_named(root):
    with pytest.raises(WaveNetError, match=r"pitch_range=\(0, 10\), families='bass'.*6 notes"):
        load_nsynth(root, "train", pitch_range=(0, 10), families="bass")


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"families": "piano"}, "families: unknown value 'piano'.*keyboard"),
        ({"sources": [3]}, "sources: unknown value 3"),
        ({"pitch_range": (100, 128)}, "pitch_range.*0..127"),
        ({"pitch_range": (70, 60)}, "pitch_range.*lo <= hi"),
    ],
)
def test_bad_filters(root, filters, message):
    with pytest.raises(WaveNetError, match=message):
        load_nsynth(root, "train", **filters)


def test_examples_json_missing(tmp_path):
    (tmp_path / "audio").mkdir()
    with pytest.raises(WaveNetError, match="has no examples.json"):
        load_nsynth(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"a": {"pitch": 60,', "not valid JSON"),
        ("[1, 2, 3]", "expected an object mapping note names"),
        ('{"a": 3}', "expected an object mapping note names"),
        ("{}", "lists no notes"),
    ],
)
def test_examples_json_malformed(root, content, message):
    (root / "nsynth-train" / "examples.json").write_text(content)
    with pytest.raises(WaveNetError, match=f"nsynth-train/examples.json: {message}"):
        load_nsynth(root, "train")


def edit_record(root, note, **changes):
    path = root / "nsynth-train" / "examples.json"
    examples = json.loads(path.read_text())
    examples[note].update(changes)
    for name, value in changes.items():
        if value is None:
            del examples[note][name]
    path.write_text(json.dumps(examples))


def test_record_missing_a_field_is_named(root):
    edit_record(root, "guitar_acoustic_010-060-075", instrument_family=None)
    with pytest.raises(
        WaveNetError, match="note 'guitar_acoustic_010-060-075' has no field 'instrument_family'"
    ):
        load_nsynth(root, "train")


@pytest.mark.parametrize(
    "name, value",
    [("pitch", 128), ("pitch", -1), ("pitch", "60"), ("velocity", 60.5), ("instrument_family", 11)],
)
def test_record_with_bad_label_is_named(root, name, value):
    edit_record(root, "bass_electronic_018-040-100", **{name: value})
    with pytest.raises(WaveNetError, match=f"note 'bass_electronic_018-040-100' has {name}="):
        load_nsynth(root, "train")


def test_missing_audio_file_is_named(root):
    (root / "nsynth-train" / "audio" / "keyboard_synthetic_002-060-050.wav").unlink()
    with pytest.raises(WaveNetError, match="keyboard_synthetic_002-060-050.wav: audio file"):
        load_nsynth(root, "train")
    assert len(load_nsynth(root, "train", families="bass")) == 2


def test_corrupt_audio_file_raises_when_read(root):
    dataset = load_nsynth(root, "train")
    dataset.notes[0].path.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(WaveNetError, match=dataset.notes[0].path.name):
        dataset.audio(0)
