"""Training crops: every target sample once, padding of short sequences, labels."""

import chainer
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.errors import WaveNetError

# Position values need more classes than audio's 256 (they are kept as uint32). Its silence
# class, used for padding, lies above every position the tests make (< 500000).
POSITION_CLASSES = 2**20
PADDING = POSITION_CLASSES // 2


def positions(length):
    """A sequence whose values are their own indices, so a crop shows where it came from."""
    return np.arange(length, dtype=np.int32) + 1000


def test_crops_of_one_sequence():
    crops = Crops([positions(15)], receptive_field=3, length=4, n_classes=POSITION_CLASSES)
    assert crops.crop_size == 7 and len(crops) == 3
    starts = [int(crops.get_example(i)[0]) - 1000 for i in range(len(crops))]
    assert starts == [0, 4, 8]
    last = crops.get_example(2)
    np.testing.assert_array_equal(last, positions(15)[8:15])
    np.testing.assert_array_equal(last[3:], positions(15)[11:15])  # the targets


def test_last_crop_is_aligned_to_the_end():
    crops = Crops([positions(13)], receptive_field=3, length=4, n_classes=POSITION_CLASSES)
    starts = [int(crops.get_example(i)[0]) - 1000 for i in range(len(crops))]
    assert starts == [0, 4, 6]


