"""Speech as WaveNet users train it: any rate and stereo converted on load, VCTK's layout,
a subset of speakers, silence trimmed, and a small espeak-ng corpus made offline."""

import os
import subprocess
import sys
from pathlib import Path

import chainer
import numpy as np
import pytest
import soundfile

from chainer_wavenet import snapshot
from chainer_wavenet.audio import mu_law
from chainer_wavenet.audio.pitch_estimate import estimate_f0
from chainer_wavenet.datasets.conversion import Conversion, trim_silence
from chainer_wavenet.datasets.folder import load_folder
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.config import WaveNetConfig
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.sampling.generate import generate

ROOT = Path(__file__).resolve().parent.parent
ENV_OVERRIDES = {"OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": ""}
TINY = ("--preset", "small", "--length", 64, "--batchsize", 2, "--iteration", 2,
        "--interval", 2, "--validation-fraction", 0, "--keep-snapshots", 0)


def tone(frequency, seconds, rate, amplitude=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write(path, audio, rate, subtype="PCM_16", format="WAV"):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio, rate, subtype=subtype, format=format)
    return path


def write_vctk(root, speakers=("p225", "p226", "p227"), rate=48000):
    """VCTK 0.80's layout: wav48/pNNN/pNNN_00M.wav at 48 kHz with txt/pNNN/pNNN_00M.txt."""
    for number, speaker in enumerate(speakers):
        for sentence in (1, 2):
            name = f"{speaker}_{sentence:03d}"
            write(root / "wav48" / speaker / f"{name}.wav",
                  tone(150 + 50 * number + 10 * sentence, 0.1, rate), rate)
            (root / "txt" / speaker).mkdir(parents=True, exist_ok=True)
            (root / "txt" / speaker / f"{name}.txt").write_text("Please call Stella.\n")
    (root / "speaker-info.txt").write_text("ID AGE GENDER ACCENTS REGION\n")
    return root


def train(*args, check=True):
    """Run train/wavenet.py; return the finished process."""
    result = subprocess.run([sys.executable, "train/wavenet.py", *map(str, args)], cwd=ROOT,
                            env=_env(), capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _env():
    return dict(os.environ) | ENV_OVERRIDES


# Converting on load


def test_conversion_resamples_mixes_down_and_records_it(tmp_path):
    left, right = tone(440, 0.2, 22050), tone(440, 0.2, 22050, amplitude=0.3)
    path = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 22050)
    audio, record = Conversion(16000).load(path)
    assert record == {"rate": 22050, "channels": 2, "trimmed": 0}
    assert audio.dtype == np.float32 and len(audio) == 3200
    np.testing.assert_allclose(audio[200:-200], tone(440, 0.2, 16000, 0.4)[200:-200], atol=2e-3)


def test_flac_mp3_and_ogg_files_are_read_whatever_their_names(tmp_path):
    flac = write(tmp_path / "a.flac", tone(300, 0.1, 48000), 48000, format="FLAC")
    assert len(Conversion(16000).load(flac)[0]) == 1600
    disguised = write(tmp_path / "b.wav", tone(300, 0.1, 48000), 48000, format="FLAC")
    assert len(Conversion(16000).load(disguised)[0]) == 1600
    misnamed = write(tmp_path / "c.flac", tone(300, 0.1, 48000), 48000)
    assert len(Conversion(16000).load(misnamed)[0]) == 1600
    for format, subtype in (("MP3", "MPEG_LAYER_III"), ("OGG", "VORBIS")):
        path = write(tmp_path / f"d.{format.lower()}", tone(300, 0.5, 16000), 16000,
                     format=format, subtype=subtype)
        assert len(Conversion(16000).load(path)[0]) == 8000


