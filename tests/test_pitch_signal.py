"""The pitch as a signal: its values, and a WaveNet and an autoencoder that read it."""

import json

import chainer
import numpy as np
import pytest
from model_fixtures import (
    changed_outputs,
    make_wavenet,
    random_classes,
    random_conditions,
    randomize_parameters,
    tiny_encoder_config,
)

from chainer_wavenet import snapshot
from chainer_wavenet.audio.pitch_signal import (
    LagHistory,
    harmonic_signal,
    hz_to_midi,
    lag_neighbours,
    midi_to_hz,
)
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import (
    AUTOENCODER_PRESETS,
    autoencoder_config,
    config_from_json,
    config_to_json,
    with_pitch_input,
)
from chainer_wavenet.sampling import synthesis
from chainer_wavenet.sampling.generate import generate

RATE = 16000


def test_midi_and_hz():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(57) == pytest.approx(220.0)
    assert hz_to_midi(midi_to_hz(61.5)) == pytest.approx(61.5)


def test_harmonics_are_sines_and_cosines_of_the_predicted_samples_phase():
    signal = harmonic_signal([69, 60], 400, RATE, 3, offset=7)
    assert signal.shape == (2, 6, 400) and signal.dtype == np.float32
    t = 7 + 1 + np.arange(400)
    for row, pitch in enumerate([69, 60]):
        phase = 2 * np.pi * midi_to_hz(pitch) * t / RATE
        for k in range(3):
            np.testing.assert_allclose(signal[row, 2 * k], np.sin((k + 1) * phase), atol=1e-5)
            np.testing.assert_allclose(signal[row, 2 * k + 1], np.cos((k + 1) * phase),
                                       atol=1e-5)


def test_a_later_offset_continues_the_signal():
    whole = harmonic_signal([50], 5000, RATE, 2)
    np.testing.assert_allclose(harmonic_signal([50], 1000, RATE, 2, offset=4000),
                               whole[:, :, 4000:], atol=2e-5)


def test_harmonics_at_or_above_nyquist_are_silent():
    # MIDI 100 is 2637 Hz: harmonics 1-3 lie below 8 kHz, 4 and above do not.
    signal = harmonic_signal([100], 200, RATE, 6)
    assert np.abs(signal[0, :6]).max() > 0.9
    assert not signal[0, 6:].any()


@pytest.mark.parametrize("pitches,harmonics", [([np.nan], 2), ([-1], 2), ([60], 0)])
def test_bad_signal_requests_are_refused(pitches, harmonics):
    with pytest.raises(WaveNetError):
        harmonic_signal(pitches, 10, RATE, harmonics)


def test_lags_read_the_input_whole_periods_before_the_predicted_sample():
    classes = np.arange(1, 41, dtype=np.int32)[None, :]  # input t is class t + 1
    indices, weights = lag_neighbours(classes, np.array([4.0]), 2, 64)
    assert indices.shape == weights.shape == (1, 4, 40)
    # Position t predicts sample t + 1: lag k is input t + 1 - 4k, class t + 2 - 4k, read
    # from lag k's own table (offset (k - 1) * 64); nothing before the first input.
    t = np.arange(40)
    for k in (1, 2):
        read = t + 1 - 4 * k >= 0
        np.testing.assert_array_equal(weights[0, k - 1], read)
        np.testing.assert_array_equal(indices[0, k - 1][read], (t + 2 - 4 * k)[read] + (k - 1) * 64)
        assert not weights[0, 2 + k - 1].any()  # a whole period: no share for the next input


def test_fractional_periods_interpolate_and_stepping_agrees():
    rng = np.random.default_rng(5)
    classes = rng.integers(0, 32, (2, 50)).astype(np.int32)
    periods = rng.uniform(2.0, 9.0, (2, 50))
    indices, weights = lag_neighbours(classes, periods, 3, 32)
    position = 30 + 1 - 2 * periods[1, 30]
    floor = int(np.floor(position))
    assert (indices[1, 1, 30], indices[1, 4, 30]) == (classes[1, floor] + 32,
                                                      classes[1, floor + 1] + 32)
    assert (weights[1, 1, 30], weights[1, 4, 30]) == pytest.approx(
        (1 - (position - floor), position - floor), rel=1e-5)
    history = LagHistory(np, 2, 50, periods, 3, 32)
    stepped = [history.step(classes[:, t]) for t in range(50)]
    np.testing.assert_array_equal(np.stack([i for i, _ in stepped], axis=2), indices)
    np.testing.assert_allclose(np.stack([w for _, w in stepped], axis=2), weights, atol=1e-6)


