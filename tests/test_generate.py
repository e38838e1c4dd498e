"""Sample-by-sample generation and temperature sampling."""

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet, random_classes, random_conditions

from chainer_wavenet import WaveNetError
from chainer_wavenet.audio import mu_law
from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D
from chainer_wavenet.links.output_distribution import sample_softmax
from chainer_wavenet.models.config import WaveNetConfig
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.sampling.generate import generate

CONDITIONINGS = {
    "none": {},
    "global": dict(n_global=5),
    "local": dict(local_channels=3, local_hop=4),
    "both": dict(n_global=5, local_channels=3, local_hop=4),
}


def greedy_by_hand(model, prime, length, global_ids=None, local_features=None):
    """Feed the prime, then always take the most likely class; also the smallest top-2 gap."""
    generated = []
    gaps = []
    with chainer.no_backprop_mode():
        model.start(prime.shape[0], global_ids, local_features)
        for t in range(prime.shape[1] - 1):
            model.step(prime[:, t])
        current = prime[:, -1]
        for _ in range(length):
            logits = model.step(current)
            top_two = np.sort(logits, axis=1)[:, -2:]
            gaps.append((top_two[:, 1] - top_two[:, 0]).min())
            current = logits.argmax(axis=1).astype(np.int32)
            generated.append(current)
    return np.stack(generated, axis=1), min(gaps)


@pytest.mark.parametrize("conditioning", list(CONDITIONINGS))
def test_near_zero_temperature_is_greedy_decoding(conditioning):
    model = make_wavenet(**CONDITIONINGS[conditioning])
    model.head2.W.array *= 20  # wide gaps between the logits, so ties cannot blur the check
    rng = np.random.default_rng(0)
    prime = random_classes(rng, 2, 6, 32)
    length = 40
    global_ids, local_features = random_conditions(model.config, rng, 2, 6 + length)
    expected, smallest_gap = greedy_by_hand(model, prime, length, global_ids, local_features)
    assert smallest_gap > 1e-4, "logits too close to tell greedy decoding apart"
    generated = generate(model, length, 2, 1e-6, global_ids, local_features, prime, seed=1)
    np.testing.assert_array_equal(generated, expected)


def test_batch_generated_together_equals_each_generated_alone():
    model = make_wavenet(n_global=5, local_channels=3, local_hop=4)
    model.head2.W.array *= 20
    rng = np.random.default_rng(2)
    prime = random_classes(rng, 4, 7, 32)
    global_ids, local_features = random_conditions(model.config, rng, 4, 7 + 30)
    together = generate(model, 30, 4, 1e-6, global_ids, local_features, prime, seed=0)
    for row in range(4):
        alone = generate(model, 30, 1, 1e-6, global_ids[row:row + 1],
                         local_features[row:row + 1], prime[row:row + 1], seed=0)
        np.testing.assert_array_equal(together[row:row + 1], alone)


def test_output_type_shape_and_range():
    model = make_wavenet()
    generated = generate(model, 50, 3, 1.0, seed=0)
    assert isinstance(generated, np.ndarray)
    assert generated.dtype == np.int32
    assert generated.shape == (3, 50)
    assert generated.min() >= 0 and generated.max() < 32


def test_seed_makes_generation_reproducible():
    model = make_wavenet(n_global=3)
    ids = np.array([0, 2], np.int32)
    first = generate(model, 60, 2, 1.0, ids, seed=7)
    np.testing.assert_array_equal(generate(model, 60, 2, 1.0, ids, seed=7), first)
    assert not np.array_equal(generate(model, 60, 2, 1.0, ids, seed=8), first)


def test_rows_with_identical_primes_draw_different_samples():
    model = make_wavenet()
    prime = np.full((4, 3), 7, np.int32)
    generated = generate(model, 60, 4, 1.0, prime=prime, seed=0)
    for row in range(4):
        for other in range(row):
            assert not np.array_equal(generated[row], generated[other]), (row, other)


