"""The WaveNet Chain: training forward pass and one-sample generation step."""

import math

import chainer
import chainer.functions as F
import numpy as np

from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.pitch_signal import LagHistory, lag_neighbours
from chainer_wavenet.links import output_distribution
from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D
from chainer_wavenet.links.embed_id import EmbedID
from chainer_wavenet.links.gated_residual_block import GatedResidualBlock
from chainer_wavenet.links.upsampling import local_upsampler
from chainer_wavenet.models.config import WaveNetConfig


class WaveNet(chainer.Chain):
    """Predicts each sample's class from the ``receptive_field`` samples before it.

    An input of N samples gives N - receptive_field + 1 outputs; output j holds
    the parameters of the output distribution (``self.distribution``, see
    :mod:`chainer_wavenet.links.output_distribution`) of sample j + receptive_field.
    Conditioning: ``global_ids`` (batch,) int32, ``local_features`` (batch,
    channels, frames) whose frame f covers input samples [f * hop, (f + 1) * hop)
    (repeated, or upsampled by learned transposed convolutions), and
    ``source`` (batch, source_channels, N): one float32 feature vector per
    input sample, read with that sample, and ``periods`` (batch,) or (batch, N):
    the pitch period in samples of the sample predicted after each input, from
    which the inputs ``pitch_lags`` periods back are read, embedded and added to
    the input's own embedding (see :mod:`chainer_wavenet.audio.pitch_signal`).
    """

    def __init__(self, config=None):
        super().__init__()
        self.config = config = config or WaveNetConfig()
        self.distribution = output_distribution.for_config(config)
        with self.init_scope():
            if config.input_mode == "embedding":
                self.embed = EmbedID(config.n_classes, config.residual_channels)
            else:
                self.embed = DilatedConv1D(1, config.residual_channels, 1)
            self.lag_embed = (EmbedID(config.n_classes * config.pitch_lags,
                                      config.residual_channels)
                              if config.pitch_lags else None)
            self.blocks = chainer.ChainList(*(
                GatedResidualBlock(config.residual_channels, config.dilation_channels,
                                   config.skip_channels, config.filter_width, dilation,
                                   config.n_global, config.local_channels,
                                   last=i == len(config.dilations) - 1,
                                   source_channels=config.source_channels)
                for i, dilation in enumerate(config.dilations)))
            self.head1 = DilatedConv1D(config.skip_channels, config.skip_channels, 1)
            # A quiet last layer starts the model near the uniform distribution.
            self.head2 = DilatedConv1D(config.skip_channels, self.distribution.channels, 1,
                                       init_scale=0.1)
            self.upsample = local_upsampler(config)

    @property
    def receptive_field(self):
        return self.config.receptive_field

    def _embed(self, x):
        """(batch, time) int32 classes -> (batch, residual, time); a scalar-input model
        also reads float samples in [-1, 1] (a Variable, for gradients into them)."""
        if self.config.input_mode == "embedding":
            return F.transpose(self.embed(x), (0, 2, 1))
        samples = x if x.dtype.kind == "f" else self._decode_table()[x]
        return self.embed(F.expand_dims(samples, 1))

    def _decode_table(self):
        """Float sample in [-1, 1] of every class, on the model's device, in its dtype."""
        n_classes = self.config.n_classes
        return self.xp.asarray(quantization.decode(np.arange(n_classes), n_classes,
                                                   self.config.quantization),
                               self.embed.W.dtype)

    def _check_source(self, source, periods, length):
        channels, lags = self.config.source_channels, self.config.pitch_lags
        if bool(channels) != (source is not None):
            raise ValueError(f"model has source_channels={channels}: a source "
                             f"{'required' if channels else 'not expected'}")
        if source is not None and (source.ndim != 3 or source.shape[1] != channels
                                   or source.shape[2] < length):
            raise ValueError(f"source of shape {source.shape} does not give {channels} "
                             f"channels for {length} samples")
        if bool(lags) != (periods is not None):
            raise ValueError(f"model has pitch_lags={lags}: pitch periods "
                             f"{'required' if lags else 'not expected'}")
        if periods is not None:
            periods = chainer.backend.CpuDevice().send(periods)
            if periods.ndim not in (1, 2) or (periods.ndim == 2 and periods.shape[1] < length):
                raise ValueError(f"pitch periods of shape {periods.shape} do not cover "
                                 f"{length} samples")
            if not periods.min(initial=2) >= 2:
                raise ValueError("pitch periods must be at least 2 samples (below the "
                                 "Nyquist frequency)")

    def _embed_lags(self, x, periods):
        """(batch, residual, time): the embeddings of the inputs whole pitch periods back."""
        indices, weights = lag_neighbours(x, periods, self.config.pitch_lags,
                                          self.config.n_classes)
        vectors = self.lag_embed(indices)
        weighted = vectors * F.broadcast_to(weights[..., None], vectors.shape)
        return F.transpose(F.sum(weighted, axis=1), (0, 2, 1))

    def _check_conditions(self, global_ids, local_features):
        config = self.config
        if bool(config.n_global) != (global_ids is not None):
            raise ValueError(f"model has n_global={config.n_global}: global_ids "
                             f"{'required' if config.n_global else 'not expected'}")
        if bool(config.local_channels) != (local_features is not None):
            raise ValueError(f"model has local_channels={config.local_channels}: local "
                             f"features {'required' if config.local_channels else 'not expected'}")

    @property
    def _bias_hop(self):
        """Samples per column of :meth:`conditions`: the hop, or 1 when the local features
        are upsampled before the layers read them."""
        return 1 if self.upsample is not None else self.config.local_hop

    def conditions(self, global_ids=None, local_features=None):
        """Per-layer gate biases: a list of (batch, gate, columns), or Nones; a column per
        frame (repeated local features), per sample (transposed), or one for the sequence."""
        self._check_conditions(global_ids, local_features)
        if self.upsample is not None and local_features is not None:
            local_features = self.upsample(local_features)
            if global_ids is not None and global_ids.ndim == 2:
                global_ids = self.xp.repeat(global_ids, self.config.local_hop, axis=1)
        return [block.condition(global_ids, local_features) for block in self.blocks]

    def _upsample(self, bias, length):
        """A bias of :meth:`conditions` -> one value per input sample (first ``length``)."""
        if bias is None or bias.shape[2] == 1:
            return bias
        upsampled = bias if self._bias_hop == 1 else F.repeat(bias, self._bias_hop, axis=2)
        extra = upsampled.shape[2] - length
        return upsampled if extra == 0 else F.split_axis(upsampled, [length], axis=2)[0]

    def _sample_bias(self, block, bias, source, length):
        """A block's frame-rate bias upsampled to the input, plus its share of the source."""
        bias = self._upsample(bias, length)
        if source is None:
            return bias
        from_source = block.source_bias(source[:, :, :length])
        if bias is None:
            return from_source
        if bias.shape[2] == 1:
            bias = F.broadcast_to(bias, from_source.shape)
        return bias + from_source

    def __call__(self, x, global_ids=None, local_features=None, source=None, periods=None):
        """Head outputs (batch, distribution.channels, N - receptive_field + 1) for int32
        input x (batch, N) (or float samples, for a scalar-input model without pitch lags):
        logits for the softmax, mixture parameters for the mixture."""
        length = x.shape[1]
        out_length = length - self.receptive_field + 1
        if out_length < 1:
            raise ValueError(f"input of {length} samples is shorter than the receptive field "
                             f"({self.receptive_field})")
        self._check_source(source, periods, length)
        h = self._embed(x)
        if periods is not None:
            h = h + self._embed_lags(x, periods)
        skips = 0
        for block, bias in zip(self.blocks, self.conditions(global_ids, local_features),
                               strict=True):
            h, skip = block(h, self._sample_bias(block, bias, source, length), out_length)
            skips += skip
        return self.head2(F.relu(self.head1(F.relu(skips))))

    def loss(self, x, global_ids=None, local_features=None, source=None, periods=None,
             inputs=None):
        """Mean negative log-likelihood in nats of x[:, R:] given x[:, :-1].

        Only the positions that see a full receptive field R carry loss. ``source``
        and ``periods`` cover the inputs x[:, :-1] (longer ones are cut). ``inputs``, of
        x's shape, is read in x's place as the past (e.g. x with noise), x stays the target.
        """
        outputs = self((x if inputs is None else inputs)[:, :-1], global_ids, local_features,
                       source, periods)
        return self.distribution.nll(outputs, x[:, self.receptive_field:])

    # One-sample generation: same parameters, plain arrays, no graph.

    def start(self, batch_size, global_ids=None, local_features=None, source=None,
              periods=None, steps=None):
        """Clear every queue and compute every layer's conditioning once for the whole run
        (per sample with transposed upsampling: layers x gate values per sample kept).

        ``source`` (batch, source_channels, T) is read one sample per step, for at
        most T steps, every layer's projection of it in one product per step; the
        pitch lags need ``periods`` for at most ``steps`` steps (T if a source is given).
        """
        self._check_source(source, periods, 0)
        xp = self.xp
        with chainer.no_backprop_mode():
            biases = self.conditions(global_ids, local_features)
        self._biases = [None if b is None else xp.ascontiguousarray(
            b.array.transpose(2, 0, 1)) for b in biases]
        self._source = None
        self._lags = None
        if source is not None:
            self._source = xp.ascontiguousarray(xp.asarray(source).transpose(2, 0, 1))
            steps = len(self._source)
        if periods is not None:
            if steps is None:
                raise ValueError("pitch lags need the number of steps to keep")
            self._lags = LagHistory(xp, batch_size, steps, periods, self.config.pitch_lags,
                                    self.config.n_classes)
        if source is not None:
            self._source_weights = xp.concatenate(
                [block.source_bias.W.array[:, :, 0].T for block in self.blocks], axis=1)
        if self.config.input_mode == "scalar":
            self._table = self._decode_table()
        for block in self.blocks:
            block.start(batch_size)
        for link in (self.embed, self.head1, self.head2):
            if isinstance(link, DilatedConv1D):
                link.start(batch_size)
        self._time = 0

    def step(self, x):
        """Head outputs (batch, distribution.channels) for the sample after ``x``, int32
        (batch,)."""
        if self.config.input_mode == "embedding":
            h = self.embed.W.array[x]
        else:
            h = self.embed.step(self._table[x][:, None])
        if self._lags is not None:
            indices, weights = self._lags.step(x)
            h = h + (weights[:, :, None] * self.lag_embed.W.array[indices]).sum(axis=1)
        frame = self._time // self._bias_hop
        from_source = self._source_step()
        skips = 0
        for i, (block, bias) in enumerate(zip(self.blocks, self._biases, strict=True)):
            if bias is not None:
                bias = bias[min(frame, len(bias) - 1)]
            if from_source is not None:
                share = from_source[i]
                bias = share if bias is None else bias + share
            h, skip = block.step(h, bias)
            skips += skip
        self._time += 1
        xp = self.xp
        return self.head2.step(xp.maximum(self.head1.step(xp.maximum(skips, 0)), 0))

    def _source_step(self):
        """Every layer's bias from the source at this step: (layers, batch, gate), or None."""
        if self._source is None:
            return None
        if self._time >= len(self._source):
            raise ValueError(f"the source covers {len(self._source)} steps; step "
                             f"{self._time + 1} needs more")
        shares = self._source[self._time] @ self._source_weights
        return shares.reshape(len(shares), len(self.blocks), -1).transpose(1, 0, 2)


def bits(nats):
    """Convert a negative log-likelihood in nats to bits."""
    return nats / math.log(2)
