"""A causal dilated 1-D convolution with its whole-sequence form and its one-sample form.

``__call__`` takes a Variable of shape (batch, channels, time) and returns the valid
(unpadded) output, shorter by the layer's reach into the past. ``step`` takes a plain array
(batch, channels) for one new time step and keeps what it needs of the past in its own queue,
set up by ``start``. Both read the same parameters.
"""

import chainer
import chainer.functions as F
from chainer import initializers

from chainer_wavenet.functions.dilated_convolution import dilated_convolution_1d


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
