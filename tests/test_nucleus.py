"""Nucleus (top-p) sampling: only the most likely classes holding top_p of the probability
are drawn, in their own proportions; top_p = 1 is plain sampling, bit for bit."""

import numpy as np
import pytest
from model_fixtures import make_autoencoder, make_wavenet
from test_sample_cli import ok, refused, run

from chainer_wavenet import snapshot
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.links.output_distribution import LogisticMixture, nucleus, sample_softmax
from chainer_wavenet.sampling import synthesis
from chainer_wavenet.sampling.generate import check_generation_args, generate

PROBABILITIES = np.array([0.05, 0.5, 0.15, 0.3])


def logits(rows=1):
    return np.tile(np.log(PROBABILITIES).astype(np.float32), (rows, 1))


@pytest.mark.parametrize("top_p, kept", [(0.45, {1}), (0.55, {1, 3}), (0.75, {1, 3}),
                                         (0.85, {1, 2, 3}), (0.9, {1, 2, 3}),
                                         (0.97, {0, 1, 2, 3}), (1.0, {0, 1, 2, 3})])
def test_the_nucleus_is_the_fewest_likeliest_classes_reaching_top_p(top_p, kept):
    finite = np.flatnonzero(np.isfinite(nucleus(logits(), 1.0, top_p)[0]))
    assert set(finite) == kept


def test_the_nucleus_is_taken_at_the_temperature_asked():
    # At T = 0.5 the probabilities sharpen to 0.5^2 : 0.3^2 ...: 0.5 alone holds 0.66.
    assert set(np.flatnonzero(np.isfinite(nucleus(logits(), 0.5, 0.6)[0]))) == {1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_draws_follow_the_nucleus_renormalized(seed):
    rows = 40000
    uniform = np.random.default_rng(seed).random(rows, dtype=np.float32)
    drawn = sample_softmax(logits(rows), 1.0, uniform, top_p=0.75)
    counts = np.bincount(drawn, minlength=4)
    assert counts[0] == 0 and counts[2] == 0
    expected = rows * np.array([0.5, 0.3]) / 0.8
    chi_square = np.sum((counts[[1, 3]] - expected) ** 2 / expected)
    assert chi_square < 10.8  # p = 0.001 at one degree of freedom


def test_top_p_of_one_generates_exactly_as_plain_sampling():
    model = make_wavenet(seed=3)
    np.testing.assert_array_equal(generate(model, 200, batch_size=2, seed=4),
                                  generate(model, 200, batch_size=2, seed=4, top_p=1.0))
    assert not np.array_equal(generate(model, 200, batch_size=2, seed=4),
                              generate(model, 200, batch_size=2, seed=4, top_p=0.3))


def test_a_narrow_nucleus_decodes_the_most_likely_continuation():
    model = make_autoencoder(seed=5)
    z = model.encode(np.zeros(64, np.float32))
    greedy = synthesis.decode(model, z, 60, temperature=1e-4, seed=1, progress=False)
    narrow = synthesis.decode(model, z, 60, top_p=1e-6, seed=2, progress=False)
    np.testing.assert_array_equal(narrow, greedy)


@pytest.mark.parametrize("top_p", [0.0, -0.5, 1.5])
def test_a_top_p_outside_zero_to_one_is_refused(top_p):
    with pytest.raises(WaveNetError, match="--top-p must lie in"):
        check_generation_args(10, 1, 1.0, top_p)


def test_a_mixture_refuses_a_nucleus():
    with pytest.raises(WaveNetError, match="--top-p is for softmax outputs"):
        LogisticMixture(65536, 2).sample(np.zeros((1, 6), np.float32), 1.0,
                                         np.full((1, 2), 0.5, np.float32), top_p=0.9)


@pytest.mark.slow
def test_the_sample_commands_take_top_p(tmp_path):
    autoencoder, wavenet = tmp_path / "autoencoder.h5", tmp_path / "wavenet.h5"
    snapshot.save(autoencoder, make_autoencoder(seed=3, encoder_settings=dict(hop=16)),
                  {"sample_rate": 16000})
    snapshot.save(wavenet, make_wavenet(seed=1), {"sample_rate": 16000})
    note = tmp_path / "note.wav"
    write_wav(note, 0.4 * np.sin(2 * np.pi * 261.6 * np.arange(800) / 16000), 16000)
    ok(run("autoencoder", "reconstruct", "--model", autoencoder, note, "--pitch", 60,
           "--top-p", 0.9, "--seed", 1, "--out", tmp_path / "out"))
    assert (tmp_path / "out" / "note_reconstruction.wav").is_file()
    ok(run("wavenet", "--model", wavenet, "--length", 300, "--top-p", 0.9,
           "--out", tmp_path / "wavenet"))
    refused(run("wavenet", "--model", wavenet, "--length", 300, "--top-p", 0,
                "--out", tmp_path / "bad"), "--top-p")
