"""The student's objectives against their definitions: the teacher's continuous density,
the KL, the maximum-likelihood NLL and its gradient, the power loss, the noise each rank
draws, and what student and teacher read of the mel frames."""

import math

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet
from scipy.integrate import trapezoid
from test_student import conditions, constant_logistic_pair, make_student, mixture_teacher

from chainer_wavenet.audio import quantization
from chainer_wavenet.links.output_distribution import LogisticMixture
from chainer_wavenet.models.student import logistic_noise
from chainer_wavenet.training.student_losses import (
    Distillation,
    MaximumLikelihood,
    power_loss,
    power_spectrum,
)


def logistic_log_pdf(values, mean, log_scale):
    z = (values - mean) * np.exp(-log_scale)
    return -z - log_scale - 2 * np.logaddexp(0, -z)


def test_log_density_is_the_mixture_density_and_integrates_to_one():
    """Against a float64 reference with unnormalized logits (K = 4 components)."""
    rng = np.random.default_rng(0)
    k, t = 4, 3
    logits = rng.normal(0, 2, (1, k, t)) + 5.0  # far from normalized
    means = rng.uniform(-0.5, 0.5, (1, k, t))
    log_scales = rng.uniform(-4, -2, (1, k, t))
    outputs = np.concatenate([logits, means, log_scales], axis=1).astype(np.float32)
    grid = np.linspace(-1.5, 1.5, 300001)
    mixture = LogisticMixture(65536, k)
    for column in range(t):
        weights = np.exp(logits[0, :, column]) / np.exp(logits[0, :, column]).sum()
        values = rng.uniform(-0.6, 0.6, 50)
        expected = np.log(sum(w * np.exp(logistic_log_pdf(values, m, s)) for w, m, s in zip(
            weights, means[0, :, column], log_scales[0, :, column], strict=True)))
        got = mixture.log_density(np.repeat(outputs[:, :, column:column + 1], 50, axis=2),
                                  values[None].astype(np.float32)).array[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        dense = mixture.log_density(np.repeat(outputs[:, :, column:column + 1], len(grid),
                                              axis=2), grid[None].astype(np.float32)).array[0]
        assert abs(trapezoid(np.exp(dense.astype(np.float64)), grid) - 1) < 1e-4


def test_log_density_of_a_float16_teacher_is_finite_and_that_of_float32():
    outputs = np.array([[[0.0], [0.1], [-13.0]]], np.float32)
    values = np.array([[0.1001]], np.float32)
    mixture = LogisticMixture(65536, 1)
    half = mixture.log_density(outputs.astype(np.float16), values).array
    assert np.isfinite(half).all()
    rounded = outputs.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(half, mixture.log_density(rounded, values).array, rtol=1e-5)


def quadrature_kl(student_mean, student_log_scale, teacher_mean, teacher_log_scale):
    grid = np.linspace(-3, 3, 600001)
    p = logistic_log_pdf(grid, student_mean, student_log_scale)
    q = logistic_log_pdf(grid, teacher_mean, teacher_log_scale)
    return trapezoid(np.exp(p) * (p - q), grid)


@pytest.mark.parametrize("shift, log_scale", [(0.0, 0.0), (0.05, 0.0), (0.0, 0.7),
                                              (0.02, -0.6)])
def test_distillation_kl_is_that_of_quadrature_for_logistic_pairs(shift, log_scale):
    student, teacher = constant_logistic_pair(0.1, -3.0, student_shift=shift,
                                              student_log_scale=log_scale)
    loss = Distillation(student, teacher, power_weight=0.0, draws=8, seed=0)
    x = np.full((8, teacher.receptive_field + 1000), 32768, np.int32)
    _, parts = loss(x)
    expected = quadrature_kl(0.1 + shift, -3.0 + log_scale, 0.1, -3.0)
    assert abs(float(parts["kl"].array) - expected) < 0.01 + 0.01 * expected, expected
    np.testing.assert_allclose(float(parts["entropy"].array), -3.0 + log_scale + 2, rtol=1e-5)


def test_distillation_floors_the_teachers_scale_at_its_bin_width():
    """A teacher far narrower than a 16-bit bin scores a student one bin wide as itself."""
    width = math.log(2 / 65536)
    student, teacher = constant_logistic_pair(0.1, -14.0, student_log_scale=width + 14.0)
    loss = Distillation(student, teacher, power_weight=0.0, draws=8, seed=0)
    _, parts = loss(np.full((4, teacher.receptive_field + 400), 32768, np.int32))
    assert abs(float(parts["kl"].array)) < 0.02


def scored_noise(loss, x, features):
    """The noise the next call of ``loss`` draws for the student."""
    rng = np.random.default_rng([loss.seed, loss.rank, int(loss.calls)])
    return logistic_noise(rng, x.shape)


def test_distillation_entropy_counts_the_scored_samples_only():
    teacher = mixture_teacher(components=2, local_channels=3, local_hop=4)
    student = make_student(n_global=0)
    loss = Distillation(student, teacher, power_weight=0.0, draws=1)
    length = teacher.receptive_field + 12
    _, features = conditions(student, batch=2, length=length)
    x = np.full((2, length), 32768, np.int32)
    u = scored_noise(loss, x, features)
    _, parts = loss(x, features)
    with chainer.no_backprop_mode():
        log_scale = student(u, None, features).log_scale.array
    np.testing.assert_allclose(float(parts["entropy"].array), log_scale[:, -12:].mean() + 2,
                               rtol=1e-5)


def test_each_rank_draws_its_own_noise():
    teacher = mixture_teacher(components=2)
    student = make_student(local_channels=0, local_hop=1, n_global=0)
    x = np.full((2, teacher.receptive_field + 8), 32768, np.int32)
    values = [float(Distillation(student, teacher, 0.0, 1, seed=3, rank=rank)(x)[0].array)
              for rank in (0, 0, 1)]
    assert values[0] == values[1] and values[0] != values[2]


def test_power_loss_compares_the_students_samples_with_the_recording_at_its_16_bits():
    """With a 256-class teacher too: the recording (65536 classes) of the student's own
    samples gives a power loss near 0."""
    teacher = make_wavenet(output="logistic_mixture", quantization="linear", n_classes=256,
                           input_mode="scalar")
    student = make_student(local_channels=0, local_hop=1, n_global=0)
    for flow in student.flows:  # samples within [-1, 1]
        flow.head2.W.array *= 0.1
        flow.head2.b.array[1] = -2.0
    loss = Distillation(student, teacher, power_weight=1.0, draws=1)
    length = teacher.receptive_field + 1024
    u = scored_noise(loss, np.zeros((2, length)), None)
    with chainer.no_backprop_mode():
        samples = student(u).samples.array
    assert np.abs(samples).max() < 1
    x = quantization.encode(samples, 65536, "linear")
    _, parts = loss(x)
    assert float(parts["power"].array) < 1e-3


def test_power_loss_is_its_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.1, (2, 2, 1500)).astype(np.float32)
    window = np.hanning(513)[:-1]

    def spectrum(audio):
        frames = np.stack([audio[:, i:i + 512] for i in range(0, audio.shape[1] - 511, 128)], 1)
        return (np.abs(np.fft.rfft(frames * window, axis=2)) ** 2).mean(1) / window.sum() ** 2

    np.testing.assert_allclose(power_spectrum(a).array, spectrum(a), rtol=1e-4, atol=1e-12)
    sa, sb = spectrum(a), spectrum(b)
    expected = (((sa - sb) ** 2).sum(1) / ((sa ** 2).sum(1) + (sb ** 2).sum(1) + 1e-9)).mean()
    np.testing.assert_allclose(float(power_loss(a, b).array), expected, rtol=1e-4)


