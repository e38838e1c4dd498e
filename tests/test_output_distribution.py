"""Output distributions: the mixture's loss from its definition, its samples, mixture
WaveNets stepping, saving and learning like softmax ones, and the softmax unchanged."""

import hashlib

import chainer
import numpy as np
import pytest
from chainer import gradient_check
from model_fixtures import (
    make_wavenet,
    parallel_logits,
    random_classes,
    random_conditions,
    stepped_logits,
)
from scipy import stats

from chainer_wavenet import snapshot
from chainer_wavenet.audio import quantization
from chainer_wavenet.links.output_distribution import LogisticMixture, Softmax, for_config
from chainer_wavenet.models.config import WaveNetConfig, with_output
from chainer_wavenet.models.wavenet import WaveNet, bits
from chainer_wavenet.sampling import synthesis
from chainer_wavenet.sampling.generate import generate

MIXTURE = dict(n_classes=64, quantization="linear", output="logistic_mixture",
               mixture_components=3, input_mode="scalar")


def mixture_probabilities(logits, means, log_scales, n_classes, temperature=1.0):
    """Every class's probability (classes, ...) straight from the definition, in float64:
    differences of the logistics' CDFs at the bin edges, the outer edges at -inf and inf."""
    logits, means = np.float64(logits), np.float64(means)
    scales = np.exp(np.float64(log_scales)) * temperature
    weights = np.exp(logits / temperature)
    weights /= weights.sum(axis=0)
    width = 2.0 / n_classes
    edges = -1.0 + (np.arange(n_classes + 1) - 0.5) * width
    edges[0], edges[-1] = -np.inf, np.inf
    shape = (-1,) + (1,) * logits.ndim
    cdf = 1.0 / (1.0 + np.exp(-(edges.reshape(shape) - means) / scales))
    return ((cdf[1:] - cdf[:-1]) * weights).sum(axis=1)


def random_mixture_outputs(rng, components, length, spread=1.0):
    logits = rng.normal(size=(components, length))
    means = rng.uniform(-1.1, 1.1, (components, length))
    log_scales = rng.uniform(-6, -1, (components, length)) * spread
    return logits, means, log_scales


@pytest.mark.parametrize("n_classes", [2, 5, 16])
def test_mixture_nll_is_the_cdf_differences_of_its_logistics(n_classes):
    rng = np.random.default_rng(n_classes)
    logits, means, log_scales = random_mixture_outputs(rng, 3, 40)
    targets = rng.integers(0, n_classes, 40)
    targets[:2] = 0, n_classes - 1  # both edge classes, whose bins take the tails
    outputs = np.concatenate([logits, means, log_scales])[None].astype(np.float32)
    probabilities = mixture_probabilities(logits, means, log_scales, n_classes)
    expected = -np.log(probabilities[targets, np.arange(40)]).mean()
    nll = LogisticMixture(n_classes, 3).nll(outputs, targets[None].astype(np.int32))
    assert nll.dtype == np.float32
    assert float(nll.array) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, rtol=1e-12)


def test_mixture_nll_stays_finite_for_narrow_and_distant_logistics():
    """16-bit bins with the narrowest logistics: a mean on the target's bin costs almost
    nothing, one far away a large but finite amount."""
    n_classes = 65536
    target = np.array([[40000, 40000]], np.int32)
    centre = quantization.decode(40000, n_classes, "linear")
    outputs = np.array([[[0.0, 0.0], [centre, -0.9], [-20.0, -20.0]]], np.float32)
    distribution = LogisticMixture(n_classes, 1)
    near = float(distribution.nll(outputs[:, :, :1], target[:, :1]).array)
    far = float(distribution.nll(outputs[:, :, 1:], target[:, 1:]).array)
    assert 0 <= near < 1e-3
    assert 1e5 < far < np.inf


