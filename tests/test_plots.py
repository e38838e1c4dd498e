"""Figures: valid PNG files, written atomically, never over an existing file without force."""

import matplotlib.image
import numpy as np
import pytest

from chainer_wavenet.errors import WaveNetError, WriteError
from chainer_wavenet.visualizations import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def assert_only(folder, *names):
    """Nothing but ``names`` in ``folder``: no temporary files left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_log_spectrogram_peaks_at_the_tone(sine):
    spectrogram = plots.log_spectrogram(sine(1000.0, samples=4000), window=512, hop=128)
    assert spectrogram.shape == (257, 33)
    assert np.all(np.argmax(spectrogram[:, 2:-2], axis=0) == round(1000 / 16000 * 512))
    assert spectrogram.min() >= plots.FLOOR_DB


def test_log_spectrogram_of_one_sample_and_of_silence():
    assert plots.log_spectrogram(np.ones(1)).shape == (257, 2)
    assert np.allclose(plots.log_spectrogram(np.zeros(300)), plots.FLOOR_DB)


def test_spectrogram_png(tmp_path, sine):
    path = tmp_path / "tone.png"
    plots.save_spectrogram(path, sine(), 16000, title="a tone")
    assert_png(path)
    assert_only(tmp_path, "tone.png")


def test_spectrograms_side_by_side_png(tmp_path, sine):
    path = tmp_path / "pair.png"
    plots.save_spectrograms_side_by_side(
        path, [("original", sine(440.0)), ("reconstruction", np.zeros(1600))], 16000)
    assert_png(path)
    assert_only(tmp_path, "pair.png")


def test_existing_png_is_kept_without_force(tmp_path, sine):
    path = tmp_path / "tone.png"
    path.write_bytes(b"keep me")
    with pytest.raises(WaveNetError, match="already exists"):
        plots.save_spectrogram(path, sine(), 16000)
    assert path.read_bytes() == b"keep me"
    plots.save_spectrogram(path, sine(), 16000, force=True)
    assert_png(path)
    assert_only(tmp_path, "tone.png")


def test_failed_write_leaves_no_file(tmp_path, sine, monkeypatch):
    def fail_half_way(figure, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(PNG_SIGNATURE)
        raise OSError("disk full")

    monkeypatch.setattr(plots.Figure, "savefig", fail_half_way)
    with pytest.raises(WriteError, match=r"tone\.png: cannot write it \(disk full\)"):
        plots.save_spectrogram(tmp_path / "tone.png", sine(), 16000)
    assert_only(tmp_path)


def test_principal_components_find_the_spread_axis():
    rng = np.random.default_rng(0)
    x = np.outer(rng.normal(size=50), [3.0, 4.0, 0.0]) + 0.01 * rng.normal(size=(50, 3))
    points, explained = plots.principal_components(x, 2)
    assert points.shape == (50, 2)
    assert explained[0] > 0.99 and explained.sum() <= 1.0 + 1e-9
    assert abs(np.corrcoef(points[:, 0], x[:, 0])[0, 1]) > 0.99


def test_principal_components_of_too_few_points_are_padded():
    points, explained = plots.principal_components(np.ones((1, 4)), 2)
    assert points.shape == (1, 2) and not points.any() and not explained.any()


def test_embedding_pca_and_z_over_time_pngs(tmp_path):
    rng = np.random.default_rng(1)
    plots.save_embedding_pca(tmp_path / "pca.png", rng.normal(size=(12, 16)),
                             [0, 3, 10] * 4, [f"family{i}" for i in range(11)])
    plots.save_z_over_time(tmp_path / "z.png", rng.normal(size=(16, 125)), 512, 16000)
    assert_png(tmp_path / "pca.png")
    assert_png(tmp_path / "z.png")
    assert_only(tmp_path, "pca.png", "z.png")
