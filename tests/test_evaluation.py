"""Quality measures: the pitch tracker on real notes and on noise, spectral distance,
and the evaluate command end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from model_fixtures import make_autoencoder, trained_pitch_autoencoder

from chainer_wavenet import evaluations, snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.pitch_signal import midi_to_hz
from chainer_wavenet.datasets.render import NoteRenderer, render_nsynth
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.evaluations.likelihood import spread_bits
from chainer_wavenet.sampling import evaluation, synthesis

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
PROGRAMS = (0, 24, 40, 56, 73)  # piano, guitar, violin, trumpet, flute
PITCHES = (48, 60, 72)


@pytest.fixture(scope="module")
def rendered():
    """Two seconds of each program at each pitch, from the SoundFont."""
    with NoteRenderer() as renderer:
        return {(program, pitch): renderer(program, pitch, 100)[:2 * RATE]
                for program in PROGRAMS for pitch in PITCHES}


def test_rendered_notes_measure_at_their_pitch(rendered):
    measures = {key: evaluations.measure_pitch(audio, RATE, key[1])
                for key, audio in rendered.items()}
    within = [key for key, measure in measures.items() if measure.within]
    assert len(within) >= 0.95 * len(measures), measures
    assert all(measure.voiced > 0.5 for measure in measures.values())


def test_white_noise_rarely_has_the_pitch_asked_for():
    rng = np.random.default_rng(0)
    hits = 0
    for clip in range(20):
        noise = rng.normal(0.0, 0.02 * (1 + clip % 5), 2 * RATE).astype(np.float32)
        hits += evaluations.measure_pitch(noise, RATE, 40 + 2 * clip).within
    assert hits < 2


def test_a_note_measured_against_the_wrong_pitch_misses(rendered):
    measure = evaluations.measure_pitch(rendered[(73, 60)], RATE, 61)
    assert measure.cents == pytest.approx(-100, abs=15) and not measure.within


def test_silence_and_short_clips_have_no_pitch():
    assert evaluations.measure_pitch(np.zeros(RATE, np.float32), RATE, 60).cents is None
    assert evaluations.measure_pitch(np.ones(100, np.float32), RATE, 60).cents is None


def test_log_mel_distance(rendered):
    note = rendered[(0, 60)]
    assert evaluations.log_mel_distance(note, note, RATE) == 0.0
    noise = np.random.default_rng(1).normal(0, 0.1, len(note)).astype(np.float32)
    # Noise fills every band: half its amplitude is 6.02 dB less power in each.
    assert evaluations.log_mel_distance(noise / 2, noise, RATE) == pytest.approx(6.02, abs=0.01)
    # In a note, bands under the floor count as equal: less than 6 dB on average.
    assert 1.0 < evaluations.log_mel_distance(note / 2, note, RATE) < 6.03
    other = rendered[(73, 72)]
    assert evaluations.log_mel_distance(noise, note, RATE) > \
        evaluations.log_mel_distance(other, note, RATE) > 3.0


def test_evaluate_reports_each_condition_and_skips_unplayable_shifts():
    model = make_autoencoder(seed=1)
    rng = np.random.default_rng(2)
    notes = [evaluation.Note(f"n{i}", family, pitch, rng.uniform(-0.3, 0.3, 64).astype(
        np.float32)) for i, (family, pitch) in enumerate([("flute", 60), ("bass", 125)])]
    results, played = evaluation.evaluate(model, notes, RATE, shifts=(-5, 5), batch_size=2,
                                          progress=False)
    assert list(results["summary"]) == ["original", "reconstruction", "shift -5", "shift +5"]
    assert results["summary"]["shift +5"]["notes"] == 1  # 125 + 5 is no MIDI pitch
    assert results["summary"]["reconstruction"]["notes"] == 2
    assert len(played) == 5 and all(len(audio) == 64 for _, _, audio in played)
    assert np.isfinite(results["nll_bits"]) and results["nll_bits"] > 0
    for summary in results["summary"].values():  # 32 classes: at most 5 bits
        assert 0 < summary["spread_bits"] <= 5
    for row in results["notes"]:
        assert row["within"] == (row["cents"] is not None and abs(row["cents"]) <= 50)
        expected = row["pitch"] + {"shift -5": -5, "shift +5": 5}.get(row["condition"], 0)
        assert row["target_pitch"] == expected


def test_a_primed_note_starts_as_the_original_and_only_its_rest_is_measured():
    model = make_autoencoder(seed=4)
    rng = np.random.default_rng(5)
    notes = [evaluation.Note(f"n{i}", "flute", 60 + i, rng.uniform(-0.3, 0.3, 64).astype(
        np.float32)) for i in range(2)]
    results, played = evaluation.evaluate(model, notes, RATE, batch_size=2, progress=False,
                                          prime_seconds=16 / RATE)
    assert list(results["summary"]) == ["original", "reconstruction", "primed"]
    assert "log_mel_db" in results["summary"]["primed"]
    primed = [(note, audio) for condition, note, audio in played if condition == "primed"]
    assert len(primed) == 2
    for note, audio in primed:
        np.testing.assert_array_equal(audio[:16], mu_law.decode(mu_law.encode(
            note.audio[:16], 32), 32))
        assert not np.array_equal(audio[16:], mu_law.decode(mu_law.encode(note.audio[16:], 32),
                                                            32))
    with pytest.raises(WaveNetError, match="leaves nothing to play"):
        evaluation.evaluate(model, notes, RATE, progress=False, prime_seconds=64 / RATE)



# What evaluate measures, through decoders that play a known tone


def play(track):
    """Three harmonics along ``track``, the MIDI pitch of each sample (float32)."""
    phase = 2 * np.pi * np.cumsum(midi_to_hz(track)) / RATE
    return (0.3 * sum(np.sin(h * phase) / h for h in (1, 2, 3))).astype(np.float32)


class AudioAsZ:
    """Stands for an autoencoder: a note's z is its audio (one channel)."""

    config = SimpleNamespace(decoder=SimpleNamespace(n_classes=256))

    @staticmethod
    def encode(audio):
        return audio[:, None, :]

    @staticmethod
    def classes(audio):
        return mu_law.encode(audio, 256)


