"""One-step draws (evaluate --one-step): each sample drawn given the recording's true past."""

import numpy as np
import pytest
from model_fixtures import make_autoencoder, make_wavenet, parallel_logits, random_classes

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.sampling.one_step import one_step_classes, one_step_note

LENGTH = 60


@pytest.fixture
def wavenet():
    return make_wavenet(n_global=0, local_channels=0)


def test_the_receptive_field_is_the_recording_and_each_draw_reads_only_its_past(wavenet):
    x = random_classes(np.random.default_rng(0), 2, LENGTH, wavenet.config.n_classes)
    field = wavenet.receptive_field
    drawn = one_step_classes(wavenet, x, seed=1)
    assert drawn.shape == x.shape and drawn.dtype == np.int32
    np.testing.assert_array_equal(drawn[:, :field], x[:, :field])
    k = field + 10
    changed = x.copy()
    changed[:, k] = (changed[:, k] + 7) % wavenet.config.n_classes
    redrawn = one_step_classes(wavenet, changed, seed=1)
    np.testing.assert_array_equal(redrawn[:, :k + 1], drawn[:, :k + 1])
    assert (redrawn[:, k + 1:] != drawn[:, k + 1:]).any()


def test_a_cold_draw_is_the_most_likely_class_given_the_true_past(wavenet):
    x = random_classes(np.random.default_rng(2), 2, LENGTH, wavenet.config.n_classes)
    logits = parallel_logits(wavenet, x[:, :-1])
    drawn = one_step_classes(wavenet, x, temperature=1e-4, seed=3)
    np.testing.assert_array_equal(drawn[:, wavenet.receptive_field:], logits.argmax(axis=1))


def test_draws_follow_the_seed_and_a_warm_draw_spreads(wavenet):
    x = random_classes(np.random.default_rng(4), 1, 400, wavenet.config.n_classes)
    same = [one_step_classes(wavenet, x, seed=5) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    cold = one_step_classes(wavenet, x, temperature=1e-4, seed=5)
    assert (one_step_classes(wavenet, x, seed=6) != same[0]).any()
    assert (same[0] != cold).mean() > 0.3  # a random tiny model: a flat distribution
    with pytest.raises(WaveNetError, match="--temperature"):
        one_step_classes(wavenet, x, temperature=0)


def test_a_note_is_played_from_its_own_z_and_pitch():
    model = make_autoencoder(seed=1, pitch_lags=2)
    t = np.arange(4 * model.hop + model.receptive_field) / 16000
    audio = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    played = one_step_note(model, audio, 69, seed=0)
    assert played.shape == audio.shape and played.dtype == np.float32
    field = model.receptive_field
    np.testing.assert_array_equal(played[:field], model.waveform(model.classes(audio))[:field])
    assert not np.array_equal(one_step_note(model, audio, 57, seed=0), played)
