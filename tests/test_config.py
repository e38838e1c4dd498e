"""Model configs: presets, validation, receptive fields, and the JSON round trip."""

import json

import pytest

from chainer_wavenet import WaveNetError
from chainer_wavenet.models.config import (
    AUTOENCODER_PRESETS,
    WAVENET_PRESETS,
    AutoencoderConfig,
    EncoderConfig,
    WaveNetConfig,
    autoencoder_config,
    config_from_json,
    config_to_json,
    dilation_stacks,
    with_decoder_width,
    with_embedding,
)

ALL_PRESETS = [*WAVENET_PRESETS.values(), *AUTOENCODER_PRESETS.values()]


def settings_id(settings):
    return ",".join(f"{name}={value!r}" for name, value in settings.items())


def test_dilation_stacks():
    assert dilation_stacks(2, 3) == (1, 2, 4, 1, 2, 4)
    assert dilation_stacks(1, 1) == (1,)


@pytest.mark.parametrize("config", ALL_PRESETS)
def test_json_round_trip_of_every_preset(config):
    text = config_to_json(config)
    assert config_from_json(text) == config
    assert config_to_json(config_from_json(text)) == text


def test_json_round_trip_of_a_custom_config():
    config = WaveNetConfig(n_classes=64, input_mode="scalar", filter_width=3,
                           dilations=(1, 3, 9), n_global=7, local_channels=5, local_hop=80)
    loaded = config_from_json(config_to_json(config))
    assert loaded == config
    assert isinstance(loaded.dilations, tuple)


def test_json_names_the_kind():
    assert json.loads(config_to_json(WaveNetConfig()))["kind"] == "wavenet"
    assert json.loads(config_to_json(AUTOENCODER_PRESETS["small"]))["kind"] == "autoencoder"


@pytest.mark.parametrize("name,expected", [("small", 511), ("S", 2047), ("paper", 4093)])
def test_wavenet_preset_receptive_fields(name, expected):
    assert WAVENET_PRESETS[name].receptive_field == expected


@pytest.mark.parametrize("name,expected", [("small", 511), ("nsynth", 6139)])
def test_autoencoder_preset_receptive_fields(name, expected):
    assert AUTOENCODER_PRESETS[name].receptive_field == expected


@pytest.mark.parametrize("filter_width,dilations,expected", [
    (2, (1,), 2), (3, (1,), 3), (2, (1, 2, 4, 8), 16), (3, (1, 2, 4), 15), (4, (2, 5), 22)])
def test_receptive_field_formula(filter_width, dilations, expected):
    assert WaveNetConfig(filter_width=filter_width, dilations=dilations).receptive_field == expected


def test_autoencoder_presets_fit_their_encoders():
    for config in AUTOENCODER_PRESETS.values():
        assert config.decoder.local_channels == config.encoder.bottleneck
        assert config.decoder.local_hop == config.encoder.hop
        assert config.decoder.n_global == 128


@pytest.mark.parametrize("text", [
    '{"kind": "wavenet", "n_classes": 256, "layers": 3}',
    '{"kind": "wavenet", "residual_channel": 8}',
])
def test_unknown_wavenet_settings_raise(text):
    with pytest.raises(WaveNetError, match="unknown settings"):
        config_from_json(text)


def test_unknown_encoder_setting_raises():
    values = json.loads(config_to_json(AUTOENCODER_PRESETS["small"]))
    values["encoder"]["stride"] = 2
    with pytest.raises(WaveNetError, match="unknown settings"):
        config_from_json(json.dumps(values))


def test_unknown_top_level_autoencoder_setting_raises():
    values = json.loads(config_to_json(AUTOENCODER_PRESETS["small"]))
    values["bottleneck"] = 32
    with pytest.raises(WaveNetError):
        config_from_json(json.dumps(values))


