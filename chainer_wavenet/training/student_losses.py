"""What a Parallel WaveNet student is trained to minimize: distillation from a teacher, or
the likelihood of recordings.

Both take a batch of training crops as a WaveNet's ``loss`` does (``x``: int32 16-bit
linear classes (batch, N), ``local_features``, ``global_ids``) and return the loss with
its parts, to be reported beside it; the loss counts the last ``N - context`` samples of
each crop, those the teacher scores with a full receptive field.
"""

import functools
import math

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet.audio.quantization import bin_width
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.links.output_distribution import LogisticMixture
from chainer_wavenet.models.student import logistic_noise
from chainer_wavenet.models.wavenet import WaveNet

# The power loss's analysis: windows of 512 samples (32 ms at 16 kHz), 128 apart.
POWER_WINDOW = 512
POWER_HOP = 128
# Added to the squared spectra dividing the power loss: that of a sine 40 dB under full
# scale, so that two near-silent clips count as alike.
POWER_FLOOR = 1e-9


def check_teacher(teacher, where):
    """WaveNetError unless ``teacher`` (loaded from ``where``) can score a student's samples."""
    if not isinstance(teacher, WaveNet):
        raise WaveNetError(f"{where}: is not a WaveNet; a student learns from a WaveNet "
                           f"trained by train/wavenet.py --output logistic_mixture")
    config = teacher.config
    if config.output != "logistic_mixture":
        raise WaveNetError(f"{where}: a softmax teacher cannot teach a student: its classes "
                           f"have no density at the student's continuous samples, and "
                           f"drawing classes passes no gradient back to the student. Train "
                           f"the teacher with --output logistic_mixture")
    if config.input_mode != "scalar":
        raise WaveNetError(f"{where}: the teacher reads its input as embedded classes, so it "
                           f"cannot read the student's continuous samples; train it with "
                           f"--output logistic_mixture, which reads samples as scalars")
    if config.source_channels or config.pitch_lags:
        raise WaveNetError(f"{where}: the teacher reads pitch signals; a student follows mel "
                           f"spectrograms and speakers only")


def constant_copy(link):
    """A copy of ``link`` whose weights are constants sharing its arrays: a graph through it
    computes gradients for its inputs only, none for its weights."""
    copy = link.copy(mode="share")
    for child in copy.links():
        for name in list(child._params):
            array = getattr(child, name).array
            delattr(child, name)
            setattr(child, name, chainer.Variable(array, requires_grad=False))
    return copy


def decode(x, n_classes):
    """Float32 samples of int 16-bit linear classes, on their own device."""
    return (x.astype(np.float32) * np.float32(bin_width(n_classes)) - 1).astype(np.float32)


def last(variable, count):
    """The last ``count`` samples of (batch, N) ``variable``."""
    cut = variable.shape[1] - count
    return variable if cut == 0 else F.split_axis(variable, [cut], axis=1)[1]