def test_mixture_nll_gradient():
    rng = np.random.default_rng(3)
    outputs = np.concatenate(random_mixture_outputs(rng, 2, 6, spread=0.3))[None]
    targets = np.array([[0, 3, 5, 7, 2, 6]], np.int32)
    distribution = LogisticMixture(8, 2)
    gradient_check.check_backward(lambda o: distribution.nll(o, targets), outputs,
                                  np.array(1.0), dtype=np.float64, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_mixture_samples_follow_its_probabilities(temperature):
    """A chi-square test of 40,000 draws from one mixture against its class probabilities
    (components' weights at logits / T, scales times T)."""
    n_classes, draws = 32, 40000
    logits = np.array([0.5, -0.3, 0.1])
    means = np.array([-0.6, 0.05, 0.7])
    log_scales = np.log([0.08, 0.03, 0.2])
    row = np.concatenate([logits, means, log_scales]).astype(np.float32)
    uniform = np.random.default_rng(11).random((draws, 2), dtype=np.float32)
    classes = LogisticMixture(n_classes, 3).sample(np.tile(row, (draws, 1)), temperature,
                                                   uniform)
    assert classes.dtype == np.int32
    counts = np.bincount(classes, minlength=n_classes)
    expected = draws * mixture_probabilities(logits[:, None], means[:, None],
                                             log_scales[:, None], n_classes, temperature)[:, 0]
    kept = expected >= 5  # chi-square needs enough expected draws per class
    assert counts[~kept].sum() <= 20
    observed = counts[kept] * expected[kept].sum() / counts[kept].sum()
    assert stats.chisquare(observed, expected[kept]).pvalue > 1e-3


def test_softmax_distribution_is_the_categorical_one():
    distribution = for_config(WaveNetConfig())
    assert isinstance(distribution, Softmax) and distribution.channels == 256
    assert distribution.draws == 1
    logits = np.log(np.array([[0.25, 0.5, 0.25]], np.float32))
    assert distribution.sample(logits, 1.0, np.array([[0.3]], np.float32)).tolist() == [1]


def test_softmax_wavenet_loss_and_samples_are_those_of_before_the_mixture():
    """Numbers pinned from the code before output distributions existed."""
    model = make_wavenet(seed=1, n_global=3, local_channels=2, local_hop=4)
    rng = np.random.default_rng(2)
    x = random_classes(rng, 2, model.receptive_field + 40, 32)
    ids, features = random_conditions(model.config, rng, 2, x.shape[1] + 60)
    loss = model.loss(x, ids, features[:, :, :(x.shape[1] - 1) // 4 + 1])
    assert float(loss.array) == pytest.approx(3.7392289638519287, rel=1e-6)
    generated = generate(model, 60, 2, 0.8, ids, features, prime=x[:, :30], seed=5)
    assert hashlib.sha256(generated.tobytes()).hexdigest()[:16] == "56600bad184f321e"


@pytest.mark.parametrize("settings", [{}, dict(n_global=3, local_channels=2, local_hop=4),
                                      dict(local_channels=2, local_hop=6,
                                           local_upsampling="transposed",
                                           upsampling_strides=(2, 3))])
def test_mixture_wavenet_steps_match_its_parallel_pass(settings):
    model = make_wavenet(**MIXTURE, **settings)
    field = model.receptive_field
    rng = np.random.default_rng(5)
    x = random_classes(rng, 2, field + 23, 64)
    global_ids, local_features = random_conditions(model.config, rng, 2, x.shape[1])
    parallel = parallel_logits(model, x, global_ids, local_features)
    assert parallel.shape == (2, 9, 24)
    steps = stepped_logits(model, x, global_ids, local_features)
    np.testing.assert_allclose(steps[:, :, field - 1:], parallel, atol=1e-4, rtol=1e-4)


def test_mixture_wavenet_round_trips_through_a_snapshot(tmp_path):
    model = make_wavenet(**MIXTURE, local_channels=2, local_hop=4,
                         local_upsampling="transposed", upsampling_strides=(4,))
    snapshot.save(tmp_path / "model.h5", model)
    loaded = snapshot.load(tmp_path / "model.h5")
    assert loaded.config == model.config
    assert isinstance(loaded.distribution, LogisticMixture)
    rng = np.random.default_rng(0)
    x = random_classes(rng, 1, model.receptive_field + 9, 64)
    _, features = random_conditions(model.config, rng, 1, x.shape[1] + 20)
    assert float(loaded.loss(x, None, features).array) == float(model.loss(x, None,
                                                                           features).array)
    np.testing.assert_array_equal(generate(loaded, 20, 1, 1.0, None, features, x, seed=2),
                                  generate(model, 20, 1, 1.0, None, features, x, seed=2))


def test_fresh_mixture_wavenet_starts_spread_over_the_classes():
    """Near its initial state the 16-bit mixture puts a scale-1 logistic on each sample:
    about 16 bits (a uniform 16-bit distribution), not a spike."""
    np.random.seed(0)
    model = WaveNet(with_output(WaveNetConfig(dilations=(1, 2, 4)), "logistic_mixture"))
    x = random_classes(np.random.default_rng(8), 2, model.receptive_field + 50, 65536)
    assert 14 < bits(float(model.loss(x).array)) < 18


@pytest.mark.slow
def test_small_mixture_model_learns_a_sine_and_generates_its_frequency():
    """As the softmax model does (see test_generate): 16-bit linear classes, 10 logistics."""
    seed = 0
    rate, frequency = 16000, 500.0
    np.random.seed(seed)
    config = with_output(WaveNetConfig(residual_channels=16, dilation_channels=16,
                                       skip_channels=32, dilations=(1, 2, 4, 8, 16, 32, 64)),
                         "logistic_mixture", 10)
    model = WaveNet(config)
    tone = quantization.encode(0.5 * np.sin(2 * np.pi * frequency * np.arange(rate) / rate),
                               config.n_classes, "linear")
    field = model.receptive_field
    crop = field + 192
    optimizer = chainer.optimizers.Adam(alpha=3e-3)
    optimizer.setup(model)
    rng = np.random.default_rng(seed)
    for _ in range(300):
        starts = rng.integers(0, len(tone) - crop, 4)
        loss = model.loss(np.stack([tone[start:start + crop] for start in starts]))
        model.cleargrads()
        loss.backward()
        optimizer.update()
    assert bits(float(loss.array)) < 12.5, "far from the 16 bits a flat guess costs"

    generated = generate(model, 2000, 1, 1.0, prime=tone[None, :field], seed=seed)
    audio = quantization.decode(generated[0], config.n_classes, "linear")
    assert audio.std() > 0.2, "the generated signal is nearly silent"
    continuation = quantization.decode(tone[field:field + 200], config.n_classes, "linear")
    assert np.corrcoef(audio[:200], continuation)[0, 1] > 0.9
    spectrum = np.abs(np.fft.rfft(audio - audio.mean()))
    assert spectrum.argmax() * rate / len(audio) == pytest.approx(frequency, abs=10)


def test_sampled_audio_of_a_mixture_model_is_its_linear_classes_decoded():
    model = make_wavenet(**MIXTURE)
    audio = synthesis.sample_audio(model, 30, 1, 1.0, seed=4, progress=False)
    classes = generate(model, 30, 1, 1.0, seed=4)
    np.testing.assert_array_equal(audio, quantization.decode(classes, 64, "linear"))


def test_softmax_entropy_in_bits():
    softmax = Softmax(8)
    logits = np.zeros((2, 8, 3), np.float32)
    logits[1, 5] = 100  # all on one class
    rng = np.random.default_rng(0)
    logits[:, :, 2] = rng.standard_normal((2, 8))
    entropy = softmax.entropy_bits(logits)
    assert entropy.shape == (2, 3)
    np.testing.assert_allclose(entropy[0, :2], 3, rtol=1e-6)  # uniform over 8: 3 bits
    np.testing.assert_allclose(entropy[1, :2], 0, atol=1e-6)
    p = np.exp(logits[:, :, 2]) / np.exp(logits[:, :, 2]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(entropy[:, 2], -(p * np.log2(p)).sum(axis=1), rtol=1e-5)
