"""Rendering notes from the bundled SoundFont, the pitch estimator that checks them, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainer_wavenet.audio.pitch_estimate import cents, estimate_f0, midi_to_hz
from chainer_wavenet.datasets import render
from chainer_wavenet.datasets.nsynth import FAMILIES, SOURCES, load_nsynth
from chainer_wavenet.errors import WaveNetError

REPO = Path(__file__).resolve().parent.parent
SR = 16000
T = np.arange(2 * SR) / SR


@pytest.fixture(scope="module")
def renderer():
    with render.NoteRenderer() as note_renderer:
        yield note_renderer


@pytest.mark.parametrize("pitch", [28, 40, 48, 57, 60, 69, 72, 84, 95])
def test_f0_of_a_sine(pitch):
    audio = 0.5 * np.sin(2 * np.pi * midi_to_hz(pitch) * T)
    assert abs(cents(estimate_f0(audio, SR), pitch)) < 5


@pytest.mark.parametrize("pitch", [36, 52, 61, 76, 90])
def test_f0_of_a_decaying_harmonic_tone_in_noise(pitch):
    f0 = midi_to_hz(pitch)
    harmonics = sum(np.sin(2 * np.pi * k * f0 * T + k) / k for k in range(1, 20) if k * f0 < SR / 2)
    envelope = np.minimum(T / 0.05, 1.0) * np.exp(-1.5 * T)
    noise = np.random.default_rng(pitch).normal(0.0, 0.003, len(T))
    audio = 0.3 * harmonics * envelope + noise
    assert abs(cents(estimate_f0(audio, SR), pitch)) < 5


def test_f0_of_noise_silence_and_short_input_is_nan():
    assert np.isnan(estimate_f0(np.random.default_rng(0).normal(size=SR), SR))
    assert np.isnan(estimate_f0(np.zeros(SR), SR))
    assert np.isnan(estimate_f0(np.ones(100), SR))


def test_f0_refuses_stereo_and_a_bad_range():
    with pytest.raises(WaveNetError, match="mono"):
        estimate_f0(np.zeros((SR, 2)), SR)
    with pytest.raises(WaveNetError, match="fmax"):
        estimate_f0(np.zeros(SR), SR, fmax=9000)


@pytest.mark.parametrize(
    "program, family, source",
    [(0, "keyboard", "acoustic"), (4, "keyboard", "electronic"), (11, "mallet", "acoustic"),
     (19, "organ", "acoustic"), (27, "guitar", "electronic"), (32, "bass", "acoustic"),
     (38, "bass", "synthetic"), (40, "string", "acoustic"), (48, "string", "acoustic"),
     (53, "vocal", "acoustic"), (56, "brass", "acoustic"), (65, "reed", "acoustic"),
     (73, "flute", "acoustic"), (81, "synth_lead", "synthetic"), (90, "synth_lead", "synthetic"),
     (105, "guitar", "acoustic"), (110, "string", "acoustic"), (116, "mallet", "acoustic")],
)  # fmt: skip
def test_gm_program_labels(program, family, source):
    assert FAMILIES[render.family(program)] == family
    assert SOURCES[render.source(program)] == source


def test_sound_effects_programs_are_refused():
    with pytest.raises(WaveNetError, match="program 122: .*sound effects"):
        render.family(122)


@pytest.mark.parametrize("program", [0, 40, 56, 73])
@pytest.mark.parametrize("pitch", [48, 60, 72])
def test_rendered_note_sounds_at_its_pitch(renderer, program, pitch):
    audio = renderer(program, pitch, 100)
    assert audio.dtype == np.float32 and audio.shape == (64000,)
    assert 0.02 < np.abs(audio).max() < 1.0
    held, tail = np.abs(audio[: 3 * SR]).max(), np.abs(audio[-SR // 10 :]).max()
    assert tail < held / 4, "the note is released before 4 s"
    assert abs(cents(estimate_f0(audio[: 3 * SR], SR), pitch)) < 50


def test_a_note_depends_only_on_program_pitch_velocity(renderer):
    first = renderer(24, 55, 90)
    renderer(40, 72, 127)
    np.testing.assert_array_equal(renderer(24, 55, 90), first)
    assert np.abs(renderer(24, 55, 40)).max() < np.abs(first).max()


@pytest.mark.parametrize("program, pitch", [(67, 84), (65, 64), (113, 96)])
def test_silent_pairs_of_timgm6mb_are_detected(renderer, program, pitch):
    assert render.is_silent(renderer(program, pitch, 100))
    assert not render.is_silent(renderer(program, 60 if program != 65 else 62, 100))


def test_soundfont_errors(tmp_path):
    with pytest.raises(WaveNetError, match="missing.sf2: SoundFont file not found"):
        render.NoteRenderer(tmp_path / "missing.sf2")
    (tmp_path / "text.sf2").write_text("not a soundfont")
    with pytest.raises(WaveNetError, match="text.sf2: FluidSynth cannot load it"):
        render.NoteRenderer(tmp_path / "text.sf2")
    assert not any(tmp_path.glob("out*"))


def read_split(out, split):
    return json.loads((out / f"nsynth-{split}" / "examples.json").read_text())


def test_render_skips_silent_notes_and_splits_the_rest(tmp_path):
    out = tmp_path / "set"
    summary = render.render_nsynth(
        out, programs=[0, 67], pitches=[60, 72, 84], velocities=[80, 100], progress=False
    )
    assert sorted(summary.silent) == ["reed_tim_067-084-080", "reed_tim_067-084-100"]
    assert summary.counts == {"train": 8, "valid": 1, "test": 1}
    splits = {s: read_split(out, s) for s in ("train", "valid", "test")}
    names = [n for examples in splits.values() for n in examples]
    assert len(names) == len(set(names)) == 10
    assert not any(name in names for name in summary.silent)
    for split, examples in splits.items():
        wavs = sorted(p.stem for p in (out / f"nsynth-{split}" / "audio").iterdir())
        assert wavs == sorted(examples)
    assert sorted(p.name for p in out.iterdir()) == ["nsynth-test", "nsynth-train", "nsynth-valid"]
    record = {**splits["train"], **splits["valid"], **splits["test"]}["keyboard_tim_000-072-100"]
    assert record["instrument_str"] == "keyboard_tim_000" and record["instrument_family"] == 4
    assert (record["pitch"], record["velocity"], record["sample_rate"]) == (72, 100, 16000)

    with pytest.raises(WaveNetError, match="not empty; pass --force"):
        render.render_nsynth(out, programs=[0], pitches=[60, 62, 64], progress=False)
    again = render.render_nsynth(
        out, programs=[0, 67], pitches=[60, 72, 84], velocities=[80, 100], force=True,
        progress=False,
    )  # fmt: skip
    assert again.counts == summary.counts
    assert {s: read_split(out, s) for s in splits} == splits, "same seed, same split"
    render.render_nsynth(out, programs=[0], pitches=[60, 62, 64], seed=1, force=True,
                         progress=False)  # fmt: skip
    assert sum(len(read_split(out, s)) for s in splits) == 3, "force replaces the old dataset"


def test_too_few_audible_notes(tmp_path):
    with pytest.raises(WaveNetError, match="only 1 audible notes \\(2 silent notes skipped\\)"):
        render.render_nsynth(tmp_path / "o", programs=[67], pitches=[60, 84, 86], progress=False)
    assert list((tmp_path / "o").iterdir()) == []
    with pytest.raises(WaveNetError, match="only 2 audible instruments"):
        render.render_nsynth(tmp_path / "o", programs=[0, 40], pitches=[60, 62],
                             split_by="instrument", progress=False)


def test_split_by_instrument_keeps_each_instrument_in_one_split(tmp_path):
    out = tmp_path / "set"
    summary = render.render_nsynth(out, programs=[0, 24, 40, 73], pitches=[60, 64],
                                   split_by="instrument", progress=False)
    assert summary.counts == {"train": 4, "valid": 2, "test": 2}
    instruments = {split: {r["instrument"] for r in read_split(out, split).values()}
                   for split in ("train", "valid", "test")}
    assert [len(programs) for programs in instruments.values()] == [2, 1, 1]
    assert set.union(*instruments.values()) == {0, 24, 40, 73}


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "train/render_nsynth.py", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_writes_a_dataset_that_loads_back(tmp_path, renderer):
    out = tmp_path / "tiny"
    result = run_cli("--out", str(out), "--programs", "0,40", "--pitches", "60:64:4")
    assert result.returncode == 0, result.stderr
    assert "train 2, valid 1, test 1 notes; 0 silent skipped" in result.stdout
    notes = [n for s in ("train", "valid", "test") for n in load_nsynth(out, s).notes]
    assert sorted(n.note_str for n in notes) == [
        "keyboard_tim_000-060-100", "keyboard_tim_000-064-100",
        "string_tim_040-060-100", "string_tim_040-064-100",
    ]  # fmt: skip
    violin = next(n for n in notes if n.note_str == "string_tim_040-064-100")
    dataset = load_nsynth(violin.path.parent.parent, families="string")
    i = [n.note_str for n in dataset.notes].index(violin.note_str)
    np.testing.assert_allclose(dataset.audio(i), renderer(40, 64, 100), atol=1 / 32767)

    again = run_cli("--out", str(out), "--programs", "0")
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and "--force" in again.stderr
    assert "Traceback" not in again.stderr


def test_cli_refuses_bad_lists(tmp_path):
    result = run_cli("--out", str(tmp_path / "x"), "--pitches", "60,sixty")
    assert result.returncode == 2 and "--pitches" in result.stderr
    result = run_cli("--out", str(tmp_path / "x"), "--velocities", "0")
    assert result.returncode == 2
    assert "error: velocities: values must lie in 1..127" in result.stderr
