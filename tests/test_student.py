"""The Parallel WaveNet student: causal flows, its log-determinant and inversion, its
snapshot, and the two objectives it is trained on."""

import chainer
import numpy as np
import pytest
from model_fixtures import make_wavenet, randomize_parameters

from chainer_wavenet import snapshot
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.config import (
    STUDENT_PRESETS,
    StudentConfig,
    config_from_json,
    config_to_json,
    student_for,
)
from chainer_wavenet.models.student import Student, logistic_noise
from chainer_wavenet.training.student_losses import (
    Distillation,
    MaximumLikelihood,
    check_teacher,
    power_loss,
)

LENGTH = 24


def make_student(seed=0, **settings):
    values = dict(flow_layers=(2, 3), residual_channels=4, dilation_channels=4,
                  skip_channels=5, local_channels=3, local_hop=4, n_global=2)
    values.update(settings)
    np.random.seed(seed)
    return randomize_parameters(Student(StudentConfig(**values)), seed)


def conditions(student, batch=2, length=LENGTH, seed=1):
    rng = np.random.default_rng(seed)
    config = student.config
    ids = rng.integers(0, config.n_global, batch).astype(np.int32) if config.n_global else None
    features = None
    if config.local_channels:
        frames = -(-length // config.local_hop)
        features = rng.normal(size=(batch, config.local_channels, frames)).astype(np.float32)
    return ids, features


def outputs(student, u, ids, features):
    with chainer.no_backprop_mode():
        return student(u, ids, features)


@pytest.mark.parametrize("upsampling", ["repeat", "transposed"])
def test_every_flow_and_the_student_are_causal(upsampling):
    """Changing the noise at t leaves every flow's shift and scale up to t unchanged, and
    the student's samples before t."""
    strides = (2, 2) if upsampling == "transposed" else ()
    student = make_student(local_upsampling=upsampling, upsampling_strides=strides)
    ids, features = conditions(student)
    u = logistic_noise(np.random.default_rng(2), (2, LENGTH))
    biases = student.conditions(LENGTH, ids, features)
    for t in (0, 7, LENGTH - 1):
        changed = u.copy()
        changed[:, t] += 3.0
        for flow, flow_biases in zip(student.flows, biases, strict=True):
            with chainer.no_backprop_mode():
                before = np.stack([p.array for p in flow(u, flow_biases)])
                after = np.stack([p.array for p in flow(changed, flow_biases)])
            np.testing.assert_array_equal(before[..., :t + 1], after[..., :t + 1])
        before, after = (outputs(student, noise, ids, features) for noise in (u, changed))
        np.testing.assert_array_equal(before.samples.array[:, :t], after.samples.array[:, :t])
        for name in ("mean", "log_scale"):
            np.testing.assert_array_equal(getattr(before, name).array[:, :t + 1],
                                          getattr(after, name).array[:, :t + 1])
        if t + 1 < LENGTH:
            assert not np.allclose(before.samples.array[:, t + 1:],
                                   after.samples.array[:, t + 1:])


def test_samples_are_the_noise_through_the_per_sample_logistic():
    student = make_student()
    ids, features = conditions(student)
    u = logistic_noise(np.random.default_rng(3), (2, LENGTH))
    out = outputs(student, u, ids, features)
    np.testing.assert_allclose(out.samples.array, u * np.exp(out.log_scale.array)
                               + out.mean.array, rtol=1e-5, atol=1e-6)


def test_log_determinant_is_that_of_the_numerical_jacobian():
    student = make_student(local_channels=0, local_hop=1, n_global=0)
    length = 10
    u = logistic_noise(np.random.default_rng(4), (1, length)).astype(np.float64)
    student.to_device("@numpy")
    for param in student.params():
        param.array = param.array.astype(np.float64)

    def samples(noise):
        return outputs(student, noise, None, None).samples.array[0]

    step = 1e-6
    jacobian = np.stack([(samples(u + step * np.eye(length)[i]) -
                          samples(u - step * np.eye(length)[i])) / (2 * step)
                         for i in range(length)], axis=1)
    np.testing.assert_allclose(np.triu(jacobian, 1), 0, atol=1e-8)
    sign, log_det = np.linalg.slogdet(jacobian)
    assert sign > 0
    expected = outputs(student, u, None, None).log_determinant().array[0]
    np.testing.assert_allclose(log_det, expected, rtol=1e-6)


def test_inverting_the_flows_recovers_the_noise():
    student = make_student()
    ids, features = conditions(student)
    u = logistic_noise(np.random.default_rng(5), (2, LENGTH))
    x = outputs(student, u, ids, features).samples.array
    np.testing.assert_allclose(student.invert(x, ids, features), u, rtol=1e-4, atol=1e-4)


def test_generation_is_one_pass_in_range_and_repeatable():
    student = make_student()
    ids, features = conditions(student, batch=3)
    audio = student.generate(LENGTH, 3, 1.0, ids, features, seed=7)
    assert audio.shape == (3, LENGTH) and audio.dtype == np.float32
    assert np.abs(audio).max() <= 1
    np.testing.assert_array_equal(audio, student.generate(LENGTH, 3, 1.0, ids, features, seed=7))
    with pytest.raises(ValueError, match="cover"):
        student.generate(LENGTH + 8, 3, 1.0, ids, features)


def test_config_and_snapshot_round_trip(tmp_path):
    for config in STUDENT_PRESETS.values():
        assert config_from_json(config_to_json(config)) == config
    assert STUDENT_PRESETS["paper"].flow_layers == (10, 10, 10, 30)
    assert STUDENT_PRESETS["paper"].dilations(3)[-1] == 512
    student = make_student()
    assert '"kind": "student"' in config_to_json(student.config)
    path = tmp_path / "student.h5"
    snapshot.save(path, student, {"sample_rate": 16000})
    loaded = snapshot.load(path)
    assert isinstance(loaded, Student) and loaded.config == student.config
    for (name, a), (_, b) in zip(sorted(student.namedparams()), sorted(loaded.namedparams()),
                                 strict=True):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


@pytest.mark.parametrize("settings, message", [
    (dict(flow_layers=()), "flow_layers"),
    (dict(flow_layers=(3, 0)), "flow_layers"),
    (dict(local_upsampling="transposed", local_channels=3, local_hop=4,
          upsampling_strides=(3,)), "multiplying to local_hop"),
    (dict(upsampling_strides=(2,)), "transposed' only"),
])
def test_bad_configs_are_refused(settings, message):
    with pytest.raises(WaveNetError, match=message):
        StudentConfig(**settings)


def test_a_student_is_conditioned_as_its_teacher():
    teacher = make_wavenet(output="logistic_mixture", quantization="linear", n_classes=256,
                           input_mode="scalar", local_channels=3, local_hop=4, n_global=2).config
    config = student_for(teacher, "S")
    assert (config.local_channels, config.local_hop, config.n_global) == (3, 4, 2)
    assert config.residual_channels == 64 and sum(config.flow_layers) == 20


def mixture_teacher(components=1, **settings):
    return make_wavenet(output="logistic_mixture", quantization="linear", n_classes=65536,
                        input_mode="scalar", mixture_components=components, **settings)


def test_only_a_mixture_teacher_reading_scalars_can_teach():
    with pytest.raises(WaveNetError, match="softmax teacher"):
        check_teacher(make_wavenet(), "t.h5")
    with pytest.raises(WaveNetError, match="embedded classes"):
        check_teacher(make_wavenet(output="logistic_mixture", quantization="linear",
                                   n_classes=256), "t.h5")
    check_teacher(mixture_teacher(), "t.h5")


def constant_logistic_pair(mean, log_scale, student_shift=0.0, student_log_scale=0.0):
    """A teacher whose every sample is Logistic(mean, e^log_scale), whatever came before,
    and a one-flow student whose samples are Logistic(mean + shift, e^(log_scale + ...))."""
    teacher = mixture_teacher()
    student = make_student(flow_layers=(2,), local_channels=0, local_hop=1, n_global=0)
    for model in (teacher, student):
        for param in model.params():
            param.array[...] = 0
    teacher.head2.b.array[...] = [0.0, mean, log_scale]
    student.flows[0].head2.b.array[...] = [mean + student_shift,
                                           log_scale + student_log_scale]
    return student, teacher


def test_distillation_is_least_where_student_and_teacher_agree():
    """KL(student || teacher) is about 0 for the same logistic and grows as the student's
    mean or scale moves away from the teacher's."""
    def kl(**offsets):
        student, teacher = constant_logistic_pair(0.1, -3.0, **offsets)
        loss = Distillation(student, teacher, power_weight=0.0, draws=8, seed=0)
        x = np.full((4, teacher.receptive_field + 400), 32768, np.int32)
        value, parts = loss(x)
        return float(parts["kl"].array)

    matched = kl()
    assert abs(matched) < 0.02
    for offsets in (dict(student_shift=0.05), dict(student_log_scale=0.5),
                    dict(student_log_scale=-0.5)):
        assert kl(**offsets) > matched + 0.05, offsets


def test_distillation_trains_the_student_alone():
    teacher = mixture_teacher(components=3, local_channels=3, local_hop=4)
    student = make_student(n_global=0)
    loss = Distillation(student, teacher, power_weight=1.0, draws=2)
    rng = np.random.default_rng(0)
    length = teacher.receptive_field + 16
    x = rng.integers(20000, 45000, (2, length)).astype(np.int32)
    features = rng.normal(size=(2, 3, -(-length // 4))).astype(np.float32)
    teacher.cleargrads()
    value, parts = loss(x, features)
    assert set(parts) == {"kl", "cross_entropy", "entropy", "power"}
    np.testing.assert_allclose(value.array, parts["kl"].array + parts["power"].array, rtol=1e-5)
    student.cleargrads()
    value.backward()
    assert all(p.grad is not None and np.isfinite(p.grad).all() for p in student.params())
    assert np.abs(student.flows[0].blocks[0].conv.W.grad).max() > 0
    assert all(p.grad is None for p in teacher.params()), "the teacher's weights are frozen"


def test_power_loss_is_zero_for_the_same_spectrum_only():
    t = np.arange(4096) / 16000
    tone = np.sin(2 * np.pi * 440 * t)[None].astype(np.float32)
    shifted = np.sin(2 * np.pi * 440 * t + 1.0)[None].astype(np.float32)
    other = np.sin(2 * np.pi * 880 * t)[None].astype(np.float32)
    assert float(power_loss(tone, shifted).array) < 1e-3 * float(power_loss(tone, other).array)


def test_maximum_likelihood_is_the_exact_likelihood_and_lowers_with_training():
    """Its value is the discretized logistic NLL of each sample given the noise recovered
    before it; a few steps on one crop lower it."""
    student = make_student(n_global=0)
    ids, features = conditions(student, batch=2, length=64)
    t = np.arange(64) / 16000
    audio = 0.3 * np.sin(2 * np.pi * 500 * t + np.arange(2)[:, None])
    x = np.floor((audio + 1) / (2 / 65536) + 0.5).astype(np.int32)
    loss = MaximumLikelihood(student, context=8)
    first, _ = loss(x, features)
    optimizer = chainer.optimizers.Adam(alpha=1e-2)
    optimizer.setup(student)
    for _ in range(15):
        value, _ = loss(x, features)
        student.cleargrads()
        value.backward()
        optimizer.update()
    assert float(value.array) < float(first.array) - 0.5


def band_energy(audio, frequency, width=150.0, rate=16000):
    spectrum = np.abs(np.fft.rfft(audio - audio.mean())) ** 2
    bins = np.fft.rfftfreq(len(audio), 1 / rate)
    return spectrum[np.abs(bins - frequency) < width].sum()


def distil_tone_student(seed, upsampling="repeat"):
    """A teacher trained on a 400 Hz and a 1000 Hz tone, each with its mel spectrogram, and
    a student distilled from it (KL and power loss), both from ``seed`` and both upsampling
    the mel frames by ``upsampling``; per tone: what the student plays for that tone's mel
    spectrogram (4000 samples, the first 500 cut)."""
    from chainer_wavenet.audio import quantization
    from chainer_wavenet.audio.mel import MelSettings, log_mel
    from chainer_wavenet.datasets.crops import Crops
    from chainer_wavenet.models.config import WaveNetConfig, with_output
    from chainer_wavenet.models.wavenet import WaveNet

    rate, mel = 16000, MelSettings(n_mels=8, hop=64, n_fft=256)
    upsampled = dict(local_upsampling=upsampling,
                     upsampling_strides=(8, 8) if upsampling == "transposed" else ())
    np.random.seed(seed)
    teacher = WaveNet(with_output(WaveNetConfig(
        residual_channels=16, dilation_channels=16, skip_channels=32,
        dilations=(1, 2, 4, 8, 16, 32, 64), local_channels=mel.n_mels, local_hop=mel.hop,
        **upsampled), "logistic_mixture", 3))
    tones = [quantization.encode(0.5 * np.sin(2 * np.pi * f * np.arange(rate) / rate),
                                 65536, "linear") for f in TONES]
    features = [log_mel(quantization.decode(t, 65536, "linear"), rate, mel) for t in tones]
    rng = np.random.default_rng(seed)

    def train(model, loss, steps, length, lr):
        crops = Crops(tones, teacher.receptive_field, length, features=features, hop=mel.hop,
                      n_classes=65536)
        optimizer = chainer.optimizers.Adam(alpha=lr)
        optimizer.setup(model)
        for _ in range(steps):
            batch = chainer.dataset.concat_examples(
                [crops[i] for i in rng.integers(0, len(crops), 4)])
            value = loss(**batch)
            model.cleargrads()
            (value[0] if isinstance(value, tuple) else value).backward()
            optimizer.update()

    train(teacher, teacher.loss, 300, 192, 3e-3)
    np.random.seed(seed + 1)
    student = Student(StudentConfig(flow_layers=(6, 6), residual_channels=16,
                                    dilation_channels=16, skip_channels=16,
                                    local_channels=mel.n_mels, local_hop=mel.hop, **upsampled))
    train(student, Distillation(student, teacher, power_weight=100.0, draws=2, seed=seed),
          1000, 448, 1e-2)
    return [student.generate(4000, 1, 1.0, local_features=condition[None, :, :63],
                             seed=seed)[0][500:] for condition in features]


TONES = (400.0, 1000.0)


@pytest.mark.slow
@pytest.mark.parametrize("upsampling", ["repeat", "transposed"])
def test_a_student_distilled_from_a_tone_teacher_plays_the_tone_of_its_mel(upsampling):
    """The mel spectrogram steers the distilled student (:func:`distil_tone_student`)
    toward its tone: the energy near 1000 Hz over that near 400 Hz is more than 4 times
    higher for the 1000 Hz tone's spectrogram than for the 400 Hz one's, and the student
    is not silent for both.

    What it asserts is this contrast, not that each tone is played: at this budget the
    student sometimes leaves one tone near silence (seed 3 plays std 0.02 for the 400 Hz
    spectrogram), on some floating-point paths and not others. The contrast over seeds
    0-4 (1000 steps, power weight 100): 263, 304, 182, 74 and 11 times, against 4; with
    transposed-convolution upsampling (strides 8 x 8, teacher and student): 721, 393, 254,
    5266 (seed 3 again near silence for 400 Hz) and 1006.
    """
    low, high = distil_tone_student(0, upsampling)
    assert max(low.std(), high.std()) > 0.1, "the student plays near silence"

    def contrast(played):
        return band_energy(played, 1000.0) / band_energy(played, 400.0)

    assert contrast(high) > 4 * contrast(low), (contrast(high), contrast(low))