def discretized_logistic_nll(classes, mean, log_scale, n_classes=65536):
    """float64 NLL per sample of 16-bit classes under Logistic(mean, e^log_scale):
    -log(sigmoid(a) - sigmoid(b)) over the class's bin [b, a], the edge classes taking the
    tails, in a form that stays finite far from the mean."""
    width = 2 / n_classes
    inverse = np.exp(-log_scale)
    upper = (classes * width - 1 + width / 2 - mean) * inverse
    lower = upper - width * inverse
    log_below_upper = -np.logaddexp(0, -upper)
    log_above_lower = -np.logaddexp(0, lower)
    log_within = np.log(-np.expm1(-width * inverse))
    log_probability = np.where(
        classes == 0, log_below_upper, np.where(
            classes == n_classes - 1, log_above_lower,
            log_below_upper + log_above_lower + log_within))
    return -log_probability


def mle_case():
    """A student whose logistics are a few 16-bit bins wide, its conditions and a crop."""
    student = make_student(n_global=0)
    for flow in student.flows:
        flow.head2.W.array *= 0.1
        flow.head2.b.array[1] = -4.0
    _, features = conditions(student, batch=2, length=40)
    t = np.arange(40) / 16000
    audio = 0.3 * np.sin(2 * np.pi * 500 * t + np.arange(2)[:, None])
    return student, features, quantization.encode(audio, 65536, "linear")