def random_source(rng, batch, channels, length):
    return rng.normal(size=(batch, channels, length)).astype(np.float32)


def logits(model, x, source, global_ids=None, local_features=None):
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        return model(x, global_ids, local_features, source).array


@pytest.mark.parametrize("settings", [{}, dict(n_global=3, local_channels=2, local_hop=5)])
@pytest.mark.parametrize("filter_width", [2, 3])
def test_stepping_with_a_source_matches_the_parallel_pass(settings, filter_width):
    model = make_wavenet(source_channels=4, filter_width=filter_width,
                         dilations=(1, 2, 4, 8), **settings)
    rng = np.random.default_rng(0)
    x = random_classes(rng, 2, model.receptive_field + 21, 32)
    global_ids, local_features = random_conditions(model.config, rng, 2, x.shape[1])
    source = random_source(rng, 2, 4, x.shape[1])
    parallel = logits(model, x, source, global_ids, local_features)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        model.start(2, global_ids, local_features, source)
        steps = np.stack([model.step(x[:, t]) for t in range(x.shape[1])], axis=2)
    np.testing.assert_allclose(steps[:, :, model.receptive_field - 1:], parallel,
                               atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("with_source", [False, True])
def test_stepping_with_pitch_lags_matches_the_parallel_pass(per_sample, with_source):
    model = make_wavenet(pitch_lags=2, source_channels=3 if with_source else 0,
                         dilations=(1, 2, 4), n_global=2)
    rng = np.random.default_rng(6)
    x = random_classes(rng, 2, model.receptive_field + 40, 32)
    ids = np.array([0, 1], np.int32)
    source = random_source(rng, 2, 3, x.shape[1]) if with_source else None
    periods = rng.uniform(2, 15, (2, x.shape[1])) if per_sample else np.array([2.5, 11.0])
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        parallel = model(x, ids, None, source, periods).array
        model.start(2, ids, None, source, periods, steps=x.shape[1])
        steps = np.stack([model.step(x[:, t]) for t in range(x.shape[1])], axis=2)
    np.testing.assert_allclose(steps[:, :, model.receptive_field - 1:], parallel,
                               atol=1e-4, rtol=1e-4)


def test_pitch_lags_reach_further_back_but_never_into_the_future():
    model = make_wavenet(pitch_lags=1, dilations=(1, 2))
    field = model.receptive_field
    rng = np.random.default_rng(7)
    x = random_classes(rng, 1, field + 30, 32)
    periods = np.array([10.0])
    with chainer.no_backprop_mode():
        before = model(x, periods=periods).array
        position = 12
        changed = x.copy()
        changed[0, position] = (changed[0, position] + 16) % 32
        outputs = changed_outputs(before, model(changed, periods=periods).array)
    newest_inputs = outputs + field - 1
    assert newest_inputs.min() >= position
    # Read again one period later, beyond the receptive field.
    assert position + 10 - 1 in newest_inputs and newest_inputs.max() >= position + field


def test_a_source_sample_acts_causally_from_its_own_input_on():
    """Source sample s, read with input s, changes the output whose newest input is s and
    none whose newest input came before s or lies a receptive field or more after it."""
    model = make_wavenet(source_channels=2, dilations=(1, 2, 4))
    field = model.receptive_field
    rng = np.random.default_rng(1)
    x = random_classes(rng, 1, field + 12, 32)
    source = random_source(rng, 1, 2, x.shape[1])
    before = logits(model, x, source)
    for position in (field - 1, field + 4, x.shape[1] - 1):
        changed = source.copy()
        changed[:, :, position] += 1.0
        outputs = changed_outputs(before, logits(model, x, changed))
        newest_inputs = outputs + field - 1
        assert newest_inputs[0] == position
        assert newest_inputs.max() < position + field


def test_a_source_must_match_the_config():
    rng = np.random.default_rng(2)
    plain = make_wavenet()
    x = random_classes(rng, 1, plain.receptive_field + 3, 32)
    with pytest.raises(ValueError, match="not expected"):
        plain(x, source=random_source(rng, 1, 2, x.shape[1]))
    sourced = make_wavenet(source_channels=2)
    with pytest.raises(ValueError, match="required"):
        sourced(x)
    with pytest.raises(ValueError, match="channels"):
        sourced(x, source=random_source(rng, 1, 3, x.shape[1]))
    with pytest.raises(WaveNetError, match="too short"):
        generate(sourced, 10, 1, source=random_source(rng, 1, 2, 9))
    lagged = make_wavenet(pitch_lags=1)
    with pytest.raises(ValueError, match="periods required"):
        lagged(x)
    with pytest.raises(ValueError, match="at least 2"):
        lagged(x, periods=np.array([1.5]))
    with pytest.raises(ValueError, match="not expected"):
        plain(x, periods=np.array([4.0]))


def signal_autoencoder(pitch_input="signal", seed=0, lags=2):
    config = with_pitch_input(autoencoder_config(tiny_encoder_config(), dict(
        n_classes=32, residual_channels=8, dilation_channels=8, skip_channels=12,
        dilations=(1, 2, 4))), pitch_input, 3, lags)
    np.random.seed(seed)
    return randomize_parameters(WaveNetAutoencoder(config), seed)


def test_pitch_periods_are_the_rate_over_the_predicted_samples_f0():
    """A4 (440 Hz) at 16 kHz: 36.36 samples a period, A3: 72.73. A track gives the period
    of the sample each input predicts: that of the next sample."""
    model = signal_autoencoder()
    np.testing.assert_allclose(model.pitch_periods(np.array([69, 57])),
                               [16000 / 440, 16000 / 220], rtol=1e-9)
    track = np.array([[69.0, 69.0, 57.0, 57.0, 81.0]])
    np.testing.assert_allclose(model.pitch_periods(track),
                               [[16000 / 440, 16000 / 220, 16000 / 220, 16000 / 880]],
                               rtol=1e-9)


def test_a_track_gives_the_id_table_the_pitch_at_each_frames_centre():
    model = signal_autoencoder("both", lags=0)
    hop = model.hop
    track = np.full((1, 3 * hop), 60.0)
    track[0, hop // 2 + 1:] = 62.0  # the first frame changes just after its centre
    track[0, 2 * hop + hop // 2:] = 64.0  # the third frame changes at its centre
    assert model.pitch_ids(track).tolist() == [[60, 62, 64]]


def test_pitch_inputs_shape_the_decoder():
    signal = signal_autoencoder("signal").config
    assert (signal.decoder.n_global, signal.decoder.source_channels) == (0, 6)
    assert signal.decoder.pitch_lags == 2
    both = signal_autoencoder("both", lags=0).config
    assert (both.decoder.n_global, both.decoder.source_channels) == (128, 6)
    assert both.decoder.pitch_lags == 0
    plain = with_pitch_input(AUTOENCODER_PRESETS["small"], "id", 8)
    assert plain == AUTOENCODER_PRESETS["small"]
    with pytest.raises(WaveNetError, match="not both 0"):
        with_pitch_input(AUTOENCODER_PRESETS["small"], "signal", 0, 0)


def test_an_autoencoder_config_without_pitch_settings_still_loads():
    """Snapshots written before the pitch signal existed hear the pitch as an id."""
    values = json.loads(config_to_json(AUTOENCODER_PRESETS["small"]))
    del values["pitch_harmonics"], values["sample_rate"]
    del values["decoder"]["source_channels"], values["decoder"]["pitch_lags"]
    loaded = config_from_json(json.dumps(values))
    assert loaded.pitch_harmonics == 0 and loaded.decoder.n_global == 128
    assert config_from_json(config_to_json(signal_autoencoder().config)) == \
        signal_autoencoder().config


def test_signal_autoencoder_decodes_at_any_pitch_and_round_trips(tmp_path):
    model = signal_autoencoder()
    rng = np.random.default_rng(3)
    audio = rng.uniform(-0.5, 0.5, (2, 64)).astype(np.float32)
    z = model.encode(audio)
    first = synthesis.decode(model, z, [40, 90], temperature=0.5, seed=4, progress=False)
    assert first.shape == (2, 64)
    other_pitch = synthesis.decode(model, z, [41, 90], temperature=0.5, seed=4, progress=False)
    assert not np.array_equal(first[0], other_pitch[0])
    np.testing.assert_array_equal(first[1], other_pitch[1])
    path = tmp_path / "model.h5"
    snapshot.save(path, model)
    again = synthesis.decode(snapshot.load(path), z, [40, 90], temperature=0.5, seed=4,
                             progress=False)
    np.testing.assert_array_equal(again, first)
