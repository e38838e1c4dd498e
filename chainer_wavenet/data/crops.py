"""Fixed-length training crops of mu-law class sequences.

The model maps N input samples to N - receptive_field + 1 outputs, output j predicting
input sample j + receptive_field. A crop of ``receptive_field + length`` samples therefore
gives exactly ``length`` loss-bearing targets: ``inputs = crop[:-1]``,
``targets = crop[receptive_field:]``.
"""

import numpy as np
from chainer.dataset import DatasetMixin

from chainer_wavenet.errors import WaveNetError


def compact_classes(sequence, n_classes=256):
    """Class indices in the smallest unsigned type that holds them (uint8 for 256 classes).

    A quarter of int32's memory: the NSynth training split is 18 GB as uint8.
    """
    sequence = np.asarray(sequence)
    if sequence.dtype.kind not in "iu":
        raise WaveNetError(f"crops need integer class indices, got {sequence.dtype}")
    if sequence.size and (sequence.min() < 0 or sequence.max() >= n_classes):
        raise WaveNetError(f"class indices must lie in [0, {n_classes}), got values in "
                           f"[{sequence.min()}, {sequence.max()}]")
    return sequence.astype(np.min_scalar_type(n_classes - 1), copy=False)


class Crops(DatasetMixin):
    """Crops covering every target sample of every sequence.

    The crops of a sequence start at 0, length, 2 * length, ...; the last one is moved
    back to end with the sequence, so every sample from index ``receptive_field`` on is
    a target exactly once, except that the last crop may repeat targets of the one
    before it.

    A sequence shorter than ``receptive_field + 1`` samples has no target and raises
    WaveNetError. One shorter than a whole crop gets a single crop, left-padded with
    the silence class (``n_classes // 2``); its first targets are then padding, or real
    samples that see padding in their receptive field.

    Sequences are kept in the smallest unsigned type (see :func:`compact_classes`);
    ``get_example`` returns an int32 copy of the crop, or ``(crop, label)``
    when ``labels`` (one int per sequence, e.g. a speaker id) are given. ``names`` label
    the sequences in messages (e.g. their file paths).
    """

    def __init__(self, sequences, receptive_field, length, labels=None, names=None, n_classes=256):
        if receptive_field < 1 or length < 1:
            raise WaveNetError(
                f"crops need receptive_field >= 1 and length >= 1, "
                f"got {receptive_field} and {length}"
            )
        if names is None:
            names = [f"sequence {index}" for index in range(len(sequences))]
        if labels is not None:
            if len(labels) != len(sequences):
                raise WaveNetError(f"got {len(labels)} labels for {len(sequences)} sequences")
            labels = np.asarray(labels, dtype=np.int32)
        self.receptive_field = receptive_field
        self.length = length
        self.labels = labels
        self._sequences = [
            self._full_length(compact_classes(sequence, n_classes), name, n_classes)
            for sequence, name in zip(sequences, names, strict=True)
        ]
        self._index = self._crop_index()

    @property
    def crop_size(self):
        return self.receptive_field + self.length

    def _full_length(self, sequence, name, n_classes):
        if sequence.ndim != 1:
            raise WaveNetError(f"{name}: expected a 1-D sequence, got shape {sequence.shape}")
        if len(sequence) < self.receptive_field + 1:
            raise WaveNetError(
                f"{name}: {len(sequence)} samples is too short for the receptive field "
                f"of {self.receptive_field} samples (needs at least "
                f"{self.receptive_field + 1}); use longer files or a smaller model"
            )
        shortfall = self.crop_size - len(sequence)
        if shortfall > 0:
            return np.concatenate([np.full(shortfall, n_classes // 2, sequence.dtype), sequence])
        return sequence

    def _crop_index(self):
        rows = []
        for number, sequence in enumerate(self._sequences):
            last_start = len(sequence) - self.crop_size
            n_crops = -(-(len(sequence) - self.receptive_field) // self.length)
            starts = np.minimum(np.arange(n_crops) * self.length, last_start)
            rows.append(np.stack([np.full(n_crops, number), starts], axis=1))
        if not rows:
            return np.zeros((0, 2), dtype=np.int64)
        return np.concatenate(rows).astype(np.int64)

    def __len__(self):
        return len(self._index)

    def get_example(self, i):
        number, start = self._index[i]
        crop = self._sequences[number][start : start + self.crop_size].astype(np.int32)
        if self.labels is None:
            return crop
        return crop, self.labels[number]