def test_maximum_likelihood_is_the_discretized_nll_of_the_scored_samples():
    student, features, x = mle_case()
    samples = quantization.decode(x, 65536, "linear")
    u = student.invert(samples, None, features)
    with chainer.no_backprop_mode():
        out = student(u, None, features)
    expected = discretized_logistic_nll(x[:, 8:], out.mean.array[:, 8:].astype(np.float64),
                                        out.log_scale.array[:, 8:].astype(np.float64)).mean()
    value, _ = MaximumLikelihood(student, context=8)(x, features)
    np.testing.assert_allclose(float(value.array), expected, rtol=1e-4)


def test_maximum_likelihood_gradient_is_that_of_the_nll_with_the_noise_held():
    """The gradient is a surrogate's: finite differences of the NLL with the recovered noise
    held fixed match it; those that re-invert (the likelihood's own) do not."""
    student, features, x = mle_case()
    loss = MaximumLikelihood(student, context=8)
    samples = quantization.decode(x, 65536, "linear")
    param = student.flows[0].head2.b
    value, _ = loss(x, features)
    student.cleargrads()
    value.backward()
    gradient = float(param.grad[0])
    held = student.invert(samples, None, features)
    step = 1e-3

    def nll(reinvert):
        u = student.invert(samples, None, features) if reinvert else held
        with chainer.no_backprop_mode():
            out = student(u, None, features)
        return discretized_logistic_nll(x[:, 8:], out.mean.array[:, 8:].astype(np.float64),
                                        out.log_scale.array[:, 8:].astype(np.float64)).mean()

    differences = []
    for reinvert in (False, True):
        param.array[0] += step
        up = nll(reinvert)
        param.array[0] -= 2 * step
        down = nll(reinvert)
        param.array[0] += step
        differences.append((up - down) / (2 * step))
    np.testing.assert_allclose(gradient, differences[0], rtol=2e-2, atol=1e-3)
    assert abs(differences[1] - gradient) > 0.1 * abs(gradient), differences


def first_change(before, after):
    changed = np.flatnonzero(np.any(before != after, axis=tuple(range(before.ndim - 1))))
    return int(changed[0])


@pytest.mark.parametrize("upsampling", ["repeat", "transposed"])
def test_student_and_teacher_read_a_new_frame_from_the_same_sample(upsampling):
    """Changing frame 5 first changes the student's sample 5 * hop + 1, and the teacher's
    prediction of that same sample (from its input 5 * hop)."""
    strides = (2, 2) if upsampling == "transposed" else ()
    settings = dict(local_channels=3, local_hop=4, local_upsampling=upsampling,
                    upsampling_strides=strides)
    student = make_student(n_global=0, **settings)
    teacher = mixture_teacher(components=2, **settings)
    length = teacher.receptive_field + 40
    _, features = conditions(student, batch=1, length=length)
    changed = features.copy()
    changed[:, :, 5] += 1.0
    u = logistic_noise(np.random.default_rng(0), (1, length))
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (1, length)).astype(np.float32)
    with chainer.no_backprop_mode():
        mine = [student(u, None, f).mean.array for f in (features, changed)]
        # The teacher's output j predicts sample j + receptive_field from the inputs before.
        its = [teacher(x[:, :-1], None, f).array for f in (features, changed)]
    assert first_change(*mine) == 5 * 4 + 1
    assert first_change(*its) + teacher.receptive_field == 5 * 4 + 1


def test_a_transposed_students_upsampling_shapes_its_conditioning():
    """Its learned upsampling is used (not repetition): changing its weights changes what
    the student plays."""
    student = make_student(n_global=0, local_upsampling="transposed", upsampling_strides=(2, 2))
    _, features = conditions(student)
    u = logistic_noise(np.random.default_rng(2), (2, 24))
    before = student(u, None, features).samples.array
    student.upsample[0].W.array[:, :, 0] *= 2
    after = student(u, None, features).samples.array
    assert not np.allclose(before, after)


def test_the_rank_of_an_mpi_launch_is_read_from_its_launcher(monkeypatch):
    """train/student.py gives each rank's distillation that rank."""
    from chainer_wavenet.training.parallel import launched_rank

    for variable in ("OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        monkeypatch.delenv(variable, raising=False)
    assert launched_rank() == 0
    monkeypatch.setenv("PMI_RANK", "3")
    assert launched_rank() == 3