@settings(max_examples=60, deadline=None)
@given(
    extras=st.lists(st.integers(1, 200), min_size=1, max_size=5),
    receptive_field=st.integers(1, 40),
    length=st.integers(1, 50),
)
def test_every_target_is_covered_once_except_the_end_overlap(extras, receptive_field, length):
    """Values 1000 + 100000 * sequence + index tell where each crop sample came from."""
    sequences = [
        positions(receptive_field + extra) + 100000 * number for number, extra in enumerate(extras)
    ]
    crops = Crops(sequences, receptive_field, length, n_classes=POSITION_CLASSES)
    counts = [np.zeros(len(s), dtype=int) for s in sequences]
    for i in range(len(crops)):
        crop = crops.get_example(i)
        assert crop.dtype == np.int32 and crop.shape == (receptive_field + length,)
        real = crop[crop != PADDING] - 1000
        assert np.all(np.diff(real) == 1)  # a contiguous piece of one sequence
        number = int(real[0]) // 100000
        targets = crop[receptive_field:]
        targets = targets[targets != PADDING] - 1000 - 100000 * number
        counts[number][targets] += 1
    assert len(crops) == sum(-(-extra // length) for extra in extras)  # no wasted crop
    for extra, count in zip(extras, counts, strict=True):
        covered = count[receptive_field:]
        assert np.all(covered >= 1)
        if extra >= length:  # no padding: only samples with a full receptive field are targets
            assert np.all(count[:receptive_field] == 0)
            repeated = np.flatnonzero(covered > 1)
            assert np.all(covered <= 2)
            assert len(repeated) == -(-extra // length) * length - extra < length
            assert np.all(repeated >= extra - length)  # all inside the last crop


def test_short_sequence_is_left_padded_with_silence():
    crops = Crops([positions(6)], receptive_field=3, length=5, n_classes=4096)
    assert len(crops) == 1
    crop = crops.get_example(0)
    assert crop.tolist() == [2048, 2048] + positions(6).tolist()


def test_too_short_sequence_names_file_and_receptive_field():
    with pytest.raises(WaveNetError, match=r"^b.wav: 3 samples .*receptive field of 3 samples"):
        Crops([positions(10), positions(3)], 3, 4, names=["a.wav", "b.wav"],
              n_classes=POSITION_CLASSES)


def test_labels_come_with_their_crops():
    crops = Crops([positions(10), positions(20)], 2, 4, labels=[5, 7], n_classes=POSITION_CLASSES)
    examples = [crops.get_example(i) for i in range(len(crops))]
    assert [int(label) for _, label in examples] == [5, 5, 7, 7, 7, 7, 7]
    assert all(isinstance(label, np.int32) for _, label in examples)


def test_label_count_must_match():
    with pytest.raises(WaveNetError, match="2 labels for 1 sequences"):
        Crops([positions(10)], 2, 4, labels=[0, 1], n_classes=POSITION_CLASSES)


def test_audio_classes_are_kept_as_uint8_and_served_as_int32():
    waveform = np.arange(300, dtype=np.int32) % 256
    crops = Crops([waveform], 5, 10)
    assert crops._sequences[0].dtype == np.uint8
    crop = crops.get_example(1)
    assert crop.dtype == np.int32 and crop.tolist() == waveform[10:25].tolist()
    crop[0] = 0  # a copy: the kept sequence is untouched
    assert crops.get_example(1)[0] == waveform[10]


def test_class_index_out_of_range_is_refused():
    with pytest.raises(WaveNetError, match="256"):
        Crops([np.array([1, 2, 300, 4, 5, 6, 7])], 2, 3, names=["x.wav"])


def test_batches_through_a_chainer_iterator():
    crops = Crops([positions(40), positions(30)], 4, 8, labels=[0, 1],
                  n_classes=POSITION_CLASSES)
    iterator = chainer.iterators.SerialIterator(crops, 3, repeat=False, shuffle=False)
    inputs, labels = chainer.dataset.concat_examples(next(iterator))
    assert inputs.shape == (3, 12) and inputs.dtype == np.int32
    assert labels.tolist() == [0, 0, 0]


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(6, 60), min_size=1, max_size=3),
       receptive_field=st.integers(1, 8), length=st.integers(4, 12), hop=st.integers(1, 4))
def test_features_come_with_their_frames(lengths, receptive_field, length, hop):
    """Crops start on frame boundaries, carry exactly their frames, and leave no target out
    but the last hop - 1."""
    lengths = [n for n in lengths if n > receptive_field]
    if not lengths:
        return
    features = [np.stack([np.arange(-(-n // hop)), np.full(-(-n // hop), i)]).astype(np.float32)
                for i, n in enumerate(lengths)]
    crops = Crops([positions(n) for n in lengths], receptive_field, length,
                  n_classes=POSITION_CLASSES, features=features, hop=hop)
    assert crops.frames_per_crop == -(-crops.crop_size // hop)
    seen = [set() for _ in lengths]
    for i in range(len(crops)):
        example = crops.get_example(i)
        x, frames = example["x"], example["local_features"]
        assert frames.shape == (2, crops.frames_per_crop)
        sequence = int(frames[1, 0])
        real = x != PADDING
        padding = int((~real).sum())
        assert padding % hop == 0 and not real[:padding].any()
        start = int(x[real][0]) - 1000 - padding  # in the sequence, counting its padding
        assert start % hop == 0
        first_frame = start // hop
        expected = np.maximum(np.arange(crops.frames_per_crop) + first_frame, 0)
        np.testing.assert_array_equal(frames[0], expected)
        seen[sequence].update(int(v) - 1000 for v in x[receptive_field:][real[receptive_field:]])
    for n, targets in zip(lengths, seen, strict=True):
        assert set(range(receptive_field, n - hop + 1)) <= targets


def test_features_must_cover_their_sequence():
    with pytest.raises(WaveNetError, match="b.wav: features of shape \\(2, 4\\) do not cover"):
        Crops([positions(20), positions(20)], 3, 4, n_classes=POSITION_CLASSES,
              names=["a.wav", "b.wav"], features=[np.zeros((2, 5)), np.zeros((2, 4))], hop=4)


def test_features_with_labels_batch_into_the_loss_arguments():
    crops = Crops([positions(30)], 3, 8, labels=[5], n_classes=POSITION_CLASSES,
                  features=[np.zeros((2, 8), np.float32)], hop=4)
    batch = chainer.dataset.concat_examples([crops[0], crops[1]])
    assert sorted(batch) == ["global_ids", "local_features", "x"]
    assert batch["x"].shape == (2, 11) and batch["local_features"].shape == (2, 2, 3)
    np.testing.assert_array_equal(batch["global_ids"], [5, 5])