@pytest.mark.parametrize("kind, message", [
    ("too-low-rate", "sample rate 1000 Hz is too low to train on"),
    ("empty", "holds no audio"),
    ("nan", "NaN or infinite"),
    ("corrupt", "not a readable audio file"),
])
def test_bad_files_are_still_refused_naming_them(tmp_path, kind, message):
    path = tmp_path / "speaker" / "bad.wav"
    if kind == "too-low-rate":
        write(path, tone(100, 0.5, 1000), 1000)
    elif kind == "empty":
        write(path, np.zeros(0, np.float32), 22050)
    elif kind == "nan":
        write(path, np.full(300, np.nan, np.float32), 22050, subtype="FLOAT")
    else:
        path.parent.mkdir()
        path.write_bytes(b"RIFF" + bytes(range(200)))
    with pytest.raises(WaveNetError, match=message) as error:
        load_folder(tmp_path, 16000)
    assert str(error.value).startswith(str(path))


def test_the_cache_holds_the_resampled_classes_per_target_rate(tmp_path):
    write_vctk(tmp_path / "VCTK-Corpus")
    plain = load_folder(tmp_path / "VCTK-Corpus", 16000)
    cached = load_folder(tmp_path / "VCTK-Corpus", 16000, cache=tmp_path / "cache")
    for mapped, kept in zip(cached.waveforms, plain.waveforms, strict=True):
        np.testing.assert_array_equal(mapped, kept)
    assert cached.conversion == plain.conversion and plain.conversion.resampled == {48000: 6}
    other = load_folder(tmp_path / "VCTK-Corpus", 8000, cache=tmp_path / "cache")
    assert len(other.waveforms[0]) == len(plain.waveforms[0]) // 2
    assert len(list((tmp_path / "cache").glob("*.classes"))) == 2
    again = load_folder(tmp_path / "VCTK-Corpus", 16000, cache=tmp_path / "cache")
    assert again.conversion == plain.conversion
    assert len(list((tmp_path / "cache").glob("*.classes"))) == 2