def decoding(monkeypatch, played):
    """Replace decoding with ``played(z audio, pitch asked)``; what was asked is recorded.
    A prime is played as it is, as the real decoder does."""
    asked = []

    def decode_all(model, zs, pitches, batch_size=1, temperature=1.0, seed=None,
                   progress=True, primes=None, top_p=1.0):
        asked.append([np.array(p, np.float64) for p in pitches])
        outputs = []
        for z, pitch, prime in zip(zs, pitches, primes or [None] * len(zs), strict=True):
            audio = played(z[0], np.broadcast_to(np.asarray(pitch, np.float64), z[0].shape))
            if prime is not None:
                audio[:len(prime)] = mu_law.decode(prime, 256)
            outputs.append(audio)
        return outputs

    monkeypatch.setattr(synthesis, "decode_all", decode_all)
    return asked


def held(name, pitch, seconds=1.0):
    return evaluation.Note(name, "flute", pitch, play(np.full(int(seconds * RATE), pitch)))


def sharp(z, pitch):
    return play(pitch + 1)


def as_asked(z, pitch):
    return play(pitch)


def ignoring_pitch(z, pitch):
    return z.copy()


def test_the_reconstruction_is_measured_on_what_the_decoder_played(monkeypatch):
    decoding(monkeypatch, sharp)
    notes = [held("a", 60), held("b", 67)]
    results, played = evaluation.evaluate(AudioAsZ(), notes, RATE, likelihood=False,
                                          progress=False)
    rows = [r for r in results["notes"] if r["condition"] == "reconstruction"]
    assert [r["cents"] for r in rows] == pytest.approx([100, 100], abs=10)
    assert not any(r["within"] for r in rows)
    assert results["summary"]["reconstruction"]["within_50_cents"] == 0.0
    originals = [r for r in results["notes"] if r["condition"] == "original"]
    assert all(r["within"] for r in originals)
    # The distance is of what was played against the original: a sharp tone is not 0 dB away.
    distances = [evaluations.log_mel_distance(audio, note.audio, RATE)
                 for condition, note, audio in played if condition == "reconstruction"]
    assert min(distances) > 1.0
    assert [r["log_mel_db"] for r in rows] == pytest.approx(distances)
    assert results["summary"]["reconstruction"]["log_mel_db"] == pytest.approx(
        np.mean(distances))


@pytest.mark.parametrize("played, within", [(as_asked, True), (ignoring_pitch, False)])
def test_shifted_rows_are_scored_against_the_shifted_pitch(monkeypatch, played, within):
    asked = decoding(monkeypatch, played)
    notes = [held("a", 60), held("b", 64)]
    results, _ = evaluation.evaluate(AudioAsZ(), notes, RATE, shifts=(-3, 4), likelihood=False,
                                     originals=False, progress=False)
    assert [[float(p) for p in call] for call in asked] == [[60, 64], [57, 61], [64, 68]]
    for condition in ("shift -3", "shift +4"):
        rows = [r for r in results["notes"] if r["condition"] == condition]
        assert len(rows) == 2 and all(r["within"] == within for r in rows), rows
    assert all(r["within"] for r in results["notes"] if r["condition"] == "reconstruction")


