"""One WaveNet layer: dilated convolution, gate, residual and skip outputs.

As :class:`~chainer_wavenet.links.dilated_conv_1d.DilatedConv1D`, ``__call__`` reads a whole
sequence and ``step`` one sample, from the same parameters.
"""

import chainer
import chainer.functions as F

from chainer_wavenet.functions.gated_activation import gate_output, gated_activation
from chainer_wavenet.links.dilated_conv_1d import DilatedConv1D, last_steps
from chainer_wavenet.links.embed_id import EmbedID


class GatedResidualBlock(chainer.Chain):
    """Dilated causal conv -> (+ conditioning bias) -> tanh x sigmoid gate -> residual, skip.

    The conditioning bias comes from ``condition``: an embedding of a global
    id and a 1x1 projection of frame-rate local features, added to both gate
    halves at every time step; ``source_bias`` projects features given at
    every sample (its output is added to that bias by the WaveNet, which
    upsamples the frame-rate part).
    """

    def __init__(self, residual_channels, dilation_channels, skip_channels, width, dilation,
                 n_global=0, local_channels=0, last=False, source_channels=0):
        super().__init__()
        gate_channels = 2 * dilation_channels
        with self.init_scope():
            self.conv = DilatedConv1D(residual_channels, gate_channels, width, dilation)
            # The last block feeds only the skip sum: it has no residual output.
            self.residual = None if last else DilatedConv1D(dilation_channels,
                                                            residual_channels, 1)
            self.skip = DilatedConv1D(dilation_channels, skip_channels, 1)
            self.global_bias = EmbedID(n_global, gate_channels) if n_global else None
            self.local_bias = (DilatedConv1D(local_channels, gate_channels, 1, nobias=True)
                               if local_channels else None)
            self.source_bias = (DilatedConv1D(source_channels, gate_channels, 1, nobias=True)
                                if source_channels else None)

    @property
    def reach(self):
        return self.conv.reach

    def condition(self, global_ids=None, local_features=None):
        """Gate bias at frame rate, (batch, 2 * dilation_channels, frames or 1), or None.

        ``global_ids``: one per sequence (batch,), or one per frame (batch, frames).
        """
        bias = None
        if self.local_bias is not None:
            bias = self.local_bias(local_features)
        if self.global_bias is not None:
            global_bias = self.global_bias(global_ids)
            global_bias = (F.expand_dims(global_bias, 2) if global_ids.ndim == 1
                           else F.transpose(global_bias, (0, 2, 1)))
            bias = global_bias if bias is None else bias + F.broadcast_to(global_bias, bias.shape)
        return bias

    def __call__(self, x, bias, skip_length):
        """Returns the residual output (shorter by ``reach``; None for the last block) and
        the last ``skip_length`` skips.

        ``bias``: None, or the per-sample gate bias whose last samples line up
        with the output (any leading samples are ignored), or (batch, C, 1).
        """
        h = self.conv(x)
        if bias is not None:
            if bias.shape[2] == 1:
                bias = F.broadcast_to(bias, h.shape)
            else:
                bias = last_steps(bias, h.shape[2])
            h = h + bias
        z = gated_activation(h)
        skip = self.skip(last_steps(z, skip_length))
        if self.residual is None:
            return None, skip
        return last_steps(x, h.shape[2]) + self.residual(z), skip

    def start(self, batch_size):
        self.conv.start(batch_size)
        xp = self.xp
        outputs = [self.skip] if self.residual is None else [self.residual, self.skip]
        self._out_weights = xp.concatenate([o.W.array[:, :, 0].T for o in outputs], axis=1)
        self._out_bias = xp.concatenate([o.b.array for o in outputs])
        self._gated = xp.empty((batch_size, self.skip.W.shape[1]), self.conv.W.dtype)

    def step(self, x, bias=None):
        """One time step: ``x`` (batch, residual), ``bias`` (batch, gate) -> residual, skip.

        The residual is None for the last block.
        """
        h = self.conv.step(x)
        if bias is not None:
            h += bias
        z = gate_output(h, self._gated)
        out = z @ self._out_weights
        out += self._out_bias
        if self.residual is None:
            return None, out
        residual_channels = x.shape[1]
        return x + out[:, :residual_channels], out[:, residual_channels:]
