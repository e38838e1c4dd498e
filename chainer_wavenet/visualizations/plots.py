"""Figures of audio and of autoencoder embeddings, written atomically as PNG files.

Drawn with matplotlib's object API (a Figure on its own Agg canvas), so nothing touches
pyplot's global state and no display is needed.
"""

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chainer_wavenet.files import atomic_path

FLOOR_DB = -100.0
RANGE_DB = 80.0


def log_spectrogram(audio, window=512, hop=128):
    """Log-magnitude STFT in dB, (window // 2 + 1, frames): Hann window, centred frames."""
    audio = np.asarray(audio, np.float64).reshape(-1)
    padded = np.pad(audio, (window // 2, window // 2 + (-len(audio)) % hop))
    frames = 1 + (len(padded) - window) // hop
    index = hop * np.arange(frames)[:, None] + np.arange(window)
    magnitude = np.abs(np.fft.rfft(padded[index] * np.hanning(window), axis=1)).T
    return 20.0 * np.log10(np.maximum(magnitude, 10.0 ** (FLOOR_DB / 20.0)))


def principal_components(x, n=2):
    """Project rows of ``x`` (N, D) on their first ``n`` principal axes.

    Returns the projections (N, n) and the share of variance each axis explains (n,);
    missing axes (N or D smaller than n) are zeros.
    """
    x = np.asarray(x, np.float64)
    centred = x - x.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    points = np.zeros((len(x), n))
    explained = np.zeros(n)
    k = min(n, len(singular))
    points[:, :k] = centred @ axes[:k].T
    total = np.sum(singular ** 2)
    if total > 0:
        explained[:k] = singular[:k] ** 2 / total
    return points, explained


def _figure(width, height):
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path, force):
    with atomic_path(path, force=force) as temporary:
        figure.savefig(temporary, format="png")


# The colour of a time marked on a spectrogram: pure green, which magma never shows.
MARK_COLOUR = "#00ff00"


def save_spectrogram(path, audio, sample_rate, title=None, force=False, mark=None):
    """Write the log-magnitude spectrogram of 1-D ``audio`` to PNG ``path``."""
    save_spectrograms_side_by_side(path, [(title or "spectrogram", audio)], sample_rate, force,
                                   mark=mark)


def save_spectrograms_side_by_side(path, items, sample_rate, force=False, track=None,
                                   track_rate=100, max_hz=None, mark=None):
    """Write spectrograms of ``items``, (title, audio) pairs, side by side on one dB scale.

    ``track``: a pitch track (MIDI per frame at ``track_rate``, NaN: rest) drawn over the
    last one; ``max_hz``: the highest frequency shown; ``mark``: (seconds, label), a time
    drawn as a vertical line across the last one (where a prime ends).
    """
    window = 512
    hop = window // 4
    spectrograms = [log_spectrogram(audio, window, hop) for _, audio in items]
    top = max(s.max() for s in spectrograms)
    figure = _figure(2 + 5 * len(items), 4)
    axes = figure.subplots(1, len(items), squeeze=False)[0]
    for ax, (title, audio), spectrogram in zip(axes, items, spectrograms, strict=True):
        image = ax.imshow(spectrogram, origin="lower", aspect="auto", cmap="magma",
                          vmin=top - RANGE_DB, vmax=top,
                          extent=(0, len(audio) / sample_rate, 0, sample_rate / 2))
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        if max_hz:
            ax.set_ylim(0, min(max_hz, sample_rate / 2))
    if track is not None:
        track = np.asarray(track, np.float64)
        hz = 440.0 * 2.0 ** ((track - 69.0) / 12.0)
        axes[-1].plot((np.arange(len(track)) + 0.5) / track_rate, hz, color="cyan",
                      linewidth=1.0, label="target pitch")
    if mark is not None:
        seconds, label = mark
        axes[-1].axvline(seconds, color=MARK_COLOUR, linewidth=1.5, label=label)
    if track is not None or mark is not None:
        axes[-1].legend(loc="upper right", fontsize="small")
    axes[0].set_ylabel("frequency (Hz)")
    figure.colorbar(image, ax=list(axes), label="dB")
    _save(figure, path, force)


def save_embedding_pca(path, z_means, labels, label_names, title=None, force=False):
    """Scatter the first two principal components of ``z_means`` (N, bottleneck).

    ``labels`` (N,) are integer ids into ``label_names``, which name the legend entries.
    """
    points, explained = principal_components(z_means, 2)
    labels = np.asarray(labels)
    colours = matplotlib.colormaps["tab20"]
    figure = _figure(7, 5)
    ax = figure.add_subplot()
    for label in np.unique(labels):
        chosen = labels == label
        shade = 2 * int(label) % 20 + 2 * int(label) // 20 % 2  # strong shades first, then light
        ax.scatter(points[chosen, 0], points[chosen, 1], s=14, color=colours(shade),
                   label=label_names[int(label)])
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    ax.set_title(title or f"PCA of time-averaged z ({len(points)} notes)")
    ax.legend(fontsize="small", loc="best")
    _save(figure, path, force)


def save_z_over_time(path, z, hop, sample_rate, title=None, force=False):
    """Plot each channel of one note's z (bottleneck, frames) against time."""
    z = np.asarray(z)
    times = (np.arange(z.shape[1]) + 0.5) * hop / sample_rate
    figure = _figure(8, 4)
    ax = figure.add_subplot()
    ax.plot(times, z.T, linewidth=1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("z")
    ax.set_title(title or f"z over time ({z.shape[0]} channels, {hop} samples per frame)")
    _save(figure, path, force)


def _draw_hnr(ax, rows, conditions, colours):
    """Each played note's harmonic-to-noise ratio against its original's, by condition."""
    for k, condition in enumerate(conditions):
        points = [(r["original_hnr_db"], r["hnr_db"]) for r in rows
                  if r["condition"] == condition and r.get("original_hnr_db") is not None
                  and r.get("hnr_db") is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), s=16, color=colours(k), label=condition)
    values = [v for r in rows for v in (r.get("hnr_db"), r.get("original_hnr_db"))
              if v is not None]
    if values:
        low, high = min(values) - 2, max(values) + 2
        ax.plot([low, high], [low, high], color="grey", linewidth=0.8, label="as the original")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
    ax.set_xlabel("original (dB)")
    ax.set_ylabel("played (dB)")
    ax.set_title("harmonic-to-noise ratio")
    ax.legend(fontsize="small")


def save_evaluation(path, rows, pairs, sample_rate, tolerance=50.0, force=False):
    """Pitch error per note by instrument family, the harmonic-to-noise ratio of what was
    played against the original's, and a few spectrogram pairs.

    ``rows``: per-note results (``condition``, ``family``, ``cents`` or None when
    unvoiced, ``hnr_db`` and ``original_hnr_db`` where measured); ``pairs``: (title,
    original, reconstruction) to draw side by side. Unvoiced notes are drawn as crosses
    above the plot's top.
    """
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    families = sorted({r["family"] for r in rows})
    figure = _figure(19 if pairs else 11, max(4.0, 2.2 * len(pairs)))
    grid = figure.add_gridspec(max(len(pairs), 1), 4 if pairs else 2)
    ax = figure.add_subplot(grid[:, 0])
    limit = max([200.0] + [min(abs(r["cents"]), 1300.0) for r in rows
                           if r["cents"] is not None])
    colours = matplotlib.colormaps["tab10"]
    for k, condition in enumerate(conditions):
        offset = (k - (len(conditions) - 1) / 2) * 0.8 / max(len(conditions), 1)
        chosen = [r for r in rows if r["condition"] == condition]
        x = [families.index(r["family"]) + offset for r in chosen]
        y = [limit * 1.08 if r["cents"] is None else float(np.clip(r["cents"], -limit, limit))
             for r in chosen]
        unvoiced = [r["cents"] is None for r in chosen]
        ax.scatter([a for a, u in zip(x, unvoiced, strict=True) if not u],
                   [b for b, u in zip(y, unvoiced, strict=True) if not u], s=16,
                   color=colours(k), label=condition)
        ax.scatter([a for a, u in zip(x, unvoiced, strict=True) if u],
                   [b for b, u in zip(y, unvoiced, strict=True) if u], s=22, marker="x",
                   color=colours(k))
    ax.axhspan(-tolerance, tolerance, color="green", alpha=0.12, label=f"±{tolerance:g} cents")
    ax.set_xticks(range(len(families)), families, rotation=45, ha="right")
    ax.set_ylim(-limit * 1.15, limit * 1.15)
    ax.set_ylabel("pitch error (cents; x: no pitch found)")
    ax.set_title("pitch of each note played")
    ax.legend(fontsize="small")
    _draw_hnr(figure.add_subplot(grid[:, 1]), rows, conditions, colours)
    window, hop = 512, 128
    for i, (title, original, played) in enumerate(pairs):
        spectrograms = [log_spectrogram(a, window, hop) for a in (original, played)]
        top = max(s.max() for s in spectrograms)
        for j, (label, spectrogram, audio) in enumerate(zip(
                ("original", "reconstruction"), spectrograms, (original, played), strict=True)):
            image_ax = figure.add_subplot(grid[i, 2 + j])
            image_ax.imshow(spectrogram, origin="lower", aspect="auto", cmap="magma",
                            vmin=top - RANGE_DB, vmax=top,
                            extent=(0, len(audio) / sample_rate, 0, sample_rate / 2))
            image_ax.set_title(f"{title}: {label}", fontsize="small")
            image_ax.tick_params(labelsize="x-small")
    _save(figure, path, force)
