"""Linear quantization: 16-bit PCM values as classes, silence in the middle, and a class
cache of its own beside the mu-law one."""

import numpy as np
import pytest

from chainer_wavenet import WaveNetError
from chainer_wavenet.audio import mu_law, quantization
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.class_cache import cached_load
from chainer_wavenet.datasets.crops import compact_classes
from chainer_wavenet.models.config import (
    AutoencoderConfig,
    EncoderConfig,
    WaveNetConfig,
    with_output,
)


def test_65536_linear_classes_are_the_16_bit_values():
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], np.int16)
    classes = quantization.encode(pcm / 32768.0, 65536, "linear")
    np.testing.assert_array_equal(classes, pcm.astype(np.int32) + 32768)
    np.testing.assert_array_equal(quantization.decode(classes, 65536, "linear"), pcm / 32768.0)
    assert compact_classes(classes, 65536).dtype == np.uint16


@pytest.mark.parametrize("n_classes", [2, 256, 65536])
def test_linear_round_trip_silence_and_clipping(n_classes):
    classes = np.arange(n_classes)
    decoded = quantization.decode(classes, n_classes, "linear")
    np.testing.assert_array_equal(quantization.encode(decoded, n_classes, "linear"), classes)
    assert quantization.encode(0.0, n_classes, "linear") == n_classes // 2
    assert quantization.encode([-3.0, 3.0], n_classes, "linear").tolist() == [0, n_classes - 1]


def test_mu_law_is_the_default_and_unchanged():
    audio = np.linspace(-1, 1, 1001)
    np.testing.assert_array_equal(quantization.encode(audio), mu_law.encode(audio))
    np.testing.assert_array_equal(quantization.decode(np.arange(256)),
                                  mu_law.decode(np.arange(256)))


@pytest.mark.parametrize("call, message", [
    (lambda: quantization.encode([0.0], 256, "a-law"), "quantization must be one of"),
    (lambda: quantization.encode([np.nan], 256, "linear"), "NaN or inf"),
    (lambda: quantization.decode([256], 256, "linear"), r"must lie in \[0, 256\)"),
    (lambda: quantization.decode([0.5], 256, "linear"), "must be integers"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(WaveNetError, match=message):
        call()


def test_mixture_output_needs_linear_classes():
    with pytest.raises(WaveNetError, match="needs quantization='linear'"):
        WaveNetConfig(output="logistic_mixture")
    with pytest.raises(WaveNetError, match="output must be one of"):
        WaveNetConfig(output="gaussian")
    with pytest.raises(WaveNetError, match="mixture_components must be at least 1"):
        WaveNetConfig(output="logistic_mixture", quantization="linear", mixture_components=0)
    config = with_output(WaveNetConfig(), "logistic_mixture", 4)
    assert (config.n_classes, config.quantization, config.input_mode,
            config.mixture_components) == (65536, "linear", "scalar", 4)
    assert with_output(WaveNetConfig(), "softmax") == WaveNetConfig()


def test_autoencoder_decoder_must_stay_mu_law():
    decoder = WaveNetConfig(n_global=128, local_channels=16, local_hop=512,
                            quantization="linear")
    with pytest.raises(WaveNetError, match="quantization must be mu_law"):
        AutoencoderConfig(EncoderConfig(), decoder)


def test_linear_classes_get_a_cache_of_their_own(tmp_path):
    path = tmp_path / "tone.wav"
    write_wav(path, 0.5 * np.sin(np.arange(800) * 0.1), 16000)

    def load(p):
        return np.sin(np.arange(800) * 0.1) * 0.5, {}

    linear, _ = cached_load([path], 65536, tmp_path / "cache", load, {}, "linear")
    law, _ = cached_load([path], 65536, tmp_path / "cache", load, {})
    assert linear[0].dtype == np.uint16
    np.testing.assert_array_equal(linear[0], quantization.encode(load(path)[0], 65536, "linear"))
    np.testing.assert_array_equal(law[0], mu_law.encode(load(path)[0], 65536))
    assert len(list((tmp_path / "cache").glob("*.classes"))) == 2


def test_linear_encoding_rounds_to_the_nearest_class():
    """A value 0.4 of a bin above class c is c, 0.6 above is c + 1 (no half-bin bias)."""
    width = 2 / 65536
    classes = np.array([10, 32768, 60000])
    centres = classes * width - 1
    for offset, expected in ((0.4, classes), (0.6, classes + 1), (-0.4, classes)):
        np.testing.assert_array_equal(
            quantization.encode(centres + offset * width, 65536, "linear"), expected)


def test_described_as_bits_figures_name_it():
    assert quantization.describe(256, "mu_law") == "8-bit mu-law"
    assert quantization.describe(65536, "linear") == "16-bit linear"
    assert quantization.describe(100, "linear") == "100-class linear"
