"""WAV reading and writing: round trips and a clear WaveNetError for each bad file."""

import numpy as np
import pytest
import soundfile

from chainer_wavenet.audio.wav import CLIP_TOLERANCE, check_length, read_wav, write_wav
from chainer_wavenet.errors import WaveNetError

# Largest error of a value in [-1, 1) stored at each subtype and read back.
QUANTIZATION = {
    "PCM_U8": 2.0**-7,
    "PCM_16": 2.0**-15,
    "PCM_24": 2.0**-23,
    "PCM_32": 2.0**-24,  # float32's own resolution is the limit here
    "FLOAT": 0.0,
    "DOUBLE": 0.0,
}


@pytest.mark.parametrize("subtype", sorted(QUANTIZATION))
def test_round_trip_for_each_sample_format(make_wav, sine, subtype):
    tone = sine(amplitude=0.9)
    audio = read_wav(make_wav(audio=tone, subtype=subtype), sample_rate=16000)
    assert audio.dtype == np.float32 and audio.shape == tone.shape
    np.testing.assert_allclose(audio, tone, rtol=0, atol=QUANTIZATION[subtype] + 1e-7)


def test_write_then_read_is_16_bit_and_close(tmp_path, sine):
    tone = sine()
    path = tmp_path / "out.wav"
    write_wav(path, tone, 16000)
    assert soundfile.info(path).subtype == "PCM_16"
    assert soundfile.info(path).samplerate == 16000
    np.testing.assert_allclose(read_wav(path, 16000), tone, rtol=0, atol=0.5 / 32768)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_write_clips_to_full_scale(tmp_path):
    path = tmp_path / "loud.wav"
    write_wav(path, np.array([2.0, -3.0, 0.5]), 8000)
    pcm, _ = soundfile.read(path, dtype="int16")
    assert pcm.tolist() == [32767, -32768, 16384]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_write_refuses_non_finite_audio(tmp_path, bad):
    path = tmp_path / "bad.wav"
    with pytest.raises(WaveNetError, match="NaN or infinite") as error:
        write_wav(path, np.array([0.0, bad]), 16000)
    assert str(path) in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_write_of_read_16_bit_audio_is_lossless(make_wav, tmp_path):
    original = make_wav()
    write_wav(tmp_path / "copy.wav", read_wav(original), 16000)
    np.testing.assert_array_equal(
        soundfile.read(tmp_path / "copy.wav", dtype="int16")[0],
        soundfile.read(original, dtype="int16")[0],
    )


def test_write_refuses_2d_audio(tmp_path):
    with pytest.raises(WaveNetError, match="1-D"):
        write_wav(tmp_path / "x.wav", np.zeros((2, 10)), 16000)


def test_write_does_not_overwrite_without_force(make_wav, sine):
    path = make_wav(audio=sine(amplitude=0.1))
    before = path.read_bytes()
    with pytest.raises(WaveNetError, match="--force"):
        write_wav(path, sine(amplitude=0.8), 16000)
    assert path.read_bytes() == before
    write_wav(path, sine(amplitude=0.8), 16000, force=True)
    assert np.abs(read_wav(path)).max() > 0.7


def assert_error_names(path, match, **kwargs):
    with pytest.raises(WaveNetError, match=match) as error:
        read_wav(path, **kwargs)
    assert str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)


def test_missing_file(tmp_path):
    assert_error_names(tmp_path / "absent.wav", "not found")


def test_folder_instead_of_file(tmp_path):
    assert_error_names(tmp_path, "is a folder")


def test_not_a_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples " * 20)
    assert_error_names(path, "not a readable audio file")


def test_an_unread_format_is_refused_naming_the_formats_read(tmp_path, sine):
    path = tmp_path / "really_au.wav"
    soundfile.write(path, sine(), 16000, format="AU")
    assert_error_names(path, "is a AU file; export it as WAV, FLAC, OGG, MP3 or AIFF")


@pytest.mark.parametrize("format, subtype, suffix, tolerance", [
    ("FLAC", "PCM_16", ".flac", 1 / 32768), ("AIFF", "PCM_16", ".aiff", 1 / 32768),
    ("OGG", "VORBIS", ".ogg", 0.05), ("MP3", "MPEG_LAYER_III", ".mp3", 0.1),
    ("FLAC", "PCM_16", ".wav", 1 / 32768)])
def test_what_soundfile_reads_is_read_whatever_its_name(tmp_path, sine, format, subtype,
                                                        suffix, tolerance):
    path = tmp_path / f"tone{suffix}"
    soundfile.write(path, sine(samples=16000), 16000, format=format, subtype=subtype)
    audio = read_wav(path, 16000)
    assert audio.dtype == np.float32 and len(audio) == 16000
    # Lossy codecs delay and smear the tone: compared in the middle, by loudness.
    middle = slice(4000, 12000)
    assert abs(np.std(audio[middle]) - np.std(sine(samples=16000)[middle])) < tolerance


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_file(make_wav, subtype, keep):
    path = make_wav(subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert soundfile.info(path).frames > 0  # libsndfile alone would read it quietly
    assert_error_names(path, "truncated")


def test_header_without_samples(make_wav):
    path = make_wav()
    path.write_bytes(path.read_bytes()[:44])
    assert_error_names(path, "truncated")


def test_empty_file(make_wav):
    assert_error_names(make_wav(audio=np.zeros(0, np.float32)), "no audio")


def test_stereo_file_says_how_to_make_it_mono(make_wav, sine):
    path = make_wav(audio=np.stack([sine(), sine()], axis=1))
    assert_error_names(path, "2 channels.*sox in.wav -c 1 out.wav")


def test_wrong_sample_rate_gives_both_rates(make_wav):
    path = make_wav(sample_rate=22050)
    assert_error_names(path, "22050 Hz, expected 16000 Hz.*-r 16000", sample_rate=16000)
    assert read_wav(path).shape == (1600,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_samples(make_wav, sine, bad):
    audio = sine()
    audio[10] = bad
    assert_error_names(make_wav(audio=audio, subtype="FLOAT"), "NaN or infinite")


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
def test_float_samples_far_outside_full_scale(make_wav, sine, subtype):
    audio = sine()
    audio[5] = -1.5
    assert_error_names(make_wav(audio=audio, subtype=subtype), "reach 1.5, outside")


def test_huge_double_samples_are_out_of_range_not_infinite(make_wav, sine):
    audio = sine().astype(np.float64)
    audio[5] = 1e300
    assert_error_names(make_wav(audio=audio, subtype="DOUBLE"), "outside")


def test_float_samples_just_over_full_scale_are_clipped(make_wav, sine):
    audio = sine()
    audio[3], audio[4] = 1.0 + CLIP_TOLERANCE / 2, -1.0 - CLIP_TOLERANCE / 2
    result = read_wav(make_wav(audio=audio, subtype="FLOAT"))
    assert result[3] == 1.0 and result[4] == -1.0
    np.testing.assert_array_equal(result[5:], audio[5:])


def test_check_length(tmp_path):
    check_length(np.zeros(100), 100, tmp_path / "ok.wav")
    expected = r"short.wav: is shorter than the receptive field \(99 samples < 100\)"
    with pytest.raises(WaveNetError, match=expected):
        check_length(np.zeros(99), 100, tmp_path / "short.wav")
