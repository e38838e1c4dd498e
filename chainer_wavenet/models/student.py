"""The Parallel WaveNet student: inverse autoregressive flows (van den Oord et al. 2018).

Noise u ~ Logistic(0, 1), one value per sample, passes through K flows. Flow k maps
``z_{k-1}`` to ``z_k = z_{k-1} * s_k + mu_k``, where the shift ``mu_k`` and the scale
``s_k = exp(log_scale_k)`` at sample t are computed by a WaveNet-style stack from
``z_{k-1}`` before t only: the stack reads its input one sample late, and every layer is
left-padded with zeros, so each layer sees zeros before the start (as the one-sample
``step`` form does). With ``z_0 = u`` the output ``x = z_K`` is ``u * S + M`` per sample,
``S = prod_k s_k`` and ``M`` the composed shifts, both functions of ``u`` before t: given
the noise so far, ``x_t`` is Logistic(M_t, S_t), and ``log|det dx/du| = sum_t log S_t``.

Generation is one parallel pass over the whole utterance. Recovering u from x (for a
likelihood of recorded audio) is sequential in time: :meth:`Student.invert`.
"""

import math
from typing import NamedTuple

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D
from chainer_wavenet.links.gated_residual_block import GatedResidualBlock
from chainer_wavenet.links.output_distribution import UNIFORM_MARGIN
from chainer_wavenet.links.upsampling import local_upsampler
from chainer_wavenet.models.config import StudentConfig

# The flows start with this total log-scale, split evenly between them: the student's
# first samples are noise about as loud as speech, not ten times full scale.
INITIAL_LOG_SCALE = math.log(0.05)


def logistic_noise(rng, shape, temperature=1.0):
    """float32 draws of Logistic(0, temperature), NumPy."""
    uniform = np.clip(rng.random(shape, dtype=np.float32), UNIFORM_MARGIN, 1 - UNIFORM_MARGIN)
    return (np.log(uniform) - np.log1p(-uniform)) * np.float32(temperature)


class StudentOutput(NamedTuple):
    """What the student makes of noise u (batch, N): samples x, and the logistic that
    ``x_t`` follows given ``u`` before t: its ``mean`` M_t and ``log_scale`` log S_t."""

    samples: chainer.Variable
    mean: chainer.Variable
    log_scale: chainer.Variable

    def log_determinant(self):
        """log|det dx/du| per sequence (batch,)."""
        return F.sum(self.log_scale, axis=1)


class Flow(chainer.Chain):
    """One flow's stack: input noise z (batch, N) -> shift and log-scale (batch, N), each at
    t computed from z before t."""

    def __init__(self, config, dilations, initial_log_scale=0.0):
        super().__init__()
        with self.init_scope():
            self.embed = DilatedConv1D(1, config.residual_channels, 1)
            self.blocks = chainer.ChainList(*(
                GatedResidualBlock(config.residual_channels, config.dilation_channels,
                                   config.skip_channels, config.filter_width, dilation,
                                   config.n_global, config.local_channels,
                                   last=i == len(dilations) - 1)
                for i, dilation in enumerate(dilations)))
            self.head1 = DilatedConv1D(config.skip_channels, config.skip_channels, 1)
            # Quiet at first: every sample starts with the same shift and scale.
            self.head2 = DilatedConv1D(config.skip_channels, 2, 1, init_scale=0.1)
        self.head2.b.array[1] = initial_log_scale

    def __call__(self, z, biases):
        """Shift and log-scale (batch, N) of input z (batch, N); ``biases``: one per layer,
        as :meth:`Student.conditions` gives them."""
        batch, length = z.shape
        earlier = F.split_axis(z, [length - 1], axis=1)[0] if length > 1 else z[:, :0]
        h = self.embed(F.pad(earlier, ((0, 0), (1, 0)), "constant")[:, None, :])
        skips = 0
        for block, bias in zip(self.blocks, biases, strict=True):
            padded = F.pad(h, ((0, 0), (0, 0), (block.reach, 0)), "constant")
            h, skip = block(padded, bias, length)
            skips += skip
        out = self.head2(F.relu(self.head1(F.relu(skips))))
        shift, log_scale = F.split_axis(out, 2, axis=1)
        return shift[:, 0], log_scale[:, 0]

    def start(self, batch_size):
        for link in (self.embed, *self.blocks, self.head1, self.head2):
            link.start(batch_size)

    def step(self, previous, biases):
        """Shift and log-scale (batch,) of the next sample, given the input ``previous``
        (batch,) of the sample before it; ``biases``: one (batch, gate) array or None
        per layer."""
        xp = self.xp
        h = self.embed.step(previous[:, None])
        skips = 0
        for block, bias in zip(self.blocks, biases, strict=True):
            h, skip = block.step(h, bias)
            skips += skip
        out = self.head2.step(xp.maximum(self.head1.step(xp.maximum(skips, 0)), 0))
        return out[:, 0], out[:, 1]