def test_each_row_draws_its_own_column_of_the_seeded_uniforms():
    """The seed gives one table of uniforms (length, batch); row r samples with column r.

    So each row, generated alone by hand with its own column, is the row generated in the
    batch: a row does not depend on the others.
    """
    model = make_wavenet(n_global=5, local_channels=3, local_hop=4)
    rng = np.random.default_rng(7)
    batch, length = 3, 40
    prime = random_classes(rng, batch, 5, 32)
    global_ids, local_features = random_conditions(model.config, rng, batch, 5 + length)
    together = generate(model, length, batch, 1.0, global_ids, local_features, prime, seed=11)
    uniform = np.random.default_rng(11).random((length, batch), dtype=np.float32)
    for row in range(batch):
        alone = []
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            model.start(1, global_ids[row:row + 1], local_features[row:row + 1])
            for t in range(prime.shape[1] - 1):
                model.step(prime[row:row + 1, t])
            current = prime[row:row + 1, -1]
            for t in range(length):
                current = sample_softmax(model.step(current), 1.0, uniform[t, row:row + 1])
                alone.append(current[0])
        np.testing.assert_array_equal(together[row], alone)


def test_default_prime_is_one_silent_sample():
    model = make_wavenet()
    silence = np.full((2, 1), 32 // 2, np.int32)
    np.testing.assert_array_equal(generate(model, 25, 2, 1.0, seed=3),
                                  generate(model, 25, 2, 1.0, prime=silence, seed=3))


@pytest.mark.parametrize("length,batch_size,temperature", [
    (0, 1, 1.0), (-3, 1, 1.0), (10, 0, 1.0), (10, -1, 1.0),
    (10, 1, 0.0), (10, 1, -0.5), (10, 1, float("nan")),
])
def test_unusable_arguments_raise(length, batch_size, temperature):
    with pytest.raises(WaveNetError):
        generate(make_wavenet(), length, batch_size, temperature)


@pytest.mark.parametrize("prime", [
    np.zeros((3, 4), np.int32), np.zeros((2, 0), np.int32), np.zeros(4, np.int32)])
def test_prime_of_the_wrong_shape_raises(prime):
    with pytest.raises(WaveNetError, match="priming"):
        generate(make_wavenet(), 5, 2, 1.0, prime=prime)



@pytest.mark.parametrize("outside", [-1, 32], ids=["negative", "n_classes"])
def test_prime_classes_outside_the_model_are_refused(outside):
    prime = np.full((2, 3), 5, np.int32)
    prime[1, 2] = outside
    with pytest.raises(WaveNetError, match=f"priming classes must lie in 0..31, got {outside}"):
        generate(make_wavenet(n_classes=32), 5, 2, 1.0, prime=prime)


def test_conditioning_given_as_numpy_arrays_or_lists_generates_the_same():
    """generate() sends every input to the model's device itself, whatever it is given as."""
    model = make_wavenet(n_global=3, local_channels=2, local_hop=4)
    ids, features = random_conditions(model.config, np.random.default_rng(1), 2, 12)
    prime = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    from_arrays = generate(model, 9, 2, 1.0, ids, features, prime, seed=3)
    from_lists = generate(model, 9, 2, 1.0, ids.tolist(), features.tolist(), prime.tolist(),
                          seed=3)
    np.testing.assert_array_equal(from_lists, from_arrays)


def test_local_features_must_reach_the_last_fed_sample():
    model = make_wavenet(local_channels=2, local_hop=4)
    prime = np.zeros((1, 3), np.int32)
    # 3 primed + 6 new samples: the first 8 are fed to the model, 2 frames of 4.
    covering = np.zeros((1, 2, 2), np.float32)
    assert generate(model, 6, 1, 1.0, local_features=covering, prime=prime).shape == (1, 6)
    with pytest.raises(WaveNetError, match="cover 8 samples; a 3-sample prime and 7 new "
                                           "samples need 9"):
        generate(model, 7, 1, 1.0, local_features=covering, prime=prime)


def generation_state(model):
    """Shapes of every array the model's links keep between steps, by link and attribute."""
    state = {}
    for path, link in model.namedlinks():
        for attribute, value in vars(link).items():
            if isinstance(value, np.ndarray):
                state[path, attribute] = value.shape
            elif isinstance(value, list):
                state[path, attribute] = tuple(getattr(v, "shape", None) for v in value)
    return state


def test_state_per_step_does_not_grow_with_the_samples_before_it():
    model = make_wavenet(dilations=(1, 2, 4, 8), filter_width=3, n_global=2, local_channels=2,
                         local_hop=4)
    batch = 2
    rng = np.random.default_rng(4)
    x = random_classes(rng, batch, 1000, 32)
    global_ids, local_features = random_conditions(model.config, rng, batch, 1000)
    with chainer.no_backprop_mode():
        model.start(batch, global_ids, local_features)
        after_start = generation_state(model)
        queues = {path: link._queue for path, link in model.namedlinks()
                  if isinstance(link, DilatedConv1D) and "_queue" in vars(link)}
        for t in range(10):
            model.step(x[:, t])
        after_10 = generation_state(model)
        for t in range(10, 1000):
            model.step(x[:, t])
        after_1000 = generation_state(model)
    assert after_start == after_10 == after_1000
    assert len(queues) >= len(model.blocks)
    for path, queue in queues.items():
        link = dict(model.namedlinks())[path]
        assert link._queue is queue, f"{path} replaced its queue"
        assert queue.shape == (max(link.reach, 1), batch, link.W.shape[1])


def test_sampling_frequencies_follow_the_tempered_softmax():
    logits_row = np.array([0.0, 1.0, 2.0, -1.0, 0.5], np.float32)
    draws = 100_000
    rng = np.random.default_rng(5)
    for temperature in (0.5, 1.0, 2.0):
        uniform = rng.random(draws, dtype=np.float32)
        logits = np.tile(logits_row, (draws, 1))
        choices = sample_softmax(logits, temperature, uniform)
        assert choices.dtype == np.int32 and choices.shape == (draws,)
        expected = np.exp(logits_row / temperature)
        expected = draws * expected / expected.sum()
        observed = np.bincount(choices, minlength=5)
        chi_square = ((observed - expected) ** 2 / expected).sum()
        assert chi_square < 25.0, (temperature, observed, expected)  # 4 degrees of freedom


def test_low_temperature_picks_the_argmax():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(500, 16)).astype(np.float32)
    winners = rng.integers(0, 16, 500)
    logits[np.arange(500), winners] = logits.max(axis=1) + 0.05
    uniform = rng.random(500, dtype=np.float32)
    choices = sample_softmax(logits, 1e-3, uniform)
    np.testing.assert_array_equal(choices, winners)


