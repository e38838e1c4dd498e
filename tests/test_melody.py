"""Melodies: built-in tunes, MIDI files, pitch tracks, renders in the NSynth layout, and a
decoder that follows a pitch track."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet import evaluations
from chainer_wavenet.audio import pitch_track
from chainer_wavenet.audio.pitch_signal import harmonic_signal, midi_to_hz
from chainer_wavenet.datasets import melody
from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.datasets.melody_render import render_melodies
from chainer_wavenet.datasets.nsynth import load_nsynth
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.sampling import evaluation, inputs as sampling_inputs, synthesis

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
SHORT = [melody.MelodyNote(0.0, 0.4, 64), melody.MelodyNote(0.5, 0.9, 69)]


def write_notes(path, notes_by_instrument):
    midi = pretty_midi.PrettyMIDI()
    for program, notes in notes_by_instrument:
        instrument = pretty_midi.Instrument(program=program)
        instrument.notes = [pretty_midi.Note(100, p, s, e) for s, e, p in notes]
        midi.instruments.append(instrument)
    midi.write(str(path))
    return path


@pytest.mark.parametrize("name", sorted(melody.BUILTIN))
def test_builtin_tunes_are_one_voice_and_survive_a_midi_round_trip(name, tmp_path):
    notes = melody.builtin(name)
    assert all(a.end <= b.start for a, b in zip(notes[:-1], notes[1:], strict=True))
    read = melody.read_midi(melody.write_midi(notes, tmp_path / f"{name}.mid"))
    assert [n.pitch for n in read] == [n.pitch for n in notes]
    np.testing.assert_allclose([n.start for n in read], [n.start for n in notes], atol=2e-3)
    np.testing.assert_allclose([n.end for n in read], [n.end for n in notes], atol=2e-3)


def test_a_polyphonic_file_is_refused_unless_its_top_voice_is_asked_for(tmp_path):
    path = write_notes(tmp_path / "chords.mid",
                       [(0, [(0.0, 1.0, 60), (0.0, 1.0, 64), (1.0, 2.0, 62)]),
                        (40, [(0.5, 1.5, 67)])])
    with pytest.raises(WaveNetError, match=r"chords\.mid.*polyphonic.*--top-voice"):
        melody.read_midi(path)
    top = melody.read_midi(path, top_voice=True)
    assert [(round(n.start, 3), round(n.end, 3), n.pitch) for n in top] == [
        (0.0, 0.5, 64), (0.5, 1.5, 67), (1.5, 2.0, 62)]


def test_drums_are_left_out_and_bad_files_named(tmp_path):
    midi = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(100, 36, 0.0, 0.5)]
    midi.instruments.append(drums)
    midi.write(str(tmp_path / "drums.mid"))
    with pytest.raises(WaveNetError, match=r"drums\.mid: holds no pitched note"):
        melody.read_midi(tmp_path / "drums.mid")
    (tmp_path / "broken.mid").write_bytes(b"MThd not really")
    with pytest.raises(WaveNetError, match=r"broken\.mid: not a readable MIDI file"):
        melody.read_midi(tmp_path / "broken.mid")
    with pytest.raises(WaveNetError, match=r"missing\.mid: MIDI file not found"):
        melody.read_midi(tmp_path / "missing.mid")
    with pytest.raises(WaveNetError, match="unknown built-in melody"):
        melody.builtin("greensleeves")


def test_a_track_from_notes_marks_rests_and_fills_them_for_the_decoder():
    track = pitch_track.from_notes([(0.0, 0.1, 60), (0.15, 0.3, 62)], 0.35)
    assert len(track) == 35
    assert (track[:10] == 60).all() and np.isnan(track[10:15]).all()
    assert (track[15:30] == 62).all() and np.isnan(track[30:]).all()
    filled = pitch_track.fill_rests(track)
    assert (filled[10:15] == 60).all() and (filled[30:] == 62).all()
    leading = pitch_track.fill_rests([np.nan, np.nan, 55.0, np.nan])
    np.testing.assert_array_equal(leading, [55, 55, 55, 55])
    samples = pitch_track.per_sample(filled, 5000, RATE)
    assert samples[0] == 60 and samples[1600] == 60 and samples[2400] == 62
    with pytest.raises(WaveNetError, match="no frame has a pitch"):
        pitch_track.fill_rests([np.nan, np.nan])


def test_each_frame_holds_its_pitch_for_exactly_its_samples():
    track = np.array([60.0, 61.0, 62.0, 63.0])
    np.testing.assert_array_equal(pitch_track.per_sample(track, 640, RATE),
                                  np.repeat(track, 160))
    np.testing.assert_array_equal(pitch_track.per_sample(track, 700, RATE)[600:], 63.0)


def play(track):
    """Three harmonics along ``track``, the MIDI pitch of each sample (float32)."""
    phase = 2 * np.pi * np.cumsum(midi_to_hz(track)) / RATE
    return (0.3 * sum(np.sin(h * phase) / h for h in (1, 2, 3))).astype(np.float32)


@pytest.mark.slow
def test_a_tracked_frame_describes_its_own_time():
    """Track frame f holds the pitch around (f + 0.5) / 100 s. pYIN's frame is centred
    half a frame earlier and, on a glide, leans sharp: a rising and a falling glide of 24
    semitones a second put both apart (error rising = -24 * lag - bias, falling =
    +24 * lag - bias). The lag, in frames, must be about +0.5; a track one frame early
    shows -0.5."""
    t = (np.arange(RATE) + 1) / RATE
    errors = []
    for slope, start in ((24, 55), (-24, 79)):
        track = pitch_track.estimate(play(start + slope * t), RATE)
        centres = (np.arange(len(track)) + 0.5) / pitch_track.FRAME_RATE
        errors.append(np.mean((track - (start + slope * centres))[20:80]))
    rising, falling = errors
    lag_frames = (falling - rising) / 2 / 24 * pitch_track.FRAME_RATE
    assert 0.3 < lag_frames < 0.7, errors


def test_the_track_is_searched_only_in_the_range_asked():
    """Two tones at once, MIDI 45 and 74: between 60 and 90 only 74 is found. The 74
    alone, searched between 36 and 56: nothing above 56."""
    tone = play(np.full(RATE, 74.0))
    upper = pitch_track.estimate(play(np.full(RATE, 45.0)) + tone, RATE, lowest=60, highest=90)
    assert np.nanmedian(upper) == pytest.approx(74, abs=0.5)
    assert np.isfinite(upper).mean() > 0.8
    lower = pitch_track.estimate(tone, RATE, lowest=36, highest=56)
    assert (lower[np.isfinite(lower)] < 56.5).all(), lower


def test_a_held_track_gives_the_held_note_signal_and_a_changing_one_keeps_its_phase():
    held = harmonic_signal([60], 3000, RATE, 3)
    tracked = harmonic_signal(np.full((1, 3000), 60.0), 3000, RATE, 3)
    np.testing.assert_allclose(tracked, held, atol=1e-5)
    glide = harmonic_signal(np.linspace(60, 72, 3000)[None], 3000, RATE, 1)
    # A continuous phase: consecutive samples of the fundamental differ by at most its step.
    step = 2 * np.pi * 523.3 / RATE
    assert np.abs(np.diff(glide[0, 0])).max() <= step * 1.01


def test_a_held_track_plays_exactly_as_its_note():
    """Existing snapshots keep sounding the same: a constant track is the note itself."""
    model = make_autoencoder(seed=3, pitch_lags=2)
    z = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    track = np.repeat(np.array([[60.0], [67.0]]), 3 * model.hop, axis=1)
    as_notes = synthesis.decode(model, z, [60, 67], seed=5, progress=False)
    as_track = synthesis.decode(model, z, track, seed=5, progress=False)
    np.testing.assert_array_equal(as_track, as_notes)
    x = np.random.default_rng(1).integers(0, 32, (2, 3 * model.hop)).astype(np.int32)
    assert float(model.loss(x, track).array) == float(model.loss(x, np.array([60, 67])).array)


def test_a_track_reaches_the_decoder_only_from_the_frame_it_changes_in():
    model = make_autoencoder(seed=4)
    hop = model.hop
    x = np.random.default_rng(2).integers(0, 32, (1, 4 * hop)).astype(np.int32)
    track = np.full((1, 4 * hop), 60.0)
    changed = track.copy()
    changed[:, 2 * hop:] = 65.0
    z = model.encoder(x).array
    before, after = (model.decoder(x[:, :-1], model.pitch_ids(t), z).array
                     for t in (track, changed))
    differs = np.flatnonzero(np.abs(before - after).max(axis=1)[0] > 1e-6)
    # Output j predicts sample j + receptive_field from inputs up to j + receptive_field - 1.
    first_changed_input = 2 * hop - model.receptive_field + 1
    assert differs.min() == max(0, first_changed_input)


def test_decode_refuses_tracks_out_of_range_or_too_short():
    model = make_autoencoder()
    z = np.zeros((1, 4, 2), np.float32)
    with pytest.raises(WaveNetError, match="pitches must lie in 0..127"):
        synthesis.decode(model, z, np.full((1, 2 * model.hop), 130.0), progress=False)
    with pytest.raises(WaveNetError, match="do not cover"):
        synthesis.decode(model, z, np.full((1, model.hop), 60.0), progress=False)


def test_crops_carry_each_sample_pitch_under_the_loss_argument_name():
    classes = [np.arange(3000) % 32]
    track = np.linspace(40, 80, 3000, dtype=np.float32)[None]
    crops = Crops(classes, 100, 412, n_classes=32, features=[track], feature_key="pitch")
    example = crops[1]
    assert set(example) == {"x", "pitch"}
    np.testing.assert_array_equal(example["pitch"][0], track[0, 412:412 + 512])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("melodies") / "melody"
    summary = render_melodies(out, [("short", SHORT)], programs=(40, 56, 73),
                              transpositions=(0, 5), progress=False)
    return out, summary


def test_render_writes_the_nsynth_layout_with_pitch_tracks_split_by_program(rendered):
    out, summary = rendered
    assert summary.counts == {"train": 2, "valid": 2, "test": 2} and not summary.silent
    programs = {}
    for split in ("train", "valid", "test"):
        examples = json.loads((out / f"nsynth-{split}" / "examples.json").read_text())
        programs[split] = {r["instrument"] for r in examples.values()}
        for name, record in examples.items():
            assert (out / f"nsynth-{split}" / "audio" / f"{name}.wav").is_file()
            assert record["pitch_track"]["frame_rate"] == 100
            assert record["melody"] in ("short", "short+5")
            # NSynth's pitch label of a melody is its median note (64 and 69: 66).
            assert record["pitch"] == {"short": 66, "short+5": 71}[record["melody"]]
    assert len(set.union(*programs.values())) == 3
    assert all(len(p) == 1 for p in programs.values())
    data = load_nsynth(out, "train")
    note = next(n for n in data.notes if n.note_str.endswith("short+5"))
    assert note.melody_notes == ((0.0, 0.4, 69), (0.5, 0.9, 74))
    assert np.isnan(note.pitch_track[45]) and note.pitch_track[60] == 74
    assert len(note.pitch_track) == 190  # 0.9 s of notes and 1 s of release
    track = data.decoder_pitch(data.notes.index(note), 16000)
    assert track.shape == (16000,) and track[0] == 69 and track[12000] == 74


@pytest.mark.slow
def test_rendered_melodies_play_their_midi_pitches(rendered):
    out, _ = rendered
    data = load_nsynth(out, "train")
    for i, note in enumerate(data.notes):
        measures = evaluations.measure_melody(data.audio(i), RATE, note.melody_notes)
        assert all(m.within for m in measures), (note.note_str, measures)


def test_a_split_of_notes_and_melodies_mixed_is_refused(rendered, tmp_path):
    out, _ = rendered
    folder = tmp_path / "mixed"
    (folder / "audio").mkdir(parents=True)
    examples = json.loads((out / "nsynth-train" / "examples.json").read_text())
    first = dict(next(iter(examples.values())))
    note = {k: v for k, v in first.items()
            if k not in ("pitch_track", "melody_notes", "melody")}
    for name, record in (("a", first), ("b", note)):
        (folder / "audio" / f"{name}.wav").write_bytes(
            (out / "nsynth-train" / "audio" / f"{first['note_str']}.wav").read_bytes())
        examples = {**(json.loads((folder / "examples.json").read_text())
                       if (folder / "examples.json").exists() else {}), name: record}
        (folder / "examples.json").write_text(json.dumps(examples))
    with pytest.raises(WaveNetError, match="1 of 2 notes have a pitch track"):
        load_nsynth(folder).has_tracks  # noqa: B018


@pytest.mark.parametrize("track, problem", [
    ({"frame_rate": 0, "midi": [60]}, "frame_rate must be a positive integer"),
    ({"frame_rate": 100, "midi": [None, None]}, "needs MIDI pitches in 0..127"),
    ({"frame_rate": 100, "midi": [200]}, "needs MIDI pitches in 0..127"),
    ({"midi": [60]}, "expected"),
])
def test_a_bad_pitch_track_is_named(rendered, tmp_path, track, problem):
    out, _ = rendered
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "audio").symlink_to(out / "nsynth-train" / "audio")
    examples = json.loads((out / "nsynth-train" / "examples.json").read_text())
    name = next(iter(examples))
    examples[name]["pitch_track"] = track
    (folder / "examples.json").write_text(json.dumps(examples))
    with pytest.raises(WaveNetError, match=f"note '{name}' has a bad pitch_track.*{problem}"):
        load_nsynth(folder)


@pytest.mark.slow
def test_render_melody_command_end_to_end(tmp_path):
    midi = melody.write_midi(SHORT, tmp_path / "short.mid")
    command = [sys.executable, str(ROOT / "train" / "render_melody.py"), "--midi", str(midi),
               "--programs", "0,40,73", "--out", str(tmp_path / "data")]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "train 1, valid 1, test 1 renders of 1 melody" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 2 and "output folder is not empty" in again.stderr
    write = subprocess.run([sys.executable, str(ROOT / "train" / "render_melody.py"),
                            "--write-midi", "frere-jacques", "--out", str(tmp_path / "fj.mid")],
                           capture_output=True, text=True, check=True)
    assert "fj.mid" in write.stdout
    assert len(melody.read_midi(tmp_path / "fj.mid")) == len(melody.BUILTIN["frere-jacques"])


def test_dataset_notes_are_picked_by_name_pattern(rendered):
    out, _ = rendered
    notes = sampling_inputs.select_notes(dataset=out, split="train", names=["*+5", "*+5"])
    assert len(notes) == 1 and notes[0].name.endswith("-short+5")
    with pytest.raises(WaveNetError, match=r"has no note '\*-nothing'"):
        sampling_inputs.select_notes(dataset=out, split="train", names=["*-nothing"])


@pytest.mark.slow
def test_track_pitch_gives_recordings_the_tracks_their_midi_would(rendered, tmp_path):
    out, _ = rendered
    folder = tmp_path / "recorded"
    (folder / "audio").mkdir(parents=True)
    examples = json.loads((out / "nsynth-valid" / "examples.json").read_text())
    midi_tracks = {}
    for name, record in examples.items():
        midi_tracks[name] = np.array([np.nan if p is None else p
                                      for p in record.pop("pitch_track")["midi"]])
        (folder / "audio" / f"{name}.wav").write_bytes(
            (out / "nsynth-valid" / "audio" / f"{name}.wav").read_bytes())
    (folder / "examples.json").write_text(json.dumps(examples))
    assert not load_nsynth(folder).has_tracks
    command = [sys.executable, str(ROOT / "train" / "track_pitch.py"), "--dataset", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"{len(examples)} pitch tracks measured" in done.stdout
    data = load_nsynth(folder)
    assert data.has_tracks
    for note in data.notes:
        wanted = midi_tracks[note.note_str]
        both = np.isfinite(wanted) & np.isfinite(note.pitch_track)
        assert both.sum() > 0.8 * np.isfinite(wanted).sum()
        assert np.mean(np.abs(note.pitch_track[both] - wanted[both]) < 0.5) > 0.95
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert f"0 pitch tracks measured, {len(examples)} records unchanged" in again.stdout


@pytest.mark.slow
def test_evaluate_measures_each_note_of_a_melody(rendered):
    out, _ = rendered
    data = load_nsynth(out, "train")
    i = next(k for k, n in enumerate(data.notes) if n.note_str.endswith("-short"))
    note = data.notes[i]
    model = make_autoencoder(seed=5, encoder_settings=dict(hop=160))
    audio = data.audio(i)[:16000]
    melody_note = evaluation.Note(note.note_str, note.family_str, note.pitch, audio,
                                  data.decoder_pitch(i, len(audio)), note.melody_notes)
    results, played = evaluation.evaluate(model, [melody_note], RATE, shifts=(2,), seed=0,
                                          progress=False, likelihood=True)
    rows = {(r["condition"], r["note"]): r for r in results["notes"]}
    assert {name for _, name in rows} == {f"{note.note_str}#0", f"{note.note_str}#1"}
    assert all(rows["original", f"{note.note_str}#{k}"]["within"] for k in (0, 1))
    assert [rows["shift +2", f"{note.note_str}#{k}"]["target_pitch"] for k in (0, 1)] == [
        p + 2 for _, _, p in note.melody_notes]
    assert results["summary"]["reconstruction"]["notes"] == 2
    assert np.isfinite(results["nll_bits"]) and len(played) == 2
