"""The sample commands end to end: the real scripts in a subprocess, on tiny snapshots."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
from devices import refusal_reason, unusable_gpu
from model_fixtures import make_autoencoder, make_wavenet

from chainer_wavenet import snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.sampling import synthesis

# End-to-end runs of the scripts: the NumPy 1.26 line leaves them out (see Makefile).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
HOP = 16
NOTE_SAMPLES = 4000  # 0.25 s
NOTES = (("flute_synthetic_001-067-075", 67, 2), ("guitar_acoustic_000-060-100", 60, 3),
         ("guitar_acoustic_000-064-100", 64, 3))
FAMILIES = {2: "flute", 3: "guitar"}
# Decoding at a tiny temperature is the decoder's own most likely continuation: what the
# commands write is compared with what the library computes here from the same snapshot.
SHARP = ("--temperature", 1e-4, "--seed", 5)


def run(script, *args):
    """Run sample/<script>.py from the repository root, as a user would, without installing."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, f"sample/{script}.py", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def refused(result, *fragments):
    """Exit 2 with one `error: ...` line naming each fragment, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def wav(path):
    samples, rate = soundfile.read(path, dtype="float32")
    assert rate == RATE
    assert path.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    return samples


def assert_written(path, expected):
    """The WAV at ``path`` holds ``expected`` to 16-bit precision."""
    np.testing.assert_allclose(wav(path), expected, rtol=0, atol=1.01 / 32768)


def note_audio(dataset, index, samples=NOTE_SAMPLES):
    return read_wav(dataset / "audio" / f"{NOTES[index][0]}.wav")[:samples]


def decoded(path, zs, pitches):
    """The library's decoding of ``zs`` at ``pitches`` with the snapshot at ``path``."""
    return synthesis.decode(snapshot.load(path), np.stack(zs), pitches, temperature=1e-4,
                            seed=5, progress=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    saved = {
        "wavenet": (make_wavenet(seed=1), {"sample_rate": RATE}),
        "speakers": (make_wavenet(seed=2, n_global=3),
                     {"sample_rate": RATE, "speakers": ["alice", "bob", "carol"]}),
        "autoencoder": (make_autoencoder(seed=3, encoder_settings=dict(hop=HOP)),
                        {"sample_rate": RATE}),
    }
    for name, (model, metadata) in saved.items():
        snapshot.save(folder / f"{name}.h5", model, metadata)
    return {name: folder / f"{name}.h5" for name in saved}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three sine notes of 0.25 s in the NSynth layout."""
    folder = tmp_path_factory.mktemp("nsynth")
    (folder / "audio").mkdir()
    examples = {}
    t = np.arange(NOTE_SAMPLES) / RATE
    for name, pitch, family in NOTES:
        tone = 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t)
        write_wav(folder / "audio" / f"{name}.wav", tone, RATE)
        instrument = name.split("-")[0]
        examples[name] = dict(
            note_str=name, pitch=pitch, velocity=int(name[-3:]), instrument=1,
            instrument_str=instrument, instrument_family=family,
            instrument_family_str=FAMILIES[family], instrument_source=2 if "synth" in name else 0,
            instrument_source_str="synthetic" if "synth" in name else "acoustic",
            sample_rate=RATE, qualities=[0] * 10)
    (folder / "examples.json").write_text(json.dumps(examples))
    return folder


# sample/wavenet.py


def test_wavenet_writes_files(models, tmp_path):
    result = ok(run("wavenet", "--model", models["wavenet"], "--out", tmp_path, "--length",
                    "0.05s", "--batch", 2, "--seed", 7))
    assert "samples/s" in result.stdout and "sample_001.wav" in result.stdout
    assert [len(wav(tmp_path / f"sample_{i:03d}.wav")) for i in range(2)] == [800, 800]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sample_000.png", "sample_000.wav", "sample_001.png", "sample_001.wav"]


def test_wavenet_takes_seconds_as_the_other_commands_and_warns_of_a_bare_count(models,
                                                                              tmp_path):
    ok(run("wavenet", "--model", models["wavenet"], "--out", tmp_path, "--seconds", 0.01))
    assert len(wav(tmp_path / "sample_000.wav")) == 160
    result = ok(run("wavenet", "--model", models["wavenet"], "--out", tmp_path, "--length", 5))
    assert "--length 5 is 5 samples" in result.stderr and "receptive field" in result.stderr
    assert "--seconds 5" in result.stderr
    quiet = ok(run("wavenet", "--model", models["wavenet"], "--out", tmp_path, "--length", 8))
    assert "warning" not in quiet.stderr


def test_help_and_names_say_what_each_model_and_command_is(models, tmp_path):
    assert "evaluate" in ok(run("wavenet", "--help")).stdout
    played = ok(run("wavenet", "--model", models["wavenet"], "--out", tmp_path, "--length", 8))
    assert played.stdout.startswith("WaveNet: autoregressive") and "teacher" not in played.stdout
    refused(run("autoencoder", "transfer", "--model", models["autoencoder"], "--melody",
                "ode-to-joy", "--out", tmp_path), "--timbre")


@pytest.mark.parametrize("midi, warned", [((60, 64, 67), True), ((60,), False), ((45,), False)])
def test_a_chord_s_estimated_pitch_is_flagged_and_a_note_s_is_not(models, tmp_path, midi,
                                                                   warned):
    t = np.arange(RATE) / RATE
    tone = sum(0.5 ** k * np.sin(2 * np.pi * k * 440 * 2 ** ((m - 69) / 12) * t)
               for m in midi for k in (1, 2, 3)) / (2 * len(midi))
    write_wav(tmp_path / "in.wav", tone, RATE)
    result = ok(run("autoencoder", "reconstruct", "--model", models["autoencoder"],
                    tmp_path / "in.wav", "--seconds", 0.01, "--out", tmp_path / "out"))
    assert "pitch estimated as MIDI" in result.stdout
    assert ("may be a chord" in result.stderr and "--pitch" in result.stderr) == warned


def test_wavenet_prime_and_speaker(models, tmp_path):
    prime = np.linspace(-0.5, 0.5, 300)
    write_wav(tmp_path / "prime.wav", prime, RATE)
    ok(run("wavenet", "--model", models["speakers"], "--out", tmp_path / "out", "--length", 50,
           "--speaker", "bob", "--prime", tmp_path / "prime.wav", "--prime-length", 100,
           "--seed", 3))
    samples = wav(tmp_path / "out" / "sample_000.wav")
    assert len(samples) == 150
    expected = mu_law.decode(mu_law.encode(prime[:100], 32), 32)  # the tiny model's classes
    np.testing.assert_allclose(samples[:100], expected, atol=1 / 32768)
    model = snapshot.load(models["speakers"])
    primed = mu_law.encode(read_wav(tmp_path / "prime.wav")[:100], 32)
    as_bob = synthesis.sample_audio(model, 50, speaker=1, prime=primed, seed=3, progress=False)
    as_alice = synthesis.sample_audio(model, 50, speaker=0, prime=primed, seed=3, progress=False)
    assert not np.array_equal(as_bob, as_alice)
    assert_written(tmp_path / "out" / "sample_000.wav", as_bob[0])


def test_bad_input_is_one_line_and_exit_2(models, tmp_path):
    missing = tmp_path / "no_model.h5"
    refused(run("wavenet", "--model", missing), str(missing))
    common = ("--model", models["wavenet"], "--out", tmp_path)
    refused(run("wavenet", *common, "--temperature", 0), "--temperature")
    refused(run("wavenet", *common, "--gpu", unusable_gpu()), f"--gpu {unusable_gpu()}",
            refusal_reason())
    refused(run("wavenet", "--model", models["speakers"], "--out", tmp_path, "--speaker", "dave"),
            "dave", "0 = alice, 1 = bob, 2 = carol")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_and_a_new_name_taken_unless_force(models, tmp_path):
    existing = tmp_path / "sample_000.wav"
    existing.write_bytes(b"my recording")
    common = ("--model", models["wavenet"], "--out", tmp_path, "--length", 20)
    for temperature, name in ((1.0, "sample_000_2"), (0.5, "sample_000_3")):
        result = ok(run("wavenet", *common, "--temperature", temperature))
        assert f"{name}.wav" in result.stdout and len(wav(tmp_path / f"{name}.wav")) == 20
    assert existing.read_bytes() == b"my recording"
    ok(run("wavenet", *common, "--force"))
    assert len(wav(existing)) == 20


def test_a_temperature_sweep_of_reconstructions_keeps_every_take(models, dataset, tmp_path):
    note = dataset / "audio" / f"{NOTES[0][0]}.wav"
    for temperature in (1.0, 0.5, 0.1):
        ok(run("autoencoder", "reconstruct", "--model", models["autoencoder"], note,
               "--seconds", 0.01, "--temperature", temperature, "--out", tmp_path))
    stem = f"{NOTES[0][0]}_reconstruction"
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == [
        f"{stem}.wav", f"{stem}_2.wav", f"{stem}_3.wav"]


# sample/autoencoder.py


def test_encode_dataset_to_h5(models, dataset, tmp_path):
    ok(run("autoencoder", "encode", "--model", models["autoencoder"], "--dataset", dataset,
           "--out", tmp_path, "--batch", 2))
    with h5py.File(tmp_path / "embeddings.h5", "r") as f:
        assert f["z"].shape == (3, 4, NOTE_SAMPLES // HOP)
        assert [n.decode() for n in f["names"][:]] == [n[0] for n in NOTES]
        assert f["pitches"][:].tolist() == [n[1] for n in NOTES]
        stored = f["z"][:]
    model = snapshot.load(models["autoencoder"])
    for index, z in enumerate(stored):
        np.testing.assert_allclose(z, model.encode(note_audio(dataset, index)), rtol=1e-5,
                                   atol=1e-6)


def test_encode_wavs_to_npy(models, dataset, tmp_path):
    ok(run("autoencoder", "encode", "--model", models["autoencoder"], "--format", "npy",
           "--seconds", 0.1, "--out", tmp_path, *sorted((dataset / "audio").iterdir())[:2]))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n[0]}.npy" for n in NOTES[:2]]
    assert np.load(tmp_path / f"{NOTES[0][0]}.npy").shape == (4, 1600 // HOP)


def test_decode_plays_edited_embeddings_at_their_stored_or_given_pitch(models, dataset,
                                                                     tmp_path):
    ok(run("autoencoder", "encode", "--model", models["autoencoder"], "--dataset", dataset,
           "--seconds", 0.05, "--out", tmp_path / "z"))
    embeddings = tmp_path / "z" / "embeddings.h5"
    with h5py.File(embeddings, "r+") as f:
        f["z"][...] = f["z"][:] * 0.5
        edited = f["z"][:]
    ok(run("autoencoder", "decode", "--model", models["autoencoder"], "--z", embeddings,
           "--limit", 2, "--out", tmp_path / "out", *SHARP))
    expected = decoded(models["autoencoder"], list(edited[:2]), [NOTES[0][1], NOTES[1][1]])
    for (name, _, _), audio in zip(NOTES[:2], expected, strict=True):
        assert_written(tmp_path / "out" / f"{name}_decoded.wav", audio)
    assert len(list((tmp_path / "out").iterdir())) == 4
    np.save(tmp_path / "note.npy", edited[2])
    refused(run("autoencoder", "decode", "--model", models["autoencoder"], "--z",
                tmp_path / "note.npy", "--out", tmp_path / "npy"), "--pitch", "note.npy")
    ok(run("autoencoder", "decode", "--model", models["autoencoder"], "--z",
           tmp_path / "note.npy", "--pitch", 50, "--out", tmp_path / "npy", *SHARP))
    assert_written(tmp_path / "npy" / "note_decoded.wav",
                   decoded(models["autoencoder"], [edited[2]], [50])[0])


def test_encode_reads_mp3_and_ogg_notes(models, dataset, tmp_path):
    audio = note_audio(dataset, 0, 1600)
    for suffix, format, subtype in (("mp3", "MP3", "MPEG_LAYER_III"), ("ogg", "OGG", "VORBIS")):
        soundfile.write(tmp_path / f"note.{suffix}", audio, RATE, format=format,
                        subtype=subtype)
        ok(run("autoencoder", "encode", "--model", models["autoencoder"], "--format", "npy",
               "--out", tmp_path / suffix, tmp_path / f"note.{suffix}"))
        assert np.load(tmp_path / suffix / "note.npy").shape == (4, 1600 // HOP)


def test_encode_help_lists_no_sampling_flags():
    help_text = ok(run("autoencoder", "encode", "--help")).stdout
    assert "--temperature" not in help_text and "--seed" not in help_text
    assert "--pitch" in help_text


def test_reconstruct_dataset_notes(models, dataset, tmp_path):
    result = ok(run("autoencoder", "reconstruct", "--model", models["autoencoder"],
                    "--dataset", dataset, "--limit", 2, "--seconds", 0.05, "--batch", 2,
                    "--out", tmp_path, *SHARP))
    assert "samples/s" in result.stdout
    for name, _, _ in NOTES[:2]:
        assert len(wav(tmp_path / f"{name}_reconstruction.wav")) == 800
    assert len(list(tmp_path.iterdir())) == 4
    model = snapshot.load(models["autoencoder"])
    zs = model.encode(np.stack([note_audio(dataset, index, 800) for index in (0, 1)]))
    expected = decoded(models["autoencoder"], zs, [NOTES[0][1], NOTES[1][1]])
    for (name, _, _), audio in zip(NOTES[:2], expected, strict=True):
        assert_written(tmp_path / f"{name}_reconstruction.wav", audio)


def test_reconstruct_wav_estimates_its_pitch_unless_given(models, dataset, tmp_path):
    note = dataset / "audio" / f"{NOTES[1][0]}.wav"  # a sine at MIDI 60
    common = ("reconstruct", "--model", models["autoencoder"], note, "--seed", 0)
    estimated = ok(run("autoencoder", *common, "--out", tmp_path / "estimated"))
    assert f"{note}: pitch estimated as MIDI 60 (" in estimated.stdout
    ok(run("autoencoder", *common, "--pitch", 60, "--out", tmp_path / "given"))
    name = f"{NOTES[1][0]}_reconstruction.wav"
    assert len(wav(tmp_path / "given" / name)) == NOTE_SAMPLES
    np.testing.assert_array_equal(wav(tmp_path / "estimated" / name),
                                  wav(tmp_path / "given" / name))
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros(NOTE_SAMPLES, np.float32), RATE)
    refused(run("autoencoder", "reconstruct", "--model", models["autoencoder"], silent,
                "--out", tmp_path / "silent"), f"{silent}: no pitch found in it", "--pitch")


def test_pitch_shift(models, dataset, tmp_path):
    ok(run("autoencoder", "pitch", "--model", models["autoencoder"], "--dataset", dataset,
           "--note", NOTES[2][0], "--pitches", "48,72", "--batch", 2, "--seconds", 0.05,
           "--out", tmp_path, *SHARP))
    for pitch in (48, 72):
        assert len(wav(tmp_path / f"{NOTES[2][0]}_pitch_{pitch:03d}.wav")) == 800
    z = snapshot.load(models["autoencoder"]).encode(note_audio(dataset, 2, 800))
    expected = decoded(models["autoencoder"], [z, z], [48, 72])
    assert not np.array_equal(expected[0], expected[1])
    for pitch, audio in zip((48, 72), expected, strict=True):
        assert_written(tmp_path / f"{NOTES[2][0]}_pitch_{pitch:03d}.wav", audio)


def test_interpolate_two_notes(models, dataset, tmp_path):
    ok(run("autoencoder", "interpolate", "--model", models["autoencoder"], "--dataset", dataset,
           "--steps", 3, "--batch", 3, "--seconds", 0.05, "--out", tmp_path, *SHARP))
    stem = f"{NOTES[0][0]}_to_{NOTES[1][0]}"
    for step in range(3):
        assert len(wav(tmp_path / f"{stem}_step_{step:02d}.wav")) == 800
    model = snapshot.load(models["autoencoder"])
    z_a, z_b = (model.encode(note_audio(dataset, index, 800)) for index in (0, 1))
    expected = decoded(models["autoencoder"], synthesis.interpolate(z_a, z_b, 3),
                       [NOTES[0][1]] * 3)
    assert not np.array_equal(expected[0], expected[2])
    for step, audio in enumerate(expected):
        assert_written(tmp_path / f"{stem}_step_{step:02d}.wav", audio)


def test_note_shorter_than_a_frame(models, tmp_path):
    short = tmp_path / "click.wav"
    write_wav(short, np.zeros(HOP - 1), RATE)
    common = ("--model", models["autoencoder"], "--out", tmp_path / "out")
    refused(run("autoencoder", "reconstruct", *common, short, "--pitch", 60),
            str(short), "shorter than one frame")
    assert not (tmp_path / "out").exists()


# sample/embeddings.py


def test_embeddings_plots(models, dataset, tmp_path):
    result = ok(run("embeddings", "--model", models["autoencoder"], "--dataset", dataset,
                    "--limit", 2, "--note", NOTES[2][0], "--out", tmp_path))
    assert NOTES[2][0] in result.stdout
    for name in ("embeddings_pca.png", "z_over_time.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert len(list(tmp_path.iterdir())) == 2


def test_each_autoencoder_command_keeps_its_own_defaults():
    """evaluate's 2-second default does not cut the notes of the other commands."""
    sys.path.insert(0, str(ROOT / "sample"))
    try:
        import autoencoder as command
    finally:
        sys.path.remove(str(ROOT / "sample"))
    parser = command.build_parser()
    assert parser.parse_args(["evaluate", "--model", "m"]).seconds == 2.0
    for name in ("reconstruct", "encode", "pitch", "interpolate"):
        extra = ["--pitches", "60"] if name == "pitch" else []
        assert parser.parse_args([name, "--model", "m", *extra]).seconds is None
    assert parser.parse_args(["transfer", "--model", "m", "--melody", "x"]).seconds is None
