"""Random input to read_wav and mu-law: the only outcomes are correct values or WaveNetError."""

import io

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, example, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import read_wav
from chainer_wavenet.errors import WaveNetError

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def wav_bytes(subtype):
    buffer = io.BytesIO()
    tone = 0.5 * np.sin(np.arange(64) / 3.0)
    soundfile.write(buffer, tone, 8000, subtype=subtype, format="WAV")
    return buffer.getvalue()


VALID_WAVS = [wav_bytes(subtype) for subtype in ("PCM_U8", "PCM_16", "PCM_24", "FLOAT", "DOUBLE")]


@st.composite
def damaged_wavs(draw):
    """A valid WAV with some bytes overwritten (header or samples), sometimes cut short."""
    data = bytearray(draw(st.sampled_from(VALID_WAVS)))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    end = draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))
    return bytes(data[:end])


def assert_valid_or_error(path):
    try:
        audio = read_wav(path)
    except WaveNetError as error:
        assert str(error).startswith(str(path))
        return
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) > 0
    assert np.all(np.isfinite(audio)) and np.all(np.abs(audio) <= 1.0)


@FUZZ
@given(data=st.binary(max_size=400))
def test_read_wav_of_random_bytes(tmp_path, data):
    path = tmp_path / "random.wav"
    path.write_bytes(data)
    assert_valid_or_error(path)


@FUZZ
@given(data=st.one_of(damaged_wavs(), st.binary(max_size=64).map(lambda tail: b"RIFF" + tail)))
def test_read_wav_of_damaged_files(tmp_path, data):
    path = tmp_path / "damaged.wav"
    path.write_bytes(data)
    assert_valid_or_error(path)


any_floats = hnp.arrays(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=20),
    elements=dict(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=200, deadline=None)
@given(audio=any_floats, n_classes=st.sampled_from([2, 16, 256, 65536]))
def test_mu_law_encode_of_any_floats(audio, n_classes):
    if not np.all(np.isfinite(audio)):
        with pytest.raises(WaveNetError):
            mu_law.encode(audio, n_classes)
        return
    classes = mu_law.encode(audio, n_classes)
    assert classes.dtype == np.int32 and classes.shape == audio.shape
    assert np.all((classes >= 0) & (classes < n_classes))
    mu = n_classes - 1.0
    x = np.clip(audio.astype(np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    assert np.all(np.abs(companded - (2.0 * classes / mu - 1.0)) <= 1.0 / mu + 1e-9)


@settings(max_examples=200, deadline=None)
@given(
    classes=hnp.arrays(
        dtype=st.sampled_from([np.int8, np.int32, np.int64, np.uint16]),
        shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=20),
    ),
    n_classes=st.sampled_from([2, 16, 256]),
)
def test_mu_law_decode_of_any_integers(classes, n_classes):
    if np.any(classes < 0) or np.any(classes >= n_classes):
        with pytest.raises(WaveNetError):
            mu_law.decode(classes, n_classes)
        return
    audio = mu_law.decode(classes, n_classes)
    assert audio.dtype == np.float32 and audio.shape == classes.shape
    assert np.all(np.abs(audio) <= 1.0)
    np.testing.assert_array_equal(mu_law.encode(audio, n_classes), classes)


@settings(max_examples=200, deadline=None)
@given(classes=any_floats)
@example(classes=np.array([0.0, 1.0, 255.0], np.float32))
def test_mu_law_decode_of_any_floats(classes):
    """Float arrays are refused, whole class indices (0.0, 255.0) as well as NaN, inf, 1.5,
    -1 and 256: class indices are integers."""
    with pytest.raises(WaveNetError, match="class indices must be integers"):
        mu_law.decode(classes)
