"""The WaveNet Chain: shapes, causality, receptive field, loss, and step = parallel."""

import math

import numpy as np
import pytest
from model_fixtures import (
    changed_outputs,
    make_wavenet,
    parallel_logits,
    random_classes,
    random_conditions,
    stepped_logits,
    tiny_config,
)

from chainer_wavenet.models.wavenet import WaveNet, bits

DILATION_LISTS = [(1,), (1, 2, 4, 8), (2, 1, 4, 1, 2)]
INPUT_MODES = ["embedding", "scalar"]
CONDITIONINGS = {
    "none": {},
    "global": dict(n_global=5),
    "local": dict(local_channels=3, local_hop=5),
    "both": dict(n_global=5, local_channels=3, local_hop=5),
}


def with_changed_sample(x, position, n_classes):
    changed = x.copy()
    changed[:, position] = (changed[:, position] + n_classes // 2) % n_classes
    return changed


@pytest.mark.parametrize("input_mode", INPUT_MODES)
def test_output_shape_and_dtype(input_mode):
    model = make_wavenet(input_mode=input_mode)
    x = random_classes(np.random.default_rng(0), 3, model.receptive_field + 9, 32)
    logits = model(x)
    assert logits.shape == (3, 32, 10)
    assert logits.dtype == np.float32


def test_input_shorter_than_receptive_field_is_refused():
    model = make_wavenet()
    x = random_classes(np.random.default_rng(0), 1, model.receptive_field - 1, 32)
    with pytest.raises(ValueError, match="receptive field"):
        model(x)


@pytest.mark.parametrize("settings,global_ids,local_features", [
    ({}, np.zeros(1, np.int32), None),
    ({}, None, np.zeros((1, 3, 4), np.float32)),
    (dict(n_global=4), None, None),
    (dict(local_channels=3), None, None),
])
def test_conditioning_must_match_the_config(settings, global_ids, local_features):
    model = make_wavenet(**settings)
    x = random_classes(np.random.default_rng(0), 1, model.receptive_field + 3, 32)
    with pytest.raises(ValueError, match="expected|required"):
        model(x, global_ids, local_features)


@pytest.mark.parametrize("input_mode", INPUT_MODES)
@pytest.mark.parametrize("filter_width", [2, 3])
@pytest.mark.parametrize("dilations", DILATION_LISTS)
def test_each_sample_reaches_exactly_the_outputs_that_see_it(dilations, filter_width,
                                                             input_mode):
    """Changing sample s changes output j (newest input j + R - 1) iff j <= s <= j + R - 1."""
    model = make_wavenet(dilations=dilations, filter_width=filter_width, input_mode=input_mode)
    field = model.receptive_field
    x = random_classes(np.random.default_rng(1), 2, field + 12, 32)
    n_outputs = x.shape[1] - field + 1
    before = parallel_logits(model, x)
    for position in sorted({0, 1, field - 1, field, field + 5, x.shape[1] - 1}):
        after = parallel_logits(model, with_changed_sample(x, position, 32))
        first = max(0, position - field + 1)
        last = min(position, n_outputs - 1)
        expected = np.arange(first, last + 1)
        np.testing.assert_array_equal(changed_outputs(before, after), expected,
                                      err_msg=f"changed sample {position}, R={field}")


@pytest.mark.parametrize("filter_width", [2, 3])
@pytest.mark.parametrize("dilations", DILATION_LISTS)
def test_reported_receptive_field_matches_the_measured_one(dilations, filter_width):
    model = make_wavenet(dilations=dilations, filter_width=filter_width)
    reported = model.receptive_field
    assert reported == 1 + (filter_width - 1) * sum(dilations)
    length = reported + 8
    x = random_classes(np.random.default_rng(2), 1, length, 32)
    last_output = parallel_logits(model, x)[:, :, -1]
    seen = [position for position in range(length)
            if np.abs(parallel_logits(model, with_changed_sample(x, position, 32))[:, :, -1]
                      - last_output).max() > 1e-5]
    assert seen == list(range(seen[0], length))
    assert length - seen[0] == reported


def test_local_features_act_causally():
    """A frame's features reach the outputs from its first sample on, never earlier ones."""
    hop = 5
    model = make_wavenet(local_channels=3, local_hop=hop)
    field = model.receptive_field
    rng = np.random.default_rng(3)
    x = random_classes(rng, 1, field + 30, 32)
    _, features = random_conditions(model.config, rng, 1, x.shape[1])
    before = parallel_logits(model, x, local_features=features)
    frame = (field + 10) // hop
    changed = features.copy()
    changed[:, :, frame] += 1.0
    after = parallel_logits(model, x, local_features=changed)
    first_affected_output = frame * hop - field + 1
    assert changed_outputs(before, after)[0] == first_affected_output


def test_global_id_changes_every_output():
    model = make_wavenet(n_global=4)
    x = random_classes(np.random.default_rng(4), 1, model.receptive_field + 6, 32)
    before = parallel_logits(model, x, np.array([1], np.int32))
    after = parallel_logits(model, x, np.array([2], np.int32))
    np.testing.assert_array_equal(changed_outputs(before, after), np.arange(7))


@pytest.mark.parametrize("conditioning", list(CONDITIONINGS))
@pytest.mark.parametrize("input_mode", INPUT_MODES)
@pytest.mark.parametrize("filter_width", [2, 3])
@pytest.mark.parametrize("dilations", [(1, 2, 4, 8), (2, 1, 4, 1, 2)])
def test_teacher_forced_steps_match_the_parallel_pass(dilations, filter_width, input_mode,
                                                      conditioning):
    model = make_wavenet(dilations=dilations, filter_width=filter_width, input_mode=input_mode,
                         **CONDITIONINGS[conditioning])
    field = model.receptive_field
    rng = np.random.default_rng(5)
    x = random_classes(rng, 2, field + 23, 32)
    global_ids, local_features = random_conditions(model.config, rng, 2, x.shape[1])
    parallel = parallel_logits(model, x, global_ids, local_features)
    steps = stepped_logits(model, x, global_ids, local_features)
    assert steps.dtype == np.float32
    np.testing.assert_allclose(steps[:, :, field - 1:], parallel, atol=1e-4, rtol=1e-4)


def test_start_resets_the_stepped_state():
    model = make_wavenet(n_global=3)
    rng = np.random.default_rng(6)
    x = random_classes(rng, 1, model.receptive_field + 5, 32)
    ids = np.array([2], np.int32)
    first = stepped_logits(model, x, ids)
    stepped_logits(model, random_classes(rng, 1, 9, 32), np.array([0], np.int32))
    np.testing.assert_array_equal(stepped_logits(model, x, ids), first)


def test_loss_is_cross_entropy_on_the_samples_after_the_receptive_field():
    model = make_wavenet(n_global=3)
    field = model.receptive_field
    rng = np.random.default_rng(7)
    x = random_classes(rng, 2, field + 11, 32)
    ids = np.array([0, 2], np.int32)
    logits = parallel_logits(model, x[:, :-1], ids)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    targets = x[:, field:]
    expected = -np.take_along_axis(log_probs, targets[:, None, :], axis=1).mean()
    assert logits.shape[2] == targets.shape[1]
    assert float(model.loss(x, ids).array) == pytest.approx(expected, rel=1e-5)


def test_fresh_model_starts_near_the_uniform_distribution():
    np.random.seed(0)
    model = WaveNet(tiny_config(n_classes=256))
    x = random_classes(np.random.default_rng(8), 2, model.receptive_field + 50, 256)
    assert float(model.loss(x).array) == pytest.approx(math.log(256), abs=0.1)


def test_loss_gradient_reaches_every_parameter():
    """Every parameter but the last block's residual 1x1 (unused by the head) learns."""
    model = make_wavenet(n_global=3, local_channels=2, local_hop=4)
    rng = np.random.default_rng(9)
    x = random_classes(rng, 2, model.receptive_field + 12, 32)
    ids, features = random_conditions(model.config, rng, 2, x.shape[1] - 1)
    model.cleargrads()
    model.loss(x, ids, features).backward()
    last_residual = f"/blocks/{len(model.blocks) - 1}/residual/"
    for name, param in model.namedparams():
        if name.startswith(last_residual):
            assert param.grad is None, "the last block's residual output feeds nothing"
        else:
            assert param.grad is not None and np.any(param.grad != 0), name


def test_bits_converts_nats():
    assert bits(math.log(2)) == pytest.approx(1.0)
    assert bits(math.log(256)) == pytest.approx(8.0)