class Student(chainer.Chain):
    """Noise (batch, N) -> audio (batch, N) in one pass, conditioned as a WaveNet is:
    ``global_ids`` (batch,) int32, ``local_features`` (batch, channels, frames) whose frame
    f covers samples [f * hop, (f + 1) * hop). As in the teacher, which predicts sample t
    from its input t - 1, sample t follows the frame of sample t - 1."""

    def __init__(self, config=None):
        super().__init__()
        self.config = config = config or StudentConfig()
        flows = len(config.flow_layers)
        with self.init_scope():
            self.flows = chainer.ChainList(*(
                Flow(config, config.dilations(k), INITIAL_LOG_SCALE / flows)
                for k in range(flows)))
            self.upsample = local_upsampler(config)

    @property
    def receptive_field(self):
        return self.config.receptive_field

    def conditions(self, length, global_ids=None, local_features=None):
        """Per flow, per layer: the gate bias of every sample (batch, gate, length), one
        for the sequence (batch, gate, 1), or None."""
        config = self.config
        if bool(config.n_global) != (global_ids is not None):
            raise ValueError(f"student has n_global={config.n_global}: global_ids "
                             f"{'required' if config.n_global else 'not expected'}")
        if bool(config.local_channels) != (local_features is not None):
            raise ValueError(f"student has local_channels={config.local_channels}: local "
                             f"features {'required' if config.local_channels else 'not expected'}")
        hop = config.local_hop
        if local_features is not None:
            if local_features.shape[2] * hop < length:
                raise ValueError(f"local features of {local_features.shape[2]} frames cover "
                                 f"{local_features.shape[2] * hop} samples, not {length}")
            if self.upsample is not None:
                local_features, hop = self.upsample(local_features), 1
        return [[self._per_sample(block.condition(global_ids, local_features), hop, length)
                 for block in flow.blocks] for flow in self.flows]

    @staticmethod
    def _per_sample(bias, hop, length):
        """One column per output sample, one sample late: output t reads the conditioning
        of sample ``t - 1`` (sample 0 that of sample 0), as the teacher predicting sample t
        from its input ``t - 1`` does, so both see a new frame from the same sample on."""
        if bias is None or bias.shape[2] == 1:
            return bias
        if hop > 1:
            bias = F.repeat(bias, hop, axis=2)
        return F.concat((bias[:, :, :1], bias[:, :, :length - 1]), axis=2)

    def __call__(self, u, global_ids=None, local_features=None):
        """The samples, and per sample the logistic each follows given the noise before it
        (see :class:`StudentOutput`), of noise ``u`` (batch, N)."""
        conditions = self.conditions(u.shape[1], global_ids, local_features)
        z = u
        mean = log_scale = None
        for flow, biases in zip(self.flows, conditions, strict=True):
            shift, log_s = flow(z, biases)
            scale = F.exp(log_s)
            z = z * scale + shift
            mean = shift if mean is None else mean * scale + shift
            log_scale = log_s if log_scale is None else log_scale + log_s
        return StudentOutput(z, mean, log_scale)

    def generate(self, length, batch_size=1, temperature=1.0, global_ids=None,
                 local_features=None, seed=None):
        """float32 audio (batch, length) in [-1, 1], NumPy: one pass over noise drawn from
        Logistic(0, temperature)."""
        u = self.xp.asarray(logistic_noise(np.random.default_rng(seed),
                                           (batch_size, length), temperature))
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            samples = self(u, global_ids, local_features).samples.array
        return chainer.backend.CpuDevice().send(self.xp.clip(samples, -1, 1))

    def invert(self, samples, global_ids=None, local_features=None):
        """The noise u (batch, N) that gives ``samples`` (batch, N), one sample at a time
        (each flow's shift and scale at t need its input before t), with the layers' own
        one-sample ``step``; no graph."""
        xp = self.xp
        samples = xp.asarray(samples, np.float32)
        batch, length = samples.shape
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            conditions = [[None if b is None else xp.ascontiguousarray(
                b.array.transpose(2, 0, 1)) for b in biases]
                for biases in self.conditions(length, global_ids, local_features)]
        for flow in self.flows:
            flow.start(batch)
        inputs = [xp.zeros(batch, np.float32) for _ in self.flows]  # z_{k-1} at t - 1
        u = xp.empty_like(samples)
        for t in range(length):
            steps = [flow.step(previous, [None if b is None else b[min(t, len(b) - 1)]
                                          for b in biases])
                     for flow, previous, biases in zip(self.flows, inputs, conditions,
                                                       strict=True)]
            z = samples[:, t]
            for k in reversed(range(len(steps))):
                shift, log_scale = steps[k]
                z = (z - shift) * xp.exp(-log_scale)
                inputs[k] = z
            u[:, t] = z
        return u


def synthesize(student, length, batch_size=1, temperature=1.0, speaker=None, seed=None,
               features=None):
    """float32 audio (batch, length), NumPy, as :func:`synthesis.sample_audio` gives a
    WaveNet's: ``speaker`` a global id or None, ``features`` (channels, frames) followed by
    every sequence."""
    xp = student.xp
    global_ids = None if speaker is None else xp.full(batch_size, speaker, np.int32)
    local_features = None if features is None else xp.asarray(
        np.broadcast_to(features, (batch_size,) + features.shape), np.float32)
    return student.generate(length, batch_size, temperature, global_ids, local_features, seed)
