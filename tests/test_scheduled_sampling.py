"""Parallel scheduled sampling (train/autoencoder.py --scheduled-sampling): the decoder reads
a past where a share of the samples are its own draws and predicts the clean crop."""

import chainer
import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.training.scheduled_sampling import ScheduledSampling


def crop(model, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = model.config.decoder.n_classes
    x = rng.integers(0, n_classes, (1, model.receptive_field + 4 * model.hop)).astype(np.int32)
    return np.repeat(x, batch, axis=0), np.full(batch, 60, np.int32)


def value(loss):
    return float(loss.array)


@pytest.fixture
def model():
    return make_autoencoder(pitch_lags=2)


def past(model, share, passes=1, batch=2, seed=0):
    x, pitch = crop(model, batch)
    conditions = model.decoder_conditions(x, pitch)
    rng = np.random.default_rng(seed)
    return x, conditions, ScheduledSampling(model, share, passes).past(x, conditions, rng)


def test_the_share_of_the_past_replaced_and_the_first_receptive_field_kept(model):
    field = model.decoder.receptive_field
    for share in (0.25, 0.75):
        x, _, replaced = past(model, share, batch=64)
        assert replaced.shape == x.shape and replaced.dtype == x.dtype
        assert (replaced[:, :field] == x[:, :field]).all()
        changed = (replaced != x)[:, field:].mean()
        # A draw equal to the true class changes nothing: the share is an upper bound.
        assert 0.5 * share < changed < share + 0.03


def test_the_draws_follow_the_decoder_given_the_true_past(model):
    """With every sample replaced, the classes drawn at one position over many crops are
    distributed as the decoder's softmax there, given the crop's own past."""
    x, _, replaced = past(model, 1.0, batch=6000)
    _, pitch = crop(model, batch=1)
    with chainer.no_backprop_mode():
        logits = model.decoder(x[:1, :-1], *model.decoder_conditions(x[:1], pitch)).array[0]
    position = logits.shape[1] // 2
    probabilities = np.exp(logits[:, position] - logits[:, position].max())
    probabilities /= probabilities.sum()
    field = model.decoder.receptive_field
    drawn = replaced[:, field + position]
    frequencies = np.bincount(drawn, minlength=len(probabilities)) / len(drawn)
    assert 0.5 * np.abs(frequencies - probabilities).sum() < 0.06
    assert 0.5 * np.abs(1 / len(probabilities) - probabilities).sum() > 0.2  # not uniform


def test_a_second_pass_draws_from_the_first_pass_past(model):
    """Two passes: the second draws given the first's draws, so a decoder that reads its
    past draws differently than after one pass from the same uniforms."""
    x, conditions, once = past(model, 1.0, passes=1, batch=16)
    _, _, twice = past(model, 1.0, passes=2, batch=16)
    field = model.decoder.receptive_field
    assert (twice[:, :field] == x[:, :field]).all()
    assert (twice != once).any()


def test_the_loss_trains_encoder_and_decoder_and_no_graph_holds_the_draws(model):
    x, pitch = crop(model)
    loss = ScheduledSampling(model, 1.0)(x, pitch)
    model.cleargrads()
    loss.backward()
    for name, link in (("encoder", model.encoder), ("decoder", model.decoder)):
        grads = [p.grad for p in link.params() if p.grad is not None]
        assert grads and any(np.abs(g).sum() > 0 for g in grads), name


@pytest.mark.parametrize("share, passes, message", [
    (-0.1, 1, "--scheduled-sampling is the share"), (1.5, 1, "in [0, 1]; got 1.5"),
    (0.5, 0, "--sampling-passes must be >= 1, got 0")])
def test_bad_settings_are_refused(model, share, passes, message):
    with pytest.raises(WaveNetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ScheduledSampling(model, share, passes)
