"""The GPU path's own code against the NumPy path's numbers: the gate's fused kernels, the
convolution, Gumbel-max sampling, the embedding's float32 gradient sum, generation.

Marked ``gpu`` (``benchmarks/verify_gpu.py`` runs them); skipped without CuPy and a GPU.
"""

import chainer
import numpy as np
import pytest
from chainer.backends import cuda
from devices import gpu_count
from model_fixtures import make_wavenet, random_classes
from scipy import stats

from chainer_wavenet.functions.dilated_convolution import dilated_convolution_1d
from chainer_wavenet.functions.gated_activation import gate_forward, gate_output, gated_activation
from chainer_wavenet.functions.gumbel import fused_gumbel_scores, gumbel_scores, sample_gumbel
from chainer_wavenet.links.embed_id import EmbedID
from chainer_wavenet.links.output_distribution import sample_softmax
from chainer_wavenet.sampling.generate import generate

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not gpu_count(), reason="needs CuPy and a CUDA GPU")]

# float16: the kernels compute in float32 and round once, NumPy rounds at each step (a few
# float16 spacings near 1, times gradients of up to ~4).
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float16: dict(rtol=1e-2, atol=1e-2)}
DTYPES = [np.float32, np.float16]


def on_gpu(array):
    return cuda.to_gpu(array, device=0)


def gradients(function, inputs, gy):
    """``function``'s output and its inputs' gradients for output gradient ``gy``, as NumPy."""
    variables = [chainer.Variable(a) for a in inputs]
    y = function(*variables)
    y.grad = gy
    y.backward()
    return [cuda.to_cpu(a) for a in (y.array, *(v.grad for v in variables))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 32, 50), (3, 16)])
def test_gate_kernels_match_numpy(shape, dtype):
    rng = np.random.default_rng(0)
    h = rng.normal(scale=2.0, size=shape).astype(dtype)
    gz = rng.normal(size=(shape[0], shape[1] // 2, *shape[2:])).astype(dtype)
    expected = gradients(gated_activation, [h], gz)
    found = gradients(gated_activation, [on_gpu(h)], on_gpu(gz))
    for a, b in zip(found, expected, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32),
                                   **TOLERANCE[dtype])
    halves = [cuda.to_cpu(a) for a in gate_forward(on_gpu(h))[1:]]
    for a, b in zip(halves, gate_forward(h)[1:], strict=True):
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32),
                                   **TOLERANCE[dtype])
    out = cuda.cupy.empty(gz.shape, dtype)
    assert gate_output(on_gpu(h), out) is out
    np.testing.assert_allclose(cuda.to_cpu(out).astype(np.float32),
                               expected[0].astype(np.float32), **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width,dilation", [(1, 1), (2, 1), (2, 8), (3, 5)])
def test_convolution_matches_numpy(width, dilation, dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 16, 40 + dilation * (width - 1))).astype(dtype)
    W = (rng.normal(size=(24, 16, width)) / 4).astype(dtype)
    b = rng.normal(size=24).astype(dtype)
    gy = rng.normal(size=(3, 24, 40)).astype(dtype)

    def convolve(*args):
        return dilated_convolution_1d(*args, dilation=dilation)

    # float16 against NumPy's float32 numbers: CuPy's products accumulate in float32.
    reference = [a.astype(np.float32) for a in (x, W, b, gy)]
    expected = gradients(convolve, reference[:3], reference[3])
    found = gradients(convolve, [on_gpu(a) for a in (x, W, b)], on_gpu(gy))
    for a, e in zip(found, expected, strict=True):
        assert a.dtype == dtype
        scale = np.abs(e).max()
        np.testing.assert_allclose(a.astype(np.float32), e, rtol=TOLERANCE[dtype]["rtol"],
                                   atol=TOLERANCE[dtype]["rtol"] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_gumbel_scores_match_numpy(dtype):
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (512, 256)).astype(dtype)
    uniform = rng.random(512, dtype=np.float32)
    expected = gumbel_scores(logits, 0.7, uniform)
    found = cuda.to_cpu(fused_gumbel_scores(on_gpu(logits), 0.7, on_gpu(uniform)))
    assert found.dtype == np.float32
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)
    classes = cuda.to_cpu(sample_gumbel(on_gpu(logits), 0.7, on_gpu(uniform)))
    assert classes.dtype == np.int32
    assert (classes == expected.argmax(axis=1)).mean() > 0.995  # near-ties may differ


def test_samples_on_the_gpu_follow_the_tempered_softmax():
    row = np.array([0.0, 1.0, 2.0, -1.0, 0.5, -3.0, 1.5, 0.2], np.float32)
    draws = 100_000
    uniform = np.random.default_rng(3).random(draws, dtype=np.float32)
    for temperature in (0.5, 1.0, 2.0):
        choices = sample_softmax(on_gpu(np.tile(row, (draws, 1))), temperature,
                                 on_gpu(uniform))
        probabilities = np.exp(row.astype(np.float64) / temperature)
        probabilities /= probabilities.sum()
        observed = np.bincount(cuda.to_cpu(choices), minlength=len(row))
        assert stats.chisquare(observed, draws * probabilities).pvalue > 1e-3, temperature


def test_float16_embedding_gradient_is_summed_in_float32():
    """10,000 contributions of 0.01 to one row: a float16 running sum stops growing near
    32 (its spacing there, 2**-6, exceeds twice 0.01); a float32 sum reaches 100."""
    with chainer.using_config("dtype", np.float16):
        table = EmbedID(8, 4)
    table.to_device("@cupy:0")
    x = np.full((10, 1000), 5, np.int32)
    x[:, 0] = 2
    y = table(on_gpu(x))
    y.grad = cuda.cupy.full(y.shape, 0.01, np.float16)
    y.backward()
    grad = cuda.to_cpu(table.W.grad)
    assert grad.dtype == np.float16
    contribution = np.float32(np.float16(0.01))
    np.testing.assert_allclose(grad[5], np.full(4, 9990 * contribution), rtol=1e-3)
    np.testing.assert_allclose(grad[2], np.full(4, 10 * contribution), rtol=1e-3)
    assert not grad[[0, 1, 3, 4, 6, 7]].any()


def test_float16_wavenet_trains_on_the_gpu():
    with chainer.using_config("dtype", np.float16):
        model = make_wavenet(n_global=3)
    model.to_device("@cupy:0")
    x = random_classes(np.random.default_rng(5), 2, model.receptive_field + 64, 32)
    loss = model.loss(on_gpu(x), on_gpu(np.array([0, 2], np.int32)))
    model.cleargrads()
    loss.backward()
    for name, param in model.namedparams():
        assert param.grad.dtype == np.float16, name
        assert bool(cuda.cupy.isfinite(param.grad).all()), name


def test_greedy_generation_on_the_gpu_equals_the_cpu():
    model = make_wavenet()
    model.head2.W.array *= 20  # wide gaps between the logits
    prime = random_classes(np.random.default_rng(4), 2, 6, 32)
    expected = generate(model, 40, 2, 1e-6, prime=prime, seed=1)
    model.to_device("@cupy:0")
    found = generate(model, 40, 2, 1e-6, prime=prime, seed=1)
    np.testing.assert_array_equal(found, expected)


def test_gpu_generation_is_reproducible_and_in_range():
    model = make_wavenet()
    model.to_device("@cupy:0")
    first, second = (generate(model, 50, 3, 1.0, seed=7) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.int32 and ((0 <= first) & (first < 32)).all()
