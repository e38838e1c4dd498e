"""The harmonic-to-noise ratio ranks clean tones above noisy ones, and evaluate reports it."""

import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.evaluations.harmonic_noise import harmonic_to_noise
from chainer_wavenet.sampling import evaluation

RATE = 16000


def harmonic_tone(midi, seconds=2.0, harmonics=8):
    t = np.arange(round(seconds * RATE)) / RATE
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, harmonics + 1)
               if k * f0 < RATE / 2)


def with_noise(clean, snr_db, seed):
    noise = np.random.default_rng(seed).normal(size=len(clean))
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return clean + noise


@pytest.mark.parametrize("midi", [36, 48, 60, 72, 84])
def test_a_pure_harmonic_tone_scores_high(midi):
    assert harmonic_to_noise(harmonic_tone(midi), RATE, midi) > 30.0


def test_white_noise_scores_far_below_a_tone():
    noise = np.random.default_rng(0).normal(0, 0.1, 2 * RATE)
    assert harmonic_to_noise(noise, RATE, 60) < 3.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_at_known_snrs_scores_in_order(seed):
    clean = harmonic_tone(60)
    scores = [harmonic_to_noise(with_noise(clean, snr, seed), RATE, 60) for snr in (30, 20, 10, 0)]
    assert all(a > b + 5.0 for a, b in zip(scores, scores[1:], strict=False)), scores


def test_the_pitch_asked_for_decides_where_the_harmonics_are():
    tone = harmonic_tone(60)
    assert harmonic_to_noise(tone, RATE, 60) > harmonic_to_noise(tone, RATE, 61) + 20.0


def test_a_pitch_track_is_followed_frame_by_frame():
    melody = np.concatenate([harmonic_tone(60, 1.0), harmonic_tone(67, 1.0)])
    track = np.repeat([60.0, 67.0], RATE)
    held = np.full(2 * RATE, 60.0)
    assert harmonic_to_noise(melody, RATE, track, start=0.0) > 25.0
    assert harmonic_to_noise(melody, RATE, track, start=0.0) > harmonic_to_noise(
        melody, RATE, held, start=0.0) + 10.0


def test_rests_and_short_clips_have_no_figure():
    assert harmonic_to_noise(harmonic_tone(60, 0.1), RATE, 60) is None
    assert harmonic_to_noise(harmonic_tone(60), RATE, np.full(2 * RATE, np.nan)) is None
    with pytest.raises(WaveNetError, match="shorter than the clip"):
        harmonic_to_noise(harmonic_tone(60), RATE, np.full(RATE, 60.0))


def test_evaluate_reports_each_note_beside_its_original():
    model = make_autoencoder(seed=1)
    notes = [evaluation.Note(f"n{midi}", "flute", midi,
                             harmonic_tone(midi, 0.5)[:7 * 1024].astype(np.float32))
             for midi in (60, 64)]
    results, _ = evaluation.evaluate(model, notes, RATE, batch_size=2, progress=False,
                                     likelihood=False)
    originals = {r["note"]: r["hnr_db"] for r in results["notes"] if r["condition"] == "original"}
    played = [r for r in results["notes"] if r["condition"] == "reconstruction"]
    assert all(v > 30.0 for v in originals.values())
    for row in played:
        assert row["original_hnr_db"] == originals[row["note"]]
        assert row["hnr_gap_db"] == pytest.approx(row["original_hnr_db"] - row["hnr_db"])
    summary = results["summary"]["reconstruction"]
    assert summary["hnr_gap_db"] == pytest.approx(np.median([r["hnr_gap_db"] for r in played]))
    # An untrained decoder plays noise: far below the tones it was given.
    assert summary["hnr_gap_db"] > 20.0
    assert "HNR gap (dB)" in evaluation.markdown_table(results)