@functools.cache
def dft_basis(window, device="@numpy"):
    """The Hann-windowed cosines and sines of :func:`power_spectrum` as a convolution
    kernel (window + 2, 1, window), float32 on ``device`` (a Chainer device name): built
    and sent once per window and device."""
    hann = np.hanning(window + 1)[:-1]
    angles = 2 * np.pi * np.outer(np.arange(window // 2 + 1), np.arange(window)) / window
    basis = np.concatenate([np.cos(angles), np.sin(angles)]) * hann / hann.sum()
    return chainer.get_device(device).send(np.ascontiguousarray(basis[:, None, :], np.float32))


def power_spectrum(audio, window=POWER_WINDOW, hop=POWER_HOP):
    """Mean power spectrum (batch, window // 2 + 1) over the Hann-windowed frames of audio
    (batch, N) (zero-padded to one window if shorter), scaled so that a full-scale sine's
    bin has power 1/4; differentiable."""
    if audio.shape[1] < window:
        audio = F.pad(audio, ((0, 0), (0, window - audio.shape[1])), "constant")
    array = audio.array if isinstance(audio, chainer.Variable) else audio
    basis = dft_basis(window, str(chainer.backend.get_device_from_array(array)))
    frames = F.convolution_1d(F.expand_dims(audio, 1), basis, stride=hop)
    real, imaginary = F.split_axis(frames, 2, axis=1)
    return F.mean(real ** 2 + imaginary ** 2, axis=2)


def power_loss(generated, real):
    """Squared distance of the mean power spectra of two batches of audio (batch, N),
    summed over frequencies (Parallel WaveNet's power loss), divided by the sum of both
    spectra's squares: 0 for the same spectrum, 1 for spectra with nothing in common or
    silence against sound, whatever the loudness. Averaged over the batch."""
    mine = power_spectrum(generated)
    target = power_spectrum(real).array
    distance = F.sum((mine - target) ** 2, axis=1)
    return F.mean(distance / (F.sum(mine ** 2, axis=1) + (target ** 2).sum(axis=1)
                              + POWER_FLOOR))


class Distillation(chainer.Link):
    """KL(student || teacher) per sample, plus ``power_weight`` times the power loss.

    KL = H(student, teacher) - H(student). The student's samples come from one pass over
    fresh noise; the teacher, its weights frozen, scores them in one parallel pass, giving
    for every sample t its mixture given the student's samples before t. Given the noise
    before t the student's sample t is Logistic(M_t, S_t): its entropy is log S_t + 2 in
    closed form, and the cross-entropy is estimated from ``draws`` draws of that logistic
    (M_t + S_t * noise, so the gradient flows into the student), each scored by the
    teacher's continuous mixture density. The power loss compares the student's samples
    with the recording whose mel spectrogram both followed.

    The noise of call n is drawn from ``seed``, the MPI ``rank`` and n (each rank draws
    its own); n is kept in the trainer snapshot (a Link without weights, a child of the
    Objective), so that a resumed run draws what an uninterrupted one would. The teacher's
    log-scales are floored at the log of its bin width (``log_scale_floor``).
    """

    def __init__(self, student, teacher, power_weight=1.0, draws=4, seed=0, rank=0):
        super().__init__()
        check_teacher(teacher, "teacher")
        self.student = student
        self.teacher = teacher
        self.power_weight = power_weight
        self.draws = draws
        self.seed = seed
        self.rank = rank
        # The teacher's log-scales are floored at its bin width here: a logistic narrower
        # than a bin is the discretized mixture's business, and at e**-14 the continuous
        # density's slope (~1e6) lets quiet stretches swamp the cross-entropy.
        self.log_scale_floor = math.log(bin_width(teacher.config.n_classes))
        self.add_persistent("calls", 0)
        self._scorer = None  # the teacher, on the student's device, its weights constants

    @property
    def context(self):
        return self.teacher.receptive_field

    def _scoring_teacher(self):
        if self._scorer is None or self.teacher.device != self.student.device:
            self.teacher.to_device(self.student.device)
            self._scorer = constant_copy(self.teacher)
        return self._scorer

    def __call__(self, x, local_features=None, global_ids=None):
        student, teacher, xp = self.student, self._scoring_teacher(), self.student.xp
        batch, length = x.shape
        rng = np.random.default_rng([self.seed, self.rank, int(self.calls)])
        self.calls += 1
        noise = xp.asarray(logistic_noise(rng, (batch, length)))
        out = student(noise, global_ids, local_features)
        samples = out.samples
        outputs = teacher(F.split_axis(samples, [length - 1], axis=1)[0], global_ids,
                          local_features)
        scored = outputs.shape[2]
        mean, log_scale = last(out.mean, scored), last(out.log_scale, scored)
        scale = F.exp(log_scale)
        mixture = teacher.distribution
        parts = mixture.density_parts(outputs, self.log_scale_floor)
        cross_entropy = 0
        for _ in range(self.draws):
            draw = xp.asarray(logistic_noise(rng, (batch, scored)))
            cross_entropy -= F.mean(mixture.log_density_of(parts, mean + scale * draw))
        cross_entropy /= self.draws
        entropy = F.mean(log_scale) + 2
        kl = cross_entropy - entropy
        power = (power_loss(samples, decode(x, student.config.n_classes))
                 if self.power_weight else xp.zeros((), np.float32))
        loss = kl + self.power_weight * power
        return loss, {"kl": kl, "cross_entropy": cross_entropy, "entropy": entropy,
                      "power": power}


class MaximumLikelihood:
    """The student's negative log-likelihood (nats per sample) of recordings: its value
    exact, its gradient a surrogate's.

    Given the noise before t, sample t is Logistic(M_t, S_t), and since the recording's
    samples before t determine that noise (the flows are invertible), the product of these
    is the exact likelihood of the crop. Recovering the noise is sequential in time
    (:meth:`Student.invert`, one step per sample, no graph); with it fixed, one parallel pass
    gives every M_t and S_t, and the loss is the discretized logistic's NLL of each 16-bit
    sample, as a teacher's is measured. The gradient is that of this NLL with the recovered
    noise held fixed: it leaves out how the noise itself moves with the weights, so it is
    not the likelihood's gradient (following that would mean back-propagating through
    every one of the sequential steps); it still lowers the likelihood in training
    (tests/test_student.py). ``context``: leading samples of each crop left out of the loss
    (the student's past there is cut off by the crop).
    """

    def __init__(self, student, context):
        self.student = student
        self.context = context
        self.logistic = LogisticMixture(student.config.n_classes, 1)

    def __call__(self, x, local_features=None, global_ids=None):
        student = self.student
        samples = decode(x, student.config.n_classes)
        noise = student.invert(samples, global_ids, local_features)
        out = student(noise, global_ids, local_features)
        scored = x.shape[1] - self.context
        mean, log_scale = last(out.mean, scored), last(out.log_scale, scored)
        weights = student.xp.zeros(mean.shape, mean.dtype)
        outputs = F.stack([weights, mean, log_scale], axis=1)
        return self.logistic.nll(outputs, x[:, self.context:]), {}


def recording_nll_bits(student, classes, global_id=None, features=None):
    """The student's exact NLL in bits per sample of one recording (16-bit linear
    ``classes``) after its first ``receptive_field`` samples, the noise recovered one
    sample at a time; speaker ``global_id``, ``features`` (channels, frames)."""
    xp = student.xp
    if len(classes) <= student.receptive_field:
        raise WaveNetError(f"a recording of {len(classes)} samples is not longer than the "
                           f"student's receptive field ({student.receptive_field})")
    ids = None if global_id is None else xp.asarray([global_id], np.int32)
    local = None if features is None else xp.asarray(features[None], np.float32)
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        nats, _ = MaximumLikelihood(student, student.receptive_field)(
            xp.asarray(classes[None], np.int32), local, ids)
    return float(nats.array) / np.log(2)
