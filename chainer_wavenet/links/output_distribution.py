"""What the WaveNet's head predicts for each sample: its loss and how to sample it.

The head's last layer has ``channels`` outputs per sample. Each distribution gives the
mean negative log-likelihood in nats of target classes (``nll``, a Chainer function, for
training) and draws classes from the head's outputs at a temperature (``sample``, plain
arrays, for generation), from ``draws`` uniform numbers per sequence and sample.

- :class:`Softmax`: one logit per class (the mu-law WaveNet).
- :class:`LogisticMixture`: a discretized mixture of logistics over linear classes
  (Salimans et al. 2017, PixelCNN++; van den Oord et al. 2018, Parallel WaveNet).
"""

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet.audio.quantization import bin_width
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.functions.cross_entropy import softmax_cross_entropy
from chainer_wavenet.functions.gumbel import sample_gumbel

# Log scales are clipped to this range: e**-14 is a 37th of a 16-bit bin (a sample can be
# all but certain), e**7 is flat over [-1, 1]; both keep every term finite in float32.
LOG_SCALE_MIN = -14.0
LOG_SCALE_MAX = 7.0
# Logistic draws use uniform numbers kept this far from 0 and 1 (a finite inverse CDF).
UNIFORM_MARGIN = 1e-7


def nucleus(logits, temperature, top_p):
    """``logits`` (batch, classes) with every class outside the nucleus of
    softmax(logits / temperature) set to -inf: the nucleus is the fewest most likely
    classes whose probabilities sum to at least ``top_p`` (Holtzman et al. 2020)."""
    xp = chainer.backend.get_array_module(logits)
    scaled = logits.astype(np.float32) / np.float32(temperature)
    probabilities = xp.exp(scaled - scaled.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    ordered = -xp.sort(-probabilities, axis=1)
    # The least probability kept: that of the class whose mass before it is still < top_p.
    before = xp.cumsum(ordered, axis=1) - ordered
    kept = (before < np.float32(top_p)).sum(axis=1, keepdims=True)
    least = xp.take_along_axis(ordered, kept - 1, axis=1)
    return xp.where(probabilities >= least, logits, xp.asarray(-np.inf, logits.dtype))


def sample_softmax(logits, temperature, uniform, top_p=1.0):
    """Draw one class per row of ``logits`` from softmax(logits / temperature), restricted
    to its nucleus when ``top_p`` < 1 (:func:`nucleus`).

    ``uniform`` holds one draw in [0, 1) per row; on NumPy the class is the first
    whose cumulative probability exceeds it; on a GPU the draw keys Gumbel-max
    sampling instead (:mod:`chainer_wavenet.functions.gumbel`: fewer kernel launches).
    """
    if top_p < 1:
        logits = nucleus(logits, temperature, top_p)
    xp = chainer.backend.get_array_module(logits)
    if xp is not np:
        return sample_gumbel(logits, temperature, uniform)
    # float32 even for float16 logits: a float16 cumsum over 256 classes loses the tail.
    scaled = logits.astype(np.float32) / np.float32(temperature)
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = xp.exp(scaled)
    cumulative = xp.cumsum(weights, axis=1)
    threshold = uniform[:, None] * cumulative[:, -1:]
    choice = (cumulative <= threshold).sum(axis=1)
    return xp.minimum(choice, logits.shape[1] - 1).astype(np.int32)


class Softmax:
    """A categorical distribution over ``n_classes``: the head gives one logit per class.

    Temperature T divides the logits: T < 1 sharper, T = 1 the model's own distribution.
    ``top_p`` < 1 draws from the nucleus only: the fewest most likely classes holding that
    much of the probability (the improbable tail, heard as a noise floor, is never drawn).
    """

    draws = 1

    def __init__(self, n_classes):
        self.channels = n_classes

    def nll(self, outputs, targets):
        """Mean NLL (nats) of int32 ``targets`` (batch, T) under ``outputs`` (batch, C, T)."""
        return softmax_cross_entropy(outputs, targets)

    def sample(self, outputs, temperature, uniform, top_p=1.0):
        """int32 classes (batch,) from ``outputs`` (batch, C) and ``uniform`` (batch, 1)."""
        return sample_softmax(outputs, temperature, uniform[:, 0], top_p)

    def entropy_bits(self, outputs):
        """Entropy in bits (batch, T) of the distributions ``outputs`` (batch, C, T) give:
        log2 of how many classes each spreads over, as plain arrays."""
        log_p = F.log_softmax(outputs.astype(np.float32), axis=1).array
        xp = chainer.backend.get_array_module(log_p)
        return -(xp.exp(log_p) * log_p).sum(axis=1) / np.float32(np.log(2))


class LogisticMixture:
    """A mixture of ``components`` logistics, discretized to ``n_classes`` linear classes.

    Per sample the head gives, in this order, ``components`` mixture logits, means and
    log scales (clipped to [LOG_SCALE_MIN, LOG_SCALE_MAX]). Class c stands for the bin of
    width w = 2 / n_classes around ``-1 + c * w`` (see :mod:`chainer_wavenet.audio.quantization`),
    its probability the mixture's CDF difference over that bin; the lowest and the highest
    class take the whole tails below and above their bins, so the classes' probabilities
    sum to 1.

    Temperature T divides the mixture logits and multiplies each logistic's scale: T < 1
    sharper (fewer components, narrower logistics), T = 1 the model's own distribution.
    """

    draws = 2  # one picks the component, one draws from its logistic

    def __init__(self, n_classes, components):
        self.n_classes = n_classes
        self.components = components
        self.channels = 3 * components
        self.width = bin_width(n_classes)

    def _parts(self, outputs):
        k = self.components
        return outputs[:, :k], outputs[:, k:2 * k], outputs[:, 2 * k:]

    def nll(self, outputs, targets):
        """Mean NLL (nats) of int ``targets`` (batch, T) under ``outputs`` (batch, 3K, T)."""
        if outputs.dtype == np.float16:
            outputs = F.cast(outputs, np.float32)
        xp = chainer.backend.get_array_module(outputs)
        logits, means, log_scales = self._parts(outputs)
        log_scales = F.clip(log_scales, LOG_SCALE_MIN, LOG_SCALE_MAX)
        targets = xp.asarray(targets)[:, None, :]
        centres = (targets * self.width - 1.0).astype(outputs.dtype)
        inverse_scale = F.exp(-log_scales)
        upper = inverse_scale * (F.broadcast_to(centres, means.shape) + self.width / 2 - means)
        lower = upper - inverse_scale * self.width
        # log(sigmoid(u) - sigmoid(l)) = log sigmoid(u) + log(1 - sigmoid(l)) + log(1 - e^(l-u)),
        # exact and finite however narrow the bin or far the mean; the edge classes keep
        # only the first term (lowest) or the second (highest).
        below_upper = -F.softplus(-upper)
        above_lower = -F.softplus(lower)
        within_bin = F.log(-F.expm1(-inverse_scale * self.width))
        not_lowest = (targets > 0).astype(outputs.dtype)
        not_highest = (targets < self.n_classes - 1).astype(outputs.dtype)
        log_probability = below_upper * F.broadcast_to(not_highest, means.shape)
        log_probability += above_lower * F.broadcast_to(not_lowest, means.shape)
        log_probability += within_bin * F.broadcast_to(not_lowest * not_highest, means.shape)
        mixed = F.logsumexp(F.log_softmax(logits, axis=1) + log_probability, axis=1)
        return -F.mean(mixed)

    def density_parts(self, outputs, log_scale_min=LOG_SCALE_MIN):
        """What :meth:`log_density` reads of ``outputs`` (batch, 3K, T), computed once for
        any number of values: the log mixture weights, the means, the log scales clipped
        to [``log_scale_min``, LOG_SCALE_MAX] and their inverse scales, each (batch, K, T),
        float32 (a float16 teacher's too: e**14 overflows float16)."""
        if outputs.dtype == np.float16:
            outputs = F.cast(outputs, np.float32)
        logits, means, log_scales = self._parts(outputs)
        log_scales = F.clip(log_scales, float(log_scale_min), LOG_SCALE_MAX)
        return F.log_softmax(logits, axis=1), means, log_scales, F.exp(-log_scales)

    @staticmethod
    def log_density_of(parts, values):
        """Log-density (batch, T) of continuous ``values`` (batch, T) under the mixture
        whose :meth:`density_parts` are ``parts``."""
        log_weights, means, log_scales, inverse_scales = parts
        standard = (F.broadcast_to(F.expand_dims(values, 1), means.shape) - means) * (
            inverse_scales)
        # log of the logistic density e^-v / (s (1 + e^-v))^2, finite for any v.
        log_pdf = -standard - log_scales - 2 * F.softplus(-standard)
        return F.logsumexp(log_weights + log_pdf, axis=1)

    def log_density(self, outputs, values, log_scale_min=LOG_SCALE_MIN):
        """Log-density (batch, T) of continuous ``values`` (batch, T) under the mixture of
        ``outputs`` (batch, 3K, T), not discretized: differentiable in both, for scoring a
        Parallel WaveNet student's samples. ``log_scale_min``: the least log scale, the
        discretized mixture's by default."""
        return self.log_density_of(self.density_parts(outputs, log_scale_min), values)

    def sample(self, outputs, temperature, uniform, top_p=1.0):
        """int32 classes (batch,) from ``outputs`` (batch, 3K) and ``uniform`` (batch, 2);
        ``top_p`` must be 1 (a nucleus is a softmax's)."""
        if top_p < 1:
            raise WaveNetError("--top-p is for softmax outputs; a mixture of logistics is "
                               "sharpened by --temperature")
        xp = chainer.backend.get_array_module(outputs)
        logits, means, log_scales = self._parts(outputs.astype(np.float32))
        component = sample_softmax(logits, temperature, uniform[:, 0])
        rows = xp.arange(len(component))
        scale = xp.exp(xp.clip(log_scales[rows, component], LOG_SCALE_MIN, LOG_SCALE_MAX))
        u = xp.clip(uniform[:, 1], UNIFORM_MARGIN, 1 - UNIFORM_MARGIN)
        value = means[rows, component] + scale * np.float32(temperature) * (
            xp.log(u) - xp.log1p(-u))
        classes = xp.floor((value + 1) / np.float32(self.width) + 0.5)
        return xp.clip(classes, 0, self.n_classes - 1).astype(np.int32)


def for_config(config):
    """The output distribution a WaveNetConfig asks for."""
    if config.output == "logistic_mixture":
        return LogisticMixture(config.n_classes, config.mixture_components)
    return Softmax(config.n_classes)