def test_a_shifted_melody_asks_the_decoder_for_its_track_moved_up(monkeypatch):
    asked = decoding(monkeypatch, as_asked)
    track = np.repeat([60.0, 64.0], RATE // 2)
    melody = evaluation.Note("m", "flute", 62, play(track), track=track,
                             melody_notes=((0.0, 0.5, 60), (0.5, 1.0, 64)))
    results, _ = evaluation.evaluate(AudioAsZ(), [melody], RATE, shifts=(2,), likelihood=False,
                                     originals=False, progress=False)
    np.testing.assert_array_equal(asked[0][0], track)
    np.testing.assert_array_equal(asked[1][0], track + 2)
    rows = [r for r in results["notes"] if r["condition"] == "shift +2"]
    assert [(r["note"], r["target_pitch"]) for r in rows] == [("m#0", 62), ("m#1", 66)]
    assert all(r["within"] for r in rows), rows


def test_a_primed_row_measures_the_continuation_only(monkeypatch):
    """The decoder plays the true prime (0.6 s), then a tone 100 cents sharp: measured
    from sample 0 the prime would outvote the continuation."""
    decoding(monkeypatch, sharp)
    note = held("a", 62)
    results, played = evaluation.evaluate(AudioAsZ(), [note], RATE, likelihood=False,
                                          originals=False, progress=False, prime_seconds=0.6)
    row, = [r for r in results["notes"] if r["condition"] == "primed"]
    assert row["cents"] == pytest.approx(100, abs=10) and not row["within"]
    audio, = [audio for condition, _, audio in played if condition == "primed"]
    assert row["log_mel_db"] == pytest.approx(
        evaluations.log_mel_distance(audio[9600:], note.audio[9600:], RATE))


def test_evaluate_command_end_to_end(tmp_path):
    render_nsynth(tmp_path / "notes", programs=(73, 56), pitches=(60, 64, 67),
                  fractions=(0.34, 0.33, 0.33), progress=False)
    tested = len(json.loads((tmp_path / "notes/nsynth-test/examples.json").read_text()))
    model = make_autoencoder(seed=3, encoder_settings=dict(hop=64), n_classes=256)
    model_path = tmp_path / "model.h5"
    snapshot.save(model_path, model, metadata={"sample_rate": RATE})
    out = tmp_path / "evaluation"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "sample/autoencoder.py", "evaluate", "--model", model_path,
               "--dataset", tmp_path / "notes", "--split", "test", "--seconds", "0.5",
               "--shift=-2,3", "--batch", "3", "--prime-seconds", "0.1", "--one-step",
               "--harmonic-filter", "2", "--out", out]
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    results = json.loads((out / "evaluation.json").read_text())
    assert (out / "evaluation.png").read_bytes()[:4] == b"\x89PNG"
    # Each note's original and its six versions, each with its spectrogram, on the page.
    assert len(list((out / "audio").glob("*.wav"))) == 7 * tested
    assert len(list((out / "audio").glob("*.png"))) == 7 * tested
    assert (out / "index.html").read_text().count("<audio") == 7 * tested
    assert results["settings"]["shifts"] == [-2, 3] and results["settings"]["one_step"]
    assert results["settings"]["harmonic_filter"] == 2
    assert "log_mel_db" in results["summary"]["one step"]
    assert "log_mel_db" in results["summary"]["filtered"]
    # The table printed is the JSON's summary.
    for condition, summary in results["summary"].items():
        row = next(line for line in result.stdout.splitlines()
                   if line.startswith(f"| {condition} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert int(cells[1]) == summary["notes"] == tested
        assert cells[2] == f"{summary['within_50_cents']:.0%}"
        assert cells[8] == ("-" if summary["spread_bits"] is None
                            else f"{summary['spread_bits']:.2f}")
    assert results["summary"]["filtered"]["spread_bits"] is None  # not drawn by the model
    assert results["summary"]["original"]["within_50_cents"] == 1.0
    assert f"{results['nll_bits']:.3f}" in result.stdout
    again = subprocess.run([str(c) for c in command], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "evaluation.json" in again.stderr


def test_a_tiny_autoencoder_learns_to_play_two_notes_at_their_pitch():
    """Like the 500 Hz tone test, with real notes: a flute E4 and a violin A4, 300 steps
    of a tiny autoencoder whose decoder reads its input two pitch periods back."""
    keys = [(73, 64), (40, 69)]
    with NoteRenderer() as renderer:
        audio = {key: renderer(*key, 100)[:RATE] for key in keys}
    model = trained_pitch_autoencoder([audio[key] for key in keys],
                                      [pitch for _, pitch in keys])
    notes = [evaluation.Note(f"{program}-{pitch}", "", pitch, audio[(program, pitch)][:RATE // 2])
             for program, pitch in keys]
    results, _ = evaluation.evaluate(model, notes, RATE, progress=False, likelihood=False,
                                     originals=False)
    assert results["summary"]["reconstruction"]["within_50_cents"] == 1.0, results["notes"]
    # The decoder is surer along the violin note it learned than along noise in its place
    # (2.3-2.6 bits against 2.9-3.4 for the models of seeds 0-4, at 1 and 2 threads).
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, RATE // 2).astype(np.float32)
    violin = notes[1].audio
    z = model.encode(violin)
    assert spread_bits(model, z, violin, 69) + 0.25 < spread_bits(model, z, noise, 69)
