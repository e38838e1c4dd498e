"""mu-law companding between float audio and class indices."""

import numpy as np
import pytest

from chainer_wavenet import WaveNetError
from chainer_wavenet.audio import mu_law

CLASS_COUNTS = [2, 3, 6, 16, 255, 256, 1000, 65536]


@pytest.mark.parametrize("n_classes", CLASS_COUNTS)
def test_decode_then_encode_is_the_identity_on_the_class_grid(n_classes):
    classes = np.arange(n_classes)
    audio = mu_law.decode(classes, n_classes)
    assert audio.dtype == np.float32
    np.testing.assert_array_equal(mu_law.encode(audio, n_classes), classes)


@pytest.mark.parametrize("n_classes", CLASS_COUNTS)
def test_decode_spans_minus_one_to_one_symmetrically(n_classes):
    audio = mu_law.decode(np.arange(n_classes), n_classes)
    assert audio[0] == -1.0 and audio[-1] == 1.0
    assert np.all(np.diff(audio) > 0)
    np.testing.assert_allclose(audio, -audio[::-1], atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 16, 256, 65536])
def test_encode_is_monotonic_and_in_range(n_classes):
    audio = np.linspace(-1.0, 1.0, 200_001)
    classes = mu_law.encode(audio, n_classes)
    assert classes.dtype == np.int32
    assert classes[0] == 0 and classes[-1] == n_classes - 1
    assert np.all(np.diff(classes) >= 0)


@pytest.mark.parametrize("n_classes", [2, 4, 6, 10, 16, 256, 65536])
def test_silence_encodes_to_the_silent_class(n_classes):
    """0.0 maps to ``n_classes // 2``, the class used for silence when padding and priming."""
    assert mu_law.encode(0.0, n_classes) == n_classes // 2
    assert mu_law.encode(np.zeros(3, np.float32), n_classes).tolist() == [n_classes // 2] * 3


def reference_encode(audio, n_classes):
    """The mu-law formula written out in float64, rounding halves up."""
    mu = n_classes - 1
    x = np.clip(np.asarray(audio, np.float64), -1, 1)
    y = np.sign(x) * np.log(1 + mu * np.abs(x)) / np.log(1 + mu)
    return np.floor((y + 1) / 2 * mu + 0.5).astype(np.int64)


@pytest.mark.parametrize("n_classes", [16, 256, 65536])
def test_float32_and_float64_inputs_give_the_same_codes(n_classes):
    audio = np.random.default_rng(0).uniform(-1.2, 1.2, 50_000).astype(np.float32)
    from_float32 = mu_law.encode(audio, n_classes)
    np.testing.assert_array_equal(from_float32, mu_law.encode(audio.astype(np.float64), n_classes))
    np.testing.assert_array_equal(from_float32, mu_law.encode(audio.tolist(), n_classes))
    np.testing.assert_array_equal(from_float32, reference_encode(audio, n_classes))


def test_encode_clips_out_of_range_audio():
    np.testing.assert_array_equal(mu_law.encode([-3.0, -1.0, 1.0, 7.5]), [0, 0, 255, 255])


def test_encode_keeps_the_shape():
    assert mu_law.encode(np.zeros((2, 3, 4))).shape == (2, 3, 4)
    assert mu_law.decode(np.zeros((2, 5), np.int32)).shape == (2, 5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_encode_rejects_non_finite_audio(bad):
    with pytest.raises(WaveNetError, match="NaN or inf"):
        mu_law.encode(np.array([0.0, bad]))


@pytest.mark.parametrize("classes", [[-1, 3], [0, 256]])
def test_decode_rejects_out_of_range_classes(classes):
    with pytest.raises(WaveNetError, match="class indices"):
        mu_law.decode(classes, 256)


@pytest.mark.parametrize("n_classes", [1, 0, -4])
def test_too_few_classes(n_classes):
    with pytest.raises(WaveNetError, match="at least 2"):
        mu_law.encode([0.0], n_classes)
    with pytest.raises(WaveNetError, match="at least 2"):
        mu_law.decode([0], n_classes)


def test_decode_of_an_empty_array():
    assert mu_law.decode(np.zeros(0, np.int32)).shape == (0,)


def test_decode_rejects_non_integer_classes():
    with pytest.raises(WaveNetError, match="integers"):
        mu_law.decode(np.array([0.0, 3.0]))
