"""WaveNet layers, each with its whole-sequence form and its one-sample form.

``__call__`` takes Variables of shape (batch, channels, time) and returns
the valid (unpadded) output, shorter by the layer's reach into the past.
``step`` takes a plain array (batch, channels) for one new time step and
keeps what it needs of the past in its own queue, set up by ``start``.
Both read the same parameters.
"""

import chainer
import chainer.functions as F
from chainer import initializers

from chainer_wavenet.dilated_convolution import dilated_convolution_1d
from chainer_wavenet.embedding import EmbedID
from chainer_wavenet.gated_activation import gate_output, gated_activation


def last_steps(x, n):
    """The last ``n`` time steps of (batch, channels, time) ``x``.

    Split rather than sliced: the gradient of a Variable slice goes through
    NumPy's slow ``add.at``.
    """
    cut = x.shape[2] - n
    return x if cut == 0 else F.split_axis(x, [cut], axis=2)[1]


class DilatedConv1D(chainer.Link):
    """Unpadded convolution of width ``width`` whose taps are ``dilation`` samples apart.

    Read causally, output ``t`` belongs to the time of its newest input and
    sees inputs ``t - reach ... t``; ``step`` computes it one sample at a
    time. Padded by ``reach / 2`` on both sides it is a centred, non-causal
    convolution. A width of 1 makes it a 1x1 (pointwise) convolution.
    """

    def __init__(self, in_channels, out_channels, width=2, dilation=1, nobias=False,
                 init_scale=1.0):
        super().__init__()
        self.width = width
        self.dilation = dilation
        self.reach = (width - 1) * dilation
        with self.init_scope():
            self.W = chainer.Parameter(initializers.HeNormal(scale=init_scale / width ** 0.5),
                                       (out_channels, in_channels, width))
            self.b = None if nobias else chainer.Parameter(0, (out_channels,))

    def __call__(self, x):
        return dilated_convolution_1d(x, self.W, self.b, self.dilation)

    def start(self, batch_size):
        """Clear the queue: the past before the first step is taken as zeros.

        The newest tap is applied at every step. The older taps' share of the
        next ``dilation`` outputs depends only on inputs already queued, so it
        is computed once per ``dilation`` steps, for all of them in one
        matrix product (see ``_look_ahead``).
        """
        xp = self.xp
        W = self.W.array
        batch_in = (batch_size, W.shape[1])
        self._newest = xp.ascontiguousarray(W[:, :, -1].T)
        self._older = [xp.ascontiguousarray(W[:, :, j].T) for j in range(self.width - 1)]
        self._bias = None if self.b is None else self.b.array
        self._queue = xp.zeros((max(self.reach, 1),) + batch_in, W.dtype)
        self._ahead = xp.zeros((self.dilation, batch_size, W.shape[0]), W.dtype)
        if self._bias is not None:
            self._ahead += self._bias
        self._time = 0

    def step(self, x):
        """Output for one new input ``x`` of shape (batch, in_channels)."""
        y = x @ self._newest
        if not self.reach:
            if self._bias is not None:
                y += self._bias
            return y
        slot = self._time % self.dilation
        y += self._ahead[slot]
        self._queue[self._time % self.reach] = x
        self._time += 1
        if slot == self.dilation - 1:
            self._look_ahead()
        return y

    def _look_ahead(self):
        """The bias plus the older taps' terms of the next ``dilation`` outputs.

        The queue holds ``width - 1`` blocks of ``dilation`` inputs; output
        ``t`` of the next block meets input ``t - k * dilation`` through tap
        ``width - 1 - k``, the same row of the block ``k`` blocks back.
        """
        blocks = self._queue.reshape(self.width - 1, -1, self._queue.shape[2])
        ahead = self._ahead.reshape(-1, self._ahead.shape[2])
        block = self._time // self.dilation
        for k in range(1, self.width):
            inputs = blocks[(block - k) % (self.width - 1)]
            if k == 1:
                self.xp.matmul(inputs, self._older[-k], out=ahead)
            else:
                ahead += inputs @ self._older[-k]
        if self._bias is not None:
            ahead += self._bias


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
