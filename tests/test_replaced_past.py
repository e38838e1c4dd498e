"""What every loss on a replaced decoder past shares (--input-noise, --scheduled-sampling):
its randomness follows the seed, the MPI rank and the calls made, and a resumed run draws
what an uninterrupted one would."""

import chainer
import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.training.input_noise import InputNoise
from chainer_wavenet.training.scheduled_sampling import ScheduledSampling

LOSSES = {"input-noise": lambda model, seed=0, rank=0: InputNoise(model, 2, seed, rank),
          "scheduled-sampling": lambda model, seed=0, rank=0: ScheduledSampling(
              model, 0.5, 1, seed, rank)}
CLEAN = {"input-noise": lambda model: InputNoise(model, 0),
         "scheduled-sampling": lambda model: ScheduledSampling(model, 0.0)}


def value(loss):
    return float(loss.array)


def crop(model):
    x = np.random.default_rng(0).integers(0, model.config.decoder.n_classes,
                                          (2, model.receptive_field + 4 * model.hop))
    return x.astype(np.int32), np.array([60, 64], np.int32)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_validation_and_no_replacement_score_the_clean_past(kind):
    model = make_autoencoder(pitch_lags=2)
    x, pitch = crop(model)
    clean = value(model.loss(x, pitch))
    with chainer.using_config("train", False):
        assert value(LOSSES[kind](model)(x, pitch)) == clean
    assert value(CLEAN[kind](model)(x, pitch)) == clean
    assert value(LOSSES[kind](model)(x, pitch)) != clean


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_each_call_draws_its_own_past_and_a_resumed_run_the_same(kind):
    make = LOSSES[kind]
    model = make_autoencoder(pitch_lags=2)
    x, pitch = crop(model)
    losses = [value(make(model, seed, rank)(x, pitch))
              for seed, rank in ((0, 0), (0, 0), (1, 0), (0, 1))]
    assert losses[0] == losses[1] and len(set(losses[1:])) == 3
    running = make(model)
    first = value(running(x, pitch))
    saved = {}
    running.serialize(chainer.serializers.DictionarySerializer(saved))
    second = value(running(x, pitch))
    assert second != first
    resumed = make(model)
    resumed.serialize(chainer.serializers.NpzDeserializer(saved))
    assert value(resumed(x, pitch)) == second
