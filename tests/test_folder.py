"""A folder of WAV files: discovery, speaker ids from subfolders, errors, splits."""

import numpy as np
import pytest
import soundfile

from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import read_wav
from chainer_wavenet.datasets.folder import load_folder
from chainer_wavenet.errors import WaveNetError


def test_flat_folder_has_no_speakers(tmp_path, make_wav, sine):
    make_wav("b.wav", sine(220))
    make_wav("a.WAV", sine(330, samples=800))
    make_wav("._a.wav", sine())  # macOS resource file: skipped
    (tmp_path / "readme.txt").write_text("not audio")
    data = load_folder(tmp_path, 16000)
    assert [p.name for p in data.paths] == ["a.WAV", "b.wav"]
    assert data.names == [str(p) for p in data.paths]
    assert data.speakers is None and data.speaker_names == [] and data.n_speakers == 0
    assert len(data) == 2
    for path, waveform in zip(data.paths, data.waveforms, strict=True):
        assert waveform.dtype == np.int32
        np.testing.assert_array_equal(waveform, mu_law.encode(read_wav(path)))


def test_subfolders_are_speakers(tmp_path, make_wav):
    make_wav("bob/1.wav")
    make_wav("alice/session 2/1.wav")
    make_wav("alice/1.wav")
    make_wav("carol/x.wav")
    make_wav(".cache/stale.wav")
    data = load_folder(tmp_path, 16000)
    assert data.speaker_names == ["alice", "bob", "carol"]
    owners = [p.relative_to(tmp_path).parts[0] for p in data.paths]
    assert owners == ["alice", "alice", "bob", "carol"]
    assert data.speakers.dtype == np.int32
    assert data.speakers.tolist() == [0, 0, 1, 2]


def test_n_classes_is_used(tmp_path, make_wav):
    make_wav("a.wav")
    data = load_folder(tmp_path, 16000, n_classes=16)
    assert data.n_classes == 16 and data.waveforms[0].max() < 16


def test_files_beside_speaker_folders_are_refused(tmp_path, make_wav):
    make_wav("loose.wav")
    make_wav("alice/1.wav")
    with pytest.raises(WaveNetError, match="both directly.*loose.wav"):
        load_folder(tmp_path, 16000)


def test_missing_root(tmp_path):
    with pytest.raises(WaveNetError, match="not found") as error:
        load_folder(tmp_path / "nowhere", 16000)
    assert str(tmp_path / "nowhere") in str(error.value)


def test_file_as_root(make_wav):
    path = make_wav()
    with pytest.raises(WaveNetError, match="is a file") as error:
        load_folder(path, 16000)
    assert str(path) in str(error.value)


def test_folder_without_audio_says_where_it_looked_and_what_it_looked_for(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("not audio")
    with pytest.raises(WaveNetError, match=r"no audio files \(.wav, .flac, .ogg, .*\.mp3") as error:
        load_folder(tmp_path, 16000)
    assert str(tmp_path) in str(error.value)


def test_a_folder_of_mp3_ogg_and_aiff_files_is_loaded(tmp_path, sine):
    for name, format, subtype in (("a.mp3", "MP3", "MPEG_LAYER_III"),
                                  ("b.ogg", "OGG", "VORBIS"), ("c.aiff", "AIFF", "PCM_16")):
        soundfile.write(tmp_path / name, sine(samples=8000), 16000, format=format,
                        subtype=subtype)
    data = load_folder(tmp_path, 16000)
    assert [p.name for p in data.paths] == ["a.mp3", "b.ogg", "c.aiff"]
    assert [len(w) for w in data.waveforms] == [8000] * 3


def test_bad_file_is_named(tmp_path, make_wav):
    make_wav("alice/good.wav")
    bad = make_wav("bob/bad.wav")
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(WaveNetError, match="truncated WAV") as error:
        load_folder(tmp_path, 16000)
    assert str(error.value).startswith(str(bad))


def test_other_rates_are_resampled_and_stereo_mixed_down(tmp_path, make_wav, sine):
    make_wav("alice/slow.wav", sine(440, samples=800, sample_rate=8000), sample_rate=8000)
    tone = sine(440, samples=2205, sample_rate=22050)
    make_wav("bob/stereo.wav", np.stack([tone, tone], axis=1), sample_rate=22050)
    make_wav("bob/native.wav")
    data = load_folder(tmp_path, 16000)
    assert [len(w) for w in data.waveforms] == [1600, 1600, 1600]
    expected = mu_law.encode(sine(440, samples=1600))
    for waveform in data.waveforms:  # the same 440 Hz tone, to a class or two
        assert np.abs(waveform[100:-100] - expected[100:-100]).max() <= 2
    assert data.conversion.resampled == {8000: 1, 22050: 1}
    assert data.conversion.mixed_down == 1
    assert data.conversion.describe() == ("2 files resampled to 16000 Hz (1 from 8000 Hz, "
                                          "1 from 22050 Hz); 1 file mixed down to mono")


@pytest.fixture
def ten_files(tmp_path, make_wav, sine):
    for index in range(10):
        make_wav(f"speaker{index % 3}/{index}.wav", sine(100 + 50 * index, samples=400))
    return load_folder(tmp_path, 16000)


def test_split_holds_out_whole_files(ten_files):
    train, validation = ten_files.split(0.2, seed=1)
    assert (len(train), len(validation)) == (8, 2)
    assert sorted(train.paths + validation.paths) == ten_files.paths
    for part in (train, validation):
        assert part.speaker_names == ten_files.speaker_names
        for path, waveform, speaker in zip(part.paths, part.waveforms, part.speakers, strict=True):
            index = ten_files.paths.index(path)
            assert waveform is ten_files.waveforms[index]
            assert speaker == ten_files.speakers[index]


def test_split_depends_only_on_seed(ten_files):
    def held_out(seed):
        return ten_files.split(0.3, seed=seed)[1].paths

    assert held_out(4) == held_out(4)
    assert len({tuple(held_out(seed)) for seed in range(6)}) > 1


@pytest.mark.parametrize(("fraction", "expected"), [(0.01, 1), (0.5, 5), (0.99, 9), (0.0, 0)])
def test_split_sizes(ten_files, fraction, expected):
    train, validation = ten_files.split(fraction)
    assert len(validation) == expected and len(train) == 10 - expected
    assert bool(validation) == (expected > 0)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 2.0])
def test_split_refuses_bad_fraction(ten_files, fraction):
    with pytest.raises(WaveNetError, match="validation fraction"):
        ten_files.split(fraction)


def test_split_of_one_file_holds_out_its_end(tmp_path, make_wav):
    make_wav("only.wav")
    data = load_folder(tmp_path, 16000)
    train, validation = data.split(0.25)
    assert len(train.waveforms[0]) == 1200 and len(validation.waveforms[0]) == 400
    joined = np.concatenate([train.waveforms[0], validation.waveforms[0]])
    np.testing.assert_array_equal(joined, data.waveforms[0])
    assert train.paths == validation.paths == data.paths
    assert "last 25%" in validation.names[0] and "first 75%" in train.names[0]
