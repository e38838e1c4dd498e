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
    # Unsigned types too narrow to hold an index out of range need no look at the data.
    checked = sequence.dtype.kind == "i" or np.iinfo(sequence.dtype).max >= n_classes
    if checked and sequence.size and (sequence.min() < 0 or sequence.max() >= n_classes):
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

    ``features``: one (channels, frames) array per sequence whose frame f covers
    samples ``[f * hop, (f + 1) * hop)`` (e.g. :func:`chainer_wavenet.audio.mel.log_mel`).
    Crops then start on frame boundaries, whole frames apart, so a sequence's last
    ``hop - 1`` targets may go unseen; padding repeats the first frame. Examples become
    dicts of the model's ``loss`` arguments: ``x``, ``local_features`` (the crop's
    ``ceil(crop_size / hop)`` frames; ``feature_key`` names it otherwise, e.g. ``pitch``
    for a pitch track per sample) and, with labels, ``global_ids``.
    """

    def __init__(self, sequences, receptive_field, length, labels=None, names=None, n_classes=256,
                 features=None, hop=1, feature_key="local_features"):
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
        if features is not None and len(features) != len(sequences):
            raise WaveNetError(f"got features for {len(features)} of {len(sequences)} sequences")
        if not 1 <= hop <= length:
            raise WaveNetError(f"crops of {length} targets need a hop of 1 to {length} "
                               f"samples, got {hop}")
        self.receptive_field = receptive_field
        self.length = length
        self.labels = labels
        self.hop = hop
        self.feature_key = feature_key
        self._sequences = []
        self._features = None if features is None else []
        for number, (sequence, name) in enumerate(zip(sequences, names, strict=True)):
            sequence = compact_classes(sequence, n_classes)
            self._check_sequence(sequence, name)
            padding = self._padding(len(sequence))
            if padding:
                sequence = np.concatenate([np.full(padding, n_classes // 2, sequence.dtype),
                                           sequence])
            self._sequences.append(sequence)
            if features is not None:
                self._features.append(self._padded_features(
                    features[number], len(sequence) - padding, padding, name))
        self._index = self._crop_index()

    @property
    def crop_size(self):
        return self.receptive_field + self.length

    @property
    def frames_per_crop(self):
        return -(-self.crop_size // self.hop)

    def _check_sequence(self, sequence, name):
        if sequence.ndim != 1:
            raise WaveNetError(f"{name}: expected a 1-D sequence, got shape {sequence.shape}")
        if len(sequence) < self.receptive_field + 1:
            raise WaveNetError(
                f"{name}: {len(sequence)} samples is too short for the receptive field "
                f"of {self.receptive_field} samples (needs at least "
                f"{self.receptive_field + 1}); use longer files or a smaller model"
            )

    def _padding(self, samples):
        """Silence to put before a sequence shorter than a crop: whole frames of it."""
        shortfall = max(0, self.crop_size - samples)
        return -(-shortfall // self.hop) * self.hop

    def _padded_features(self, features, samples, padding, name):
        features = np.asarray(features, np.float32)
        needed = -(-samples // self.hop)
        if features.ndim != 2 or features.shape[1] < needed:
            raise WaveNetError(f"{name}: features of shape {features.shape} do not cover its "
                               f"{samples} samples: need (channels, >= {needed}) frames of "
                               f"{self.hop} samples")
        return np.pad(features, ((0, 0), (padding // self.hop, 0)), mode="edge")

    def _crop_index(self):
        rows = []
        for number, sequence in enumerate(self._sequences):
            last_start = len(sequence) - self.crop_size
            # Whole frames apart, so that consecutive crops leave no target out.
            stride = self.length - self.length % self.hop
            n_crops = -(-(len(sequence) - self.receptive_field) // stride)
            starts = np.minimum(np.arange(n_crops) * stride, last_start - last_start % self.hop)
            rows.append(np.stack([np.full(n_crops, number), starts], axis=1))
        if not rows:
            return np.zeros((0, 2), dtype=np.int64)
        return np.concatenate(rows).astype(np.int64)

    def __len__(self):
        return len(self._index)

    def get_example(self, i):
        number, start = self._index[i]
        crop = self._sequences[number][start : start + self.crop_size].astype(np.int32)
        if self._features is not None:
            first = start // self.hop
            example = {"x": crop, self.feature_key:
                       self._features[number][:, first:first + self.frames_per_crop]}
            if self.labels is not None:
                example["global_ids"] = self.labels[number]
            return example
        if self.labels is None:
            return crop
        return crop, self.labels[number]