@pytest.mark.parametrize("text", [
    "", "not json", "[1, 2]", '{"n_classes": 256}', '{"kind": "gan"}',
    '{"kind": "autoencoder", "encoder": {}}',
])
def test_text_that_is_no_model_config_raises(text):
    with pytest.raises(WaveNetError):
        config_from_json(text)


@pytest.mark.parametrize("settings", [
    dict(n_classes=1),
    dict(input_mode="raw"),
    dict(residual_channels=0),
    dict(dilation_channels=-1),
    dict(skip_channels=0),
    dict(filter_width=1),
    dict(dilations=()),
    dict(dilations=(1, 0, 2)),
    dict(dilations=(1, -2)),
    dict(n_global=-1),
    dict(local_channels=-3),
    dict(local_hop=0),
    dict(n_classes="256"),
    dict(dilations=None),
    dict(dilations=["one", "two"]),
], ids=settings_id)
def test_invalid_wavenet_values_raise(settings):
    with pytest.raises(WaveNetError):
        WaveNetConfig.from_dict(settings)


@pytest.mark.parametrize("settings", [
    dict(filter_width=2),
    dict(filter_width=0),
    dict(channels=0),
    dict(bottleneck=0),
    dict(hop=0),
    dict(dilations=()),
    dict(dilations=(1, 0)),
    dict(dilations=(2, -1)),
], ids=settings_id)
def test_invalid_encoder_values_raise(settings):
    with pytest.raises(WaveNetError):
        EncoderConfig.from_dict(settings)


def test_decoder_must_match_the_encoder():
    encoder = EncoderConfig(bottleneck=16, hop=256)
    with pytest.raises(WaveNetError, match="bottleneck and hop"):
        AutoencoderConfig(encoder, WaveNetConfig(n_global=128, local_channels=8, local_hop=256))
    with pytest.raises(WaveNetError, match="bottleneck and hop"):
        AutoencoderConfig(encoder, WaveNetConfig(n_global=128, local_channels=16, local_hop=512))
    with pytest.raises(WaveNetError, match="n_global"):
        AutoencoderConfig(encoder, WaveNetConfig(local_channels=16, local_hop=256))


def test_autoencoder_config_helper_wires_z_and_pitch():
    encoder = EncoderConfig(bottleneck=4, hop=64)
    config = autoencoder_config(encoder, dict(residual_channels=8, dilations=(1, 2)))
    assert config.decoder.local_channels == 4
    assert config.decoder.local_hop == 64
    assert config.decoder.n_global == 128
    assert config.decoder.residual_channels == 8
    assert config.receptive_field == config.decoder.receptive_field == 4


def test_with_embedding_changes_z_for_encoder_and_decoder_alike():
    small = AUTOENCODER_PRESETS["small"]
    assert with_embedding(small) == small
    finer = with_embedding(small, hop=128, bottleneck=32)
    assert (finer.encoder.hop, finer.encoder.bottleneck) == (128, 32)
    assert (finer.decoder.local_hop, finer.decoder.local_channels) == (128, 32)
    assert finer.encoder.dilations == small.encoder.dilations
    assert finer.decoder.dilations == small.decoder.dilations
    assert with_embedding(small, hop=128).encoder.bottleneck == small.encoder.bottleneck
    with pytest.raises(WaveNetError, match="hop"):
        with_embedding(small, hop=0)


def test_with_decoder_width_widens_every_decoder_layer_and_nothing_else():
    small = AUTOENCODER_PRESETS["small"]
    assert with_decoder_width(small) == small
    wide = with_decoder_width(small, 64)
    assert (wide.decoder.residual_channels, wide.decoder.dilation_channels,
            wide.decoder.skip_channels) == (64, 64, 128)
    assert wide.encoder == small.encoder
    assert wide.decoder.dilations == small.decoder.dilations
    assert wide.receptive_field == small.receptive_field
    with pytest.raises(WaveNetError):
        with_decoder_width(small, 0)


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        WaveNetConfig().n_classes = 16