def test_classes_without_probability_are_never_drawn():
    logits = np.tile(np.array([-1e4, 0.0, -1e4, 0.0, -1e4], np.float32), (4, 1))
    uniform = np.array([0.0, 0.4999, 0.5001, 1 - 2 ** -24], np.float32)
    np.testing.assert_array_equal(sample_softmax(logits, 1.0, uniform), [1, 1, 3, 3])


def test_small_model_learns_a_sine_and_generates_its_frequency():
    """A model trained briefly on a 500 Hz tone continues a prime of it at 500 Hz."""
    seed = 0
    rate, frequency = 16000, 500.0
    np.random.seed(seed)
    model = WaveNet(WaveNetConfig(residual_channels=16, dilation_channels=16, skip_channels=32,
                                  dilations=(1, 2, 4, 8, 16, 32, 64)))
    tone = mu_law.encode(0.5 * np.sin(2 * np.pi * frequency * np.arange(rate) / rate))
    field = model.receptive_field
    crop = field + 192
    optimizer = chainer.optimizers.Adam(alpha=3e-3)
    optimizer.setup(model)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        starts = rng.integers(0, len(tone) - crop, 4)
        batch = np.stack([tone[start:start + crop] for start in starts])
        loss = model.loss(batch)
        model.cleargrads()
        loss.backward()
        optimizer.update()
    assert float(loss.array) < 0.1

    generated = generate(model, 2000, 1, 1.0, prime=tone[None, :field], seed=seed)
    audio = mu_law.decode(generated[0])
    assert audio.std() > 0.2, "the generated signal is nearly silent"
    # It continues the prime in phase: the tone's own next samples, not any 500 Hz tone.
    continuation = mu_law.decode(tone[field:field + 200])
    assert np.corrcoef(audio[:200], continuation)[0, 1] > 0.9
    spectrum = np.abs(np.fft.rfft(audio - audio.mean()))
    peak = spectrum.argmax() * rate / len(audio)
    assert abs(peak - frequency) <= 0.05 * frequency