def _speech_after_silence(root, rate=16000):
    """One speaker folder with a file of half a second of silence, then 0.2 s of tone."""
    audio = np.concatenate([np.zeros(rate // 2, np.float32), tone(200, 0.2, rate)])
    write(root / "p001" / "p001_001.wav", audio, rate)
    return root


@pytest.mark.parametrize("first_trim_db, then_trim_db", [(None, 40), (40, None)])
def test_the_cache_holds_trimmed_and_untrimmed_classes_apart(tmp_path, first_trim_db,
                                                           then_trim_db):
    """A cache built with one trim setting is never read for the other, and a trimmed build
    writes its index (the count trimmed) and reads it back."""
    root, cache = _speech_after_silence(tmp_path / "speech"), tmp_path / "cache"
    lengths = {None: 8000 + 3200, 40: 3200}
    first = load_folder(root, 16000, cache=cache, trim_db=first_trim_db)
    then = load_folder(root, 16000, cache=cache, trim_db=then_trim_db)
    assert len(first.waveforms[0]) == lengths[first_trim_db]
    assert len(then.waveforms[0]) == lengths[then_trim_db]
    assert len(list(cache.glob("*.classes"))) == 2
    again = load_folder(root, 16000, cache=cache, trim_db=40)
    assert again.conversion.trimmed_seconds == pytest.approx(0.5)
    np.testing.assert_array_equal(again.waveforms[0], load_folder(root, 16000, trim_db=40)
                                  .waveforms[0])


@pytest.mark.slow
def test_training_with_trimming_and_a_cache(tmp_path):
    root, cache = _speech_after_silence(tmp_path / "speech"), tmp_path / "cache"
    for run in ("first", "again"):
        result = train("--dataset", root, "--trim-silence", 40, "--cache", cache,
                       "--out", tmp_path / run, *TINY)
        assert "0.5 s of leading and trailing silence trimmed" in result.stdout
    assert len(list(cache.glob("*.classes"))) == 1


# Silence


def test_trimming_cuts_the_quiet_ends_only():
    rate = 16000
    speech = tone(200, 0.5, rate)
    hiss = np.full(rate // 4, 1e-3, np.float32)  # -54 dB below the tone's energy
    audio = np.concatenate([np.zeros(rate // 2, np.float32), speech, hiss])
    trimmed, removed = trim_silence(audio, 40, rate)
    assert removed == rate // 2 + rate // 4
    np.testing.assert_array_equal(trimmed, speech)
    kept, removed = trim_silence(audio, 60, rate)  # the hiss lies within 60 dB: kept
    assert removed == rate // 2 and len(kept) == len(speech) + len(hiss)
    silent = np.zeros(100, np.float32)
    assert trim_silence(silent, 40, rate)[1] == 0


# VCTK's layout and speaker subsets


@pytest.mark.parametrize("given", ["VCTK-Corpus", "VCTK-Corpus/wav48"])
def test_vctk_as_downloaded(tmp_path, given):
    write_vctk(tmp_path / "VCTK-Corpus")
    data = load_folder(tmp_path / given, 16000)
    assert data.speaker_names == ["p225", "p226", "p227"]
    assert data.speakers.tolist() == [0, 0, 1, 1, 2, 2]
    assert [p.name for p in data.paths[:2]] == ["p225_001.wav", "p225_002.wav"]


def test_vctk_092_flac_takes_the_first_microphone(tmp_path):
    audio = tmp_path / "VCTK-Corpus-0.92" / "wav48_silence_trimmed"
    for speaker in ("p225", "p226"):
        for microphone in ("mic1", "mic2"):
            write(audio / speaker / f"{speaker}_001_{microphone}.flac", tone(200, 0.1, 48000),
                  48000, format="FLAC")
    write(audio / "p226" / "p226_002_mic2.flac", tone(200, 0.1, 48000), 48000, format="FLAC")
    (tmp_path / "VCTK-Corpus-0.92" / "txt" / "p225").mkdir(parents=True)
    (tmp_path / "VCTK-Corpus-0.92" / "txt" / "p225" / "p225_001.txt").write_text("Hello.\n")
    data = load_folder(tmp_path / "VCTK-Corpus-0.92", 16000)
    assert [p.name for p in data.paths] == ["p225_001_mic1.flac", "p226_001_mic1.flac",
                                            "p226_002_mic2.flac"]


@pytest.mark.parametrize("wanted, expected", [
    ("p227,p225", ["p225", "p227"]), ("2", ["p225", "p226"]), (" p226 ", ["p226"])])
def test_a_subset_of_speakers(tmp_path, wanted, expected):
    data = load_folder(write_vctk(tmp_path / "VCTK-Corpus"), 16000, speakers=wanted)
    assert data.speaker_names == expected
    assert [data.speaker_names[i] for i in data.speakers] == [p.parent.name for p in data.paths]
    assert sorted({p.parent.name for p in data.paths}) == expected


@pytest.mark.parametrize("wanted, message", [
    ("p999", "no speaker folder p999 in .*wav48; it holds p225, p226, p227"),
    ("4", "holds 3 speaker folders; give a count from 1 to 3"),
    ("0", "give a count from 1 to 3"),
    (",", "no speaker folder ','"),
])
def test_a_subset_that_is_not_there(tmp_path, wanted, message):
    with pytest.raises(WaveNetError, match=message):
        load_folder(write_vctk(tmp_path / "VCTK-Corpus"), 16000, speakers=wanted)


def test_a_speaker_folder_without_audio(tmp_path):
    root = write_vctk(tmp_path / "VCTK-Corpus")
    (root / "wav48" / "p228").mkdir()
    (root / "wav48" / "p228" / "notes.txt").write_text("to do")
    with pytest.raises(WaveNetError, match="speaker folder holds no audio") as error:
        load_folder(root, 16000)
    assert str(error.value).startswith(str(root / "wav48" / "p228"))
    assert load_folder(root, 16000, speakers="3").speaker_names == ["p225", "p226", "p227"]


def test_a_transcript_without_audio(tmp_path):
    root = write_vctk(tmp_path / "VCTK-Corpus")
    orphan = root / "txt" / "p226" / "p226_003.txt"
    orphan.write_text("Six spoons of fresh snow peas.\n")
    with pytest.raises(WaveNetError, match="a transcript without audio") as error:
        load_folder(root, 16000)
    assert str(error.value).startswith(str(orphan))
    assert len(load_folder(root, 16000, speakers="p225,p227")) == 4  # only the chosen checked


# The command line


@pytest.mark.slow
def test_training_on_vctk_says_what_loading_did(tmp_path):
    root = write_vctk(tmp_path / "VCTK-Corpus")
    stereo = tone(180, 0.1, 22050)
    write(root / "wav48" / "p226" / "p226_003.wav",
          np.concatenate([np.zeros(11025, np.float32), stereo])[:, None].repeat(2, axis=1),
          22050)
    (root / "txt" / "p226" / "p226_003.txt").write_text("Ask her to bring these things.\n")
    out = tmp_path / "out"
    result = train("--dataset", root, "--speakers", "p226,p227", "--trim-silence", 40,
                   "--out", out, *TINY)
    assert ("on load: 5 files resampled to 16000 Hz (1 from 22050 Hz, 4 from 48000 Hz); "
            "1 file mixed down to mono; 0.5 s of leading and trailing silence trimmed"
            ) in result.stdout
    assert "2 speakers" in result.stdout
    model = snapshot.load(out / "model.h5")
    assert model.metadata["speakers"] == ["p226", "p227"]
    assert model.config.n_global == 2


@pytest.mark.slow
def test_training_refuses_a_bad_subset_in_one_line(tmp_path):
    root = write_vctk(tmp_path / "VCTK-Corpus")
    result = train("--dataset", root, "--speakers", "p300", "--out", tmp_path / "out", *TINY,
                   check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --speakers: no speaker folder p300 in {root / 'wav48'}; it holds p225, p226, "
        "p227"]
    assert not (tmp_path / "out").exists()


# A speech set made by espeak-ng


def make_speech(*args, env=None):
    return subprocess.run([sys.executable, "train/make_speech.py", *map(str, args)], cwd=ROOT,
                          env=env or _env(), capture_output=True, text=True, timeout=120)


def files(folder):
    return {p: p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_make_speech_writes_vctk_that_loads_through_resampling(tmp_path):
    out = tmp_path / "speech"
    result = make_speech("--out", out, "--voices", 2, "--sentences", 2, "--sample-rate", 48000)
    assert result.returncode == 0, result.stderr
    assert "4 recordings of 2 speakers at 48000 Hz" in result.stdout
    wavs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert wavs == ["wav48/p001/p001_001.wav", "wav48/p001/p001_002.wav",
                    "wav48/p002/p002_001.wav", "wav48/p002/p002_002.wav"]
    assert (out / "txt" / "p002" / "p002_002.txt").read_text() == (
        "Glue the sheet to the dark blue background.\n")
    assert soundfile.info(out / "wav48" / "p001" / "p001_001.wav").samplerate == 48000
    assert not [p for p in out.rglob(".*")]  # no temporary file left
    data = load_folder(out, 16000, trim_db=40)
    assert data.speaker_names == ["p001", "p002"]
    assert data.conversion.resampled == {48000: 4} and data.conversion.trimmed_seconds > 0
    assert all(len(w) > 16000 for w in data.waveforms)  # over a second of speech each
    before = files(out)
    again = make_speech("--out", out, "--voices", 1, "--sentences", 1)
    assert again.returncode == 2
    assert again.stderr.strip() == (f"error: {out / 'wav48'}: already exists; choose another "
                                    "--out, or delete the old set first")
    assert files(out) == before


def test_make_speech_without_espeak_names_the_package(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = make_speech("--out", tmp_path / "speech", "--voices", 1, "--sentences", 1,
                         env=_env() | {"PATH": str(empty)})
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: espeak-ng: not found; install it "
                                     "(Debian/Ubuntu: `apt-get install espeak-ng`)")
    assert not (tmp_path / "speech").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--voices", 0, "--voices must lie in 1..8, got 0"),
    ("--sentences", 21, "--sentences must lie in 1..20, got 21"),
])
def test_make_speech_refuses_counts_out_of_range(tmp_path, flag, value, message):
    result = make_speech("--out", tmp_path / "speech", flag, value)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {message}"
    assert not (tmp_path / "speech").exists()


# Speaker conditioning


def synthetic_voice(f0, rate, seed):
    """One second of a steady 'vowel' at ``f0`` Hz (five harmonics, 5 Hz vibrato, a little
    breath noise) between 0.3 s of silence."""
    t = np.arange(rate) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / rate
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 6))
    breath = np.random.default_rng(seed).normal(size=len(t))
    pause = np.zeros(int(0.3 * rate))
    vowel = 0.5 * harmonics / np.abs(harmonics).max() + 0.05 * breath
    return np.clip(np.concatenate([pause, vowel, pause]), -1, 1).astype(np.float32)


@pytest.mark.slow
def test_each_speaker_is_generated_nearer_its_own_pitch(tmp_path):
    """Two voices an octave apart (110 and 220 Hz, written at 22,050 Hz and trained at 8 kHz
    after trimming): after 600 steps with speaker conditioning, the median f0 of what each
    speaker's id generates from the same 16 ms of breath noise lies nearer its own voice's
    than the other's. (Median f0 by the project's NumPy YIN: pYIN's first call alone takes
    ~25 s.)"""
    rate, seed = 8000, 0
    for index, (name, f0) in enumerate((("low", 110.0), ("high", 220.0))):
        write(tmp_path / name / f"{name}.wav", synthetic_voice(f0, 22050, index), 22050)
    data = load_folder(tmp_path, rate, trim_db=30)
    assert data.speaker_names == ["high", "low"] and data.conversion.resampled == {22050: 2}
    assert data.conversion.trimmed_seconds == pytest.approx(1.2, abs=0.02)
    own = [estimate_f0(mu_law.decode(w), rate, fmin=60, fmax=1000) for w in data.waveforms]
    np.random.seed(seed)
    model = WaveNet(WaveNetConfig(residual_channels=16, dilation_channels=16, skip_channels=32,
                                  dilations=(1, 2, 4, 8, 16, 32, 64), n_global=2))
    optimizer = chainer.optimizers.Adam(3e-3)
    optimizer.setup(model)
    rng = np.random.default_rng(seed)
    crop = model.receptive_field + 256
    ids = np.array([0, 1, 0, 1], np.int32)
    for _ in range(600):
        starts = [rng.integers(0, len(data.waveforms[i]) - crop) for i in ids]
        batch = [data.waveforms[i][s:s + crop] for i, s in zip(ids, starts, strict=True)]
        loss = model.loss(np.stack(batch), ids)
        model.cleargrads()
        loss.backward()
        optimizer.update()
    breath = mu_law.encode(0.05 * np.random.default_rng(9).normal(size=(1, 128)))
    generated = generate(model, rate // 2, batch_size=2, global_ids=np.array([0, 1], np.int32),
                         prime=np.repeat(breath, 2, axis=0), seed=seed)
    heard = [estimate_f0(mu_law.decode(row)[rate // 8:], rate, fmin=60, fmax=1000)
             for row in generated]
    for speaker in (0, 1):
        distance = [abs(np.log(heard[speaker] / f0)) for f0 in own]
        assert distance[speaker] < distance[1 - speaker], (own, heard)


@pytest.mark.slow
def test_resuming_with_other_speakers_is_refused(tmp_path):
    root = write_vctk(tmp_path / "VCTK-Corpus")
    out = tmp_path / "out"
    train("--dataset", root, "--speakers", "p225,p226", "--out", out, *TINY[:-2])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = train("--dataset", root, "--speakers", "p226,p227", "--out", out, *TINY,
                   "--resume", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --resume: {out / 'model.h5'} was trained on speakers ['p225', 'p226'], not "
        "['p226', 'p227']; resume with the run's own --dataset and --speakers")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
