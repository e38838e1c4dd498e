"""Sample-by-sample generation at a temperature, batched over sequences.

Uses the model's own ``start``/``step`` (per-layer queues, Paine et al. 2016):
each new sample costs the same however many came before it.
"""

import chainer
import numpy as np
from tqdm.auto import tqdm

from chainer_wavenet.errors import WaveNetError


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) cut generation short; ``samples`` holds what was made so far.

    From :func:`generate`: int32 classes (batch, n), the n new samples of each sequence.
    The synthesis functions replace them with a list of 1-D float32 takes, of which the
    first ``finished`` are whole and the rest cut short after ``generated`` new samples;
    each begins with a prime of ``primed`` samples.
    """

    def __init__(self, samples, generated):
        super().__init__()
        self.samples = samples
        self.generated = generated
        self.finished = 0
        self.primed = 0


def check_generation_args(length, batch_size, temperature, top_p=1.0):
    """WaveNetError for a length, batch, temperature or nucleus no generator can use."""
    if length < 1:
        raise WaveNetError(f"--length must be at least 1 sample, got {length}")
    if batch_size < 1:
        raise WaveNetError(f"--batch must be at least 1, got {batch_size}")
    if not temperature > 0:
        raise WaveNetError(f"--temperature must be > 0 (1 = the model's own distribution, "
                           f"< 1 sharper), got {temperature}")
    if not 0 < top_p <= 1:
        raise WaveNetError(f"--top-p must lie in (0, 1] (1 = every class may be drawn; 0.8 = "
                           f"only the most likely classes holding 80% of the probability), "
                           f"got {top_p}")


def _on_device(wavenet, array, dtype=None):
    """``array`` (NumPy, CuPy or nested lists; None passes) on ``wavenet``'s device, of
    ``dtype`` if one is given."""
    if array is None:
        return None
    array = wavenet.device.send(array if hasattr(array, "ndim") else np.asarray(array))
    return array if dtype is None else array.astype(dtype, copy=False)


def generate(wavenet, length, batch_size=1, temperature=1.0, global_ids=None,
             local_features=None, prime=None, seed=None, progress=False, source=None,
             periods=None, top_p=1.0):
    """Generate ``length`` new samples per sequence: int32 classes (batch, length), NumPy.

    Each sample is drawn from the model's output distribution at ``temperature``
    (see :mod:`chainer_wavenet.links.output_distribution` for what it means for each),
    from the nucleus holding ``top_p`` of the probability when it is < 1 (softmax only).

    ``prime``: int32 classes (batch, P) fed first (teacher forced); without
    it, generation starts from one silent sample. Conditioning as in
    ``WaveNet.__call__``; local features, the source and 2-D pitch periods
    must cover the prime and the new samples.
    """
    check_generation_args(length, batch_size, temperature, top_p)
    xp = wavenet.xp
    n_classes = wavenet.config.n_classes
    if prime is None:
        prime = np.full((batch_size, 1), n_classes // 2, np.int32)
    prime = _on_device(wavenet, prime)
    if prime.ndim != 2 or prime.shape[0] != batch_size or prime.shape[1] < 1:
        raise WaveNetError(f"priming needs (batch={batch_size}, samples>=1) classes, "
                           f"got shape {prime.shape}")
    # Checked here: on a GPU an out-of-range class would index the embedding silently.
    for extreme in (int(prime.min()), int(prime.max())):
        if not 0 <= extreme < n_classes:
            raise WaveNetError(f"priming classes must lie in 0..{n_classes - 1}, "
                               f"got {extreme}")
    prime = prime.astype(np.int32, copy=False)
    global_ids = _on_device(wavenet, global_ids, np.int32)
    local_features = _on_device(wavenet, local_features, wavenet.head2.W.dtype)
    fed = prime.shape[1] + length - 1  # the last new sample is never fed back
    if local_features is not None:
        covered = local_features.shape[2] * wavenet.config.local_hop
        if covered < fed:
            raise WaveNetError(f"local features of {local_features.shape[2]} frames cover "
                               f"{covered} samples; a {prime.shape[1]}-sample prime and "
                               f"{length} new samples need {fed}")
    if source is not None and source.shape[2] < fed:
        raise WaveNetError(f"a source of {source.shape[2]} samples is too short: a "
                           f"{prime.shape[1]}-sample prime and {length} new samples need {fed}")
    if periods is not None and np.ndim(periods) == 2 and periods.shape[1] < fed:
        raise WaveNetError(f"pitch periods for {periods.shape[1]} samples are too short: a "
                           f"{prime.shape[1]}-sample prime and {length} new samples need {fed}")
    rng = np.random.default_rng(seed)
    distribution = wavenet.distribution
    uniform = xp.asarray(rng.random((length, batch_size, distribution.draws), dtype=np.float32))
    generated = xp.empty((length, batch_size), np.int32)
    with (chainer.using_device(wavenet.device), chainer.no_backprop_mode(),
          chainer.using_config("train", False)):
        wavenet.start(batch_size, global_ids, local_features, source, periods, steps=fed)
        for t in range(prime.shape[1] - 1):
            wavenet.step(prime[:, t])
        current = prime[:, -1]
        made = 0
        try:
            for t in tqdm(range(length), desc="generating", unit="sample",
                          disable=not progress, mininterval=0.5):
                current = distribution.sample(wavenet.step(current), temperature, uniform[t],
                                             top_p)
                generated[t] = current
                made = t + 1
        except KeyboardInterrupt:
            raise GenerationInterrupted(_to_host(generated[:made]), made) from None
    return _to_host(generated)


def _to_host(generated):
    """(length, batch) classes on the device as (batch, length) NumPy."""
    return chainer.backend.CpuDevice().send(generated.T.copy())
