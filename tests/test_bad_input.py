"""What each command answers to bad input: one `error:` line naming the file or flag, exit 2.

Every row of docs/bad-input.md is a case here. The commands run in-process through the same
``cli.run`` their ``__main__`` calls (a subprocess per row would cost a second each); the
last tests run a few rows as real processes. After every refusal all files under the test's
folder, inputs and earlier outputs alike, are byte-identical and no file is added.
"""

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
import soundfile
from devices import gpu_count, refusal_reason, unusable_gpu
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from model_fixtures import make_autoencoder, make_wavenet
from test_resume import ENV, ROOT, write_nsynth, write_speaker_folder
from unprivileged import run_unprivileged

from chainer_wavenet import cli, snapshot
from chainer_wavenet.audio.wav import CLIP_TOLERANCE, read_wav
from chainer_wavenet.datasets.conversion import Conversion
from chainer_wavenet.device import what_to_do_without_cupy
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.training.parallel import check_communicator_device

RATE = 16000
TRAIN = ("--length", 64, "--batchsize", 2, "--iteration", 2, "--interval", 2,
         "--validation-crops", 4)


def script(name):
    """The module of ``train/<name>.py`` or ``sample/<name>.py`` (name with its folder)."""
    spec = importlib.util.spec_from_file_location(name.replace("/", "_"), ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = {}


def run(capsys, name, *args):
    """Run a command line in-process; return (exit code, stdout, stderr)."""
    if name not in SCRIPTS:
        SCRIPTS[name] = script(name)
    module = SCRIPTS[name]
    try:
        cli.run(module.main, module.build_parser(), [str(a) for a in args])
        code = 0
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def files(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def refused(capsys, folder, name, *args, names=()):
    """Exit 2, one `error: ` line naming each of ``names``, no traceback, ``folder`` unchanged."""
    before = files(folder)
    code, _, err = run(capsys, name, *args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in names:
        assert str(fragment) in lines[0]
    assert files(folder) == before
    return lines[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny snapshots: a WaveNet for three speakers, one for none, an autoencoder."""
    folder = tmp_path_factory.mktemp("models")
    saved = {"speakers": (make_wavenet(seed=1, n_global=3),
                          {"sample_rate": RATE, "speakers": ["alice", "bob", "carol"]}),
             "plain": (make_wavenet(seed=2), {"sample_rate": RATE}),
             "autoencoder": (make_autoencoder(seed=3, encoder_settings=dict(hop=16)),
                             {"sample_rate": RATE})}
    for name, (model, metadata) in saved.items():
        snapshot.save(folder / f"{name}.h5", model, metadata)
    return {name: folder / f"{name}.h5" for name in saved}


@pytest.fixture
def speakers(tmp_path):
    return write_speaker_folder(tmp_path / "speakers")


@pytest.fixture
def out(tmp_path):
    """An output folder that already holds a file of the user's."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "mine.wav").write_bytes(b"a recording of the user's")
    return folder


# WAV files


def tone(samples=2000, channels=1):
    t = np.arange(samples) / RATE
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def wav_bytes(audio=None, rate=RATE, subtype="PCM_16", format="WAV"):
    buffer = io.BytesIO()
    soundfile.write(buffer, tone() if audio is None else audio, rate, subtype=subtype,
                    format=format)
    return buffer.getvalue()


def with_nan():
    audio = tone()
    audio[100] = np.nan
    return wav_bytes(audio, subtype="FLOAT")


BAD_WAVS = {  # name: (bytes of the file, what the message says)
    "corrupt": (lambda: bytes(np.random.default_rng(0).integers(0, 256, 3000, np.uint8)),
                "not a readable audio file"),
    "empty": (lambda: b"", "not a readable audio file"),
    "header-only": (lambda: wav_bytes(np.zeros(0)), "holds no audio"),
    "truncated": (lambda: wav_bytes()[:2000], "truncated WAV"),
    "too-low-rate": (lambda: wav_bytes(rate=1000), "too low to train on"),
    "nan": (with_nan, "NaN or infinite"),
    "float-beyond-full-scale": (lambda: wav_bytes(4 * tone(), subtype="FLOAT"),
                                "outside [-1, 1]"),
    "au-named-wav": (lambda: wav_bytes(format="AU"), "is a AU file; export it as WAV"),
    "shorter-than-receptive-field": (lambda: wav_bytes(tone(300)),
                                     "too short for the receptive field of 511"),
}


@pytest.mark.parametrize("kind", sorted(BAD_WAVS))
def test_bad_wav_in_a_training_folder(capsys, speakers, out, kind):
    make, message = BAD_WAVS[kind]
    bad = speakers / "bob" / "bad.wav"
    bad.write_bytes(make())
    refused(capsys, speakers.parent, "train/wavenet", "--dataset", speakers, "--out", out,
            *TRAIN, names=[bad, message])


def test_a_run_too_big_for_memory_says_so(capsys, speakers, out):
    refused(capsys, speakers.parent, "train/wavenet", "--dataset", speakers, "--out", out,
            "--length", 10 ** 15, "--iteration", 1, names=["out of memory", "smaller batch"])


@pytest.mark.parametrize("command", ["prime", "reconstruct", "nsynth-note"])
def test_bad_wav_in_each_command_that_reads_one(capsys, models, tmp_path, out, command):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(wav_bytes()[:2000])
    if command == "prime":
        args = ("sample/wavenet", "--model", models["plain"], "--prime", bad)
    elif command == "reconstruct":
        args = ("sample/autoencoder", "reconstruct", "--model", models["autoencoder"], bad,
                "--pitch", 60)
    else:
        root = write_nsynth(tmp_path / "nsynth")
        bad = next((root / "nsynth-train" / "audio").iterdir())
        bad.write_bytes(wav_bytes(rate=8000))
        args = ("train/autoencoder", "--dataset", root, *TRAIN, "--preview-notes", 0)
    refused(capsys, tmp_path, *args, "--out", out, names=[bad])


def test_sample_commands_mix_down_and_resample_their_wav_inputs(capsys, models, tmp_path):
    """A stereo 22,050 Hz note gives the z of its mono 16 kHz conversion, and says so."""
    note = 0.4 * np.sin(np.arange(2205) / 5.0)
    stereo = tmp_path / "stereo.wav"
    stereo.write_bytes(wav_bytes(np.stack([note, note], axis=1), rate=22050))
    code, printed, err = run(capsys, "sample/autoencoder", "encode", "--model",
                             models["autoencoder"], "--format", "npy", stereo, "--out", tmp_path)
    assert code == 0, err
    assert (f"{stereo}: 2 channels mixed down to mono; resampled from 22050 Hz to the "
            f"model's {RATE} Hz") in printed
    model = snapshot.load(models["autoencoder"])
    audio = Conversion(RATE).load(stereo)[0]
    expected = model.encode(audio[:len(audio) // model.hop * model.hop])
    np.testing.assert_allclose(np.load(tmp_path / "stereo.npy"), expected, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_24", "FLOAT", "DOUBLE"])
def test_8_24_bit_and_float_wavs_are_read_like_16_bit(capsys, models, tmp_path, subtype):
    """Samples that every format stores exactly give the same z in every format."""
    note = np.round(64 * np.sin(np.arange(1600) / 7.0)) / 128
    zs = {}
    for kind in ("PCM_16", subtype):
        path = tmp_path / kind / "note.wav"
        path.parent.mkdir()
        path.write_bytes(wav_bytes(note, subtype=kind))
        code, _, err = run(capsys, "sample/autoencoder", "encode", "--model",
                           models["autoencoder"], "--format", "npy", path, "--out",
                           tmp_path / kind)
        assert code == 0, err
        zs[kind] = np.load(tmp_path / kind / "note.npy")
    np.testing.assert_array_equal(zs[subtype], zs["PCM_16"])
    expected = snapshot.load(models["autoencoder"]).encode(note.astype(np.float32))
    np.testing.assert_allclose(zs["PCM_16"], expected, rtol=1e-5, atol=1e-6)


def test_dataset_folder_missing_or_without_wavs(capsys, tmp_path, out):
    refused(capsys, tmp_path, "train/wavenet", "--dataset", tmp_path / "none", "--out", out,
            names=[tmp_path / "none", "not found"])
    (tmp_path / "empty").mkdir()
    refused(capsys, tmp_path, "train/wavenet", "--dataset", tmp_path / "empty", "--out", out,
            names=[tmp_path / "empty", "no audio files (.wav, .flac"])


# NSynth layout


def edit_examples(root, edit):
    path = root / "nsynth-train" / "examples.json"
    examples = json.loads(path.read_text())
    edit(examples)
    path.write_text(json.dumps(examples))


NSYNTH_CASES = {
    "not-json": (lambda root: (root / "nsynth-train" / "examples.json").write_text("{notes:"),
                 "nsynth-train/examples.json", "not valid JSON"),
    "missing-field": (lambda root: edit_examples(
        root, lambda ex: next(iter(ex.values())).pop("pitch")),
        "nsynth-train/examples.json", "has no field 'pitch'"),
    "missing-audio": (lambda root: next((root / "nsynth-train" / "audio").iterdir()).unlink(),
                      "keyboard_acoustic_000-060-100.wav", "not found"),
    "pitch-out-of-range": (lambda root: edit_examples(
        root, lambda ex: next(iter(ex.values())).update(pitch=200)),
        "pitch=200", "0..127"),
    "no-valid-split": (lambda root: os.rename(root / "nsynth-valid", root / "valid"),
                       "nsynth-valid/examples.json", "not found"),
}


@pytest.mark.parametrize("case", sorted(NSYNTH_CASES))
def test_bad_nsynth_dataset(capsys, tmp_path, out, case):
    damage, *message = NSYNTH_CASES[case]
    root = write_nsynth(tmp_path / "nsynth")
    damage(root)
    refused(capsys, tmp_path, "train/autoencoder", "--dataset", root, "--out", out, *TRAIN,
            "--preview-notes", 0, names=message)


# Ids out of range


@pytest.mark.parametrize("args, message", [
    (("sample/wavenet", "--model", "speakers", "--speaker", 3), "--speaker: unknown speaker '3'"),
    (("sample/wavenet", "--model", "speakers", "--speaker", "dave"), "0 = alice, 1 = bob"),
    (("sample/wavenet", "--model", "speakers"), "--speaker: this model is conditioned on 3"),
    (("sample/wavenet", "--model", "plain", "--speaker", 0), "not conditioned on speakers"),
    (("sample/autoencoder", "reconstruct", "--model", "autoencoder", "NOTE", "--pitch", 128),
     "--pitch: MIDI pitch must be in 0..127, got 128"),
    (("sample/autoencoder", "pitch", "--model", "autoencoder", "NOTE", "--pitches", "60,-1"),
     "--pitches: MIDI pitch must be in 0..127, got -1"),
    (("train/autoencoder", "--dataset", "NSYNTH", "--pitch-range", "0:200"),
     "--pitch-range"),
], ids=["speaker-id", "speaker-name", "speaker-missing", "speaker-unconditioned",
        "pitch", "pitches", "pitch-range"])
def test_id_out_of_range(capsys, models, tmp_path, out, args, message):
    note = tmp_path / "note.wav"
    note.write_bytes(wav_bytes())
    nsynth = write_nsynth(tmp_path / "nsynth")
    paths = {**models, "NOTE": note, "NSYNTH": nsynth}
    args = [paths.get(a, a) if isinstance(a, str) else a for a in args]
    refused(capsys, tmp_path, *args, "--out", out, names=[message])


# Model snapshots (--model)


def hdf5_of_another_kind(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("z", data=np.zeros(3))


BAD_MODELS = {
    "missing": "no such model snapshot",
    "truncated": "not a readable HDF5 file",
    "not-hdf5": "not a readable HDF5 file",
    "other-hdf5": "not a chainer-wavenet model snapshot",
    "autoencoder-to-wavenet": "is an autoencoder snapshot; use sample/autoencoder.py",
    "wavenet-to-autoencoder": "is a WaveNet snapshot, not an autoencoder",
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_snapshot(capsys, models, tmp_path, out, case):
    message = BAD_MODELS[case]
    path = tmp_path / "model.h5"
    command = ("sample/wavenet",)
    if case == "truncated":
        path.write_bytes(models["plain"].read_bytes()[:3000])
    elif case == "not-hdf5":
        path.write_bytes(wav_bytes())
    elif case == "other-hdf5":
        hdf5_of_another_kind(path)
    elif case == "autoencoder-to-wavenet":
        path = models["autoencoder"]
    elif case == "wavenet-to-autoencoder":
        path = models["plain"]
        command = ("sample/autoencoder", "reconstruct", tmp_path / "note.wav", "--pitch", 60)
        (tmp_path / "note.wav").write_bytes(wav_bytes())
    refused(capsys, tmp_path, *command, "--model", path, "--out", out, names=[path, message])


# Trainer snapshots (--resume)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-step run of train/wavenet.py: (its dataset, its --out)."""
    dataset = write_speaker_folder(tmp_path_factory.mktemp("speakers"))
    run_out = tmp_path_factory.mktemp("trained") / "run"
    result = subprocess.run([sys.executable, "train/wavenet.py", "--dataset", dataset, "--out",
                             run_out, "--validation-fraction", "0.34", *map(str, TRAIN)],
                            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return dataset, run_out


BAD_RESUMES = {
    "missing": "no such trainer snapshot",
    "none-in-out": "no trainer snapshot (snapshot_iter_N.npz) in",
    "truncated": "cannot load this trainer snapshot",
    "not-npz": "cannot load this trainer snapshot",
    "other-config": "holds another model config than the one asked for",
    "other-model": "cannot load this trainer snapshot",
}


@pytest.mark.parametrize("case", sorted(BAD_RESUMES))
def test_bad_trainer_snapshot(capsys, trained, tmp_path, case):
    message = BAD_RESUMES[case]
    dataset, run_out = trained
    out = shutil.copytree(run_out, tmp_path / "run")
    snapshot_path = out / "snapshot_iter_2.npz"
    script_name, extra = "train/wavenet", ("--dataset", dataset, "--validation-fraction", 0.34)
    resume = snapshot_path
    if case == "missing":
        resume = out / "snapshot_iter_9.npz"
    elif case == "none-in-out":
        snapshot_path.unlink()
        resume = None
    elif case == "truncated":
        snapshot_path.write_bytes(snapshot_path.read_bytes()[:5000])
    elif case == "not-npz":
        snapshot_path.write_bytes(wav_bytes())
    elif case == "other-config":  # a dataset without speakers: a model without speaker ids
        flat = tmp_path / "flat"
        flat.mkdir()
        for wav in dataset.rglob("*.wav"):
            (flat / wav.name).write_bytes(wav.read_bytes())
        extra = ("--dataset", flat, "--validation-fraction", 0.34)
        resume = None
    elif case == "other-model":
        script_name = "train/autoencoder"
        extra = ("--dataset", write_nsynth(tmp_path / "nsynth"), "--preview-notes", 0)
        out = tmp_path / "new"
    names = [message] + ([] if resume is None else [resume])
    resume_args = ("--resume",) if resume is None else ("--resume", resume)
    refused(capsys, tmp_path, script_name, *extra, "--out", out, *TRAIN, *resume_args,
            names=names)


# Flags out of range


TRAIN_FLAGS = [("--length", -1), ("--length", 0), ("--batchsize", 0), ("--iteration", 0),
               ("--epoch", -2), ("--interval", 0), ("--lr", 0), ("--lr", "inf"), ("--lr", "nan"),
               ("--lr-decay", 0), ("--lr-decay", 1.5), ("--grad-clip", 0), ("--grad-clip", -1),
               ("--keep-snapshots", -1), ("--validation-crops", 0), ("--seed", -1),
               ("--seed", 2**32), ("--validation-fraction", 1), ("--sample-rate", 0),
               ("--preview-files", -1), ("--preview-seconds", 0), ("--preview-interval", 0)]


@pytest.mark.parametrize("flag, value", TRAIN_FLAGS)
def test_training_flag_out_of_range(capsys, speakers, out, flag, value):
    settings = TRAIN[:4] if flag == "--epoch" else TRAIN  # --epoch replaces --iteration
    refused(capsys, speakers.parent, "train/wavenet", "--dataset", speakers, "--out", out,
            *settings, flag, value, names=[flag])


@pytest.mark.parametrize("flags, message", [
    (("--input-noise", -1), "--input-noise must be >= 0 classes"),
    (("--scheduled-sampling", 1.5), "--scheduled-sampling is the share"),
    (("--scheduled-sampling", 0.5, "--sampling-passes", 0), "--sampling-passes must be >= 1"),
    (("--input-noise", 2, "--scheduled-sampling", 0.5), "give one"),
    (("--hop", 0), "--hop must be at least 1, got 0"),
    (("--bottleneck", -2), "--bottleneck must be at least 1, got -2"),
    (("--decoder-channels", 0), "--decoder-channels must be at least 1, got 0"),
], ids=["input-noise", "scheduled-sampling", "sampling-passes", "both", "hop", "bottleneck",
        "decoder-channels"])
def test_autoencoder_flag_out_of_range(capsys, tmp_path, out, flags, message):
    root = write_nsynth(tmp_path / "nsynth")
    refused(capsys, tmp_path, "train/autoencoder", "--dataset", root, "--out", out, *TRAIN,
            *flags, names=[message])


@pytest.mark.parametrize("name, args, flag", [
    ("train/wavenet", ("--dataset", "data", "--batchsize", "two"), "--batchsize"),
    ("train/wavenet", ("--dataset", "data", "--iteration", 5, "--epoch", 1), "--epoch"),
    ("sample/wavenet", ("--model", "m.h5", "--temperature", "hot"), "--temperature"),
    ("train/render_nsynth", ("--pitches", "60:x"), "--pitches"),
], ids=["not-a-number", "exclusive-flags", "not-a-float", "not-a-list"])
def test_value_that_does_not_parse(capsys, tmp_path, name, args, flag):
    """argparse's own answer: the usage, then one `error:` line naming the flag; exit 2."""
    code, _, err = run(capsys, name, *args)
    assert code == 2 and "Traceback" not in err
    assert "error: argument " in err.splitlines()[-1] and flag in err.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


SAMPLE_FLAGS = [
    ("sample/wavenet", "--length", -5), ("sample/wavenet", "--length", "0s"),
    ("sample/wavenet", "--length", "ten"), ("sample/wavenet", "--temperature", 0),
    ("sample/wavenet", "--temperature", -1), ("sample/wavenet", "--batch", 0),
    ("sample/wavenet", "--seed", -1), ("sample/autoencoder", "--temperature", 0),
    ("sample/autoencoder", "--batch", 0), ("sample/autoencoder", "--seconds", 0),
    ("sample/autoencoder", "--seed", -3), ("sample/embeddings", "--batch", 0),
    ("sample/embeddings", "--seconds", -1), ("sample/embeddings", "--limit", 0),
]


@pytest.mark.parametrize("name, flag, value", SAMPLE_FLAGS)
def test_sampling_flag_out_of_range(capsys, models, tmp_path, out, name, flag, value):
    if name == "sample/wavenet":
        args = ("--model", models["plain"])
    elif name == "sample/autoencoder":
        (tmp_path / "note.wav").write_bytes(wav_bytes())
        args = ("reconstruct", "--model", models["autoencoder"], tmp_path / "note.wav",
                "--pitch", 60)
    else:
        args = ("--model", models["autoencoder"], "--dataset",
                write_nsynth(tmp_path / "nsynth") / "nsynth-train")
    refused(capsys, tmp_path, name, *args, "--out", out, flag, value, names=[flag])


def test_interpolation_needs_two_steps(capsys, models, tmp_path, out):
    notes = [tmp_path / "a.wav", tmp_path / "b.wav"]
    for note in notes:
        note.write_bytes(wav_bytes())
    refused(capsys, tmp_path, "sample/autoencoder", "interpolate", "--model",
            models["autoencoder"], *notes, "--pitch", 60, "--steps", 1, "--out", out,
            names=["--steps"])


# Devices


@pytest.mark.parametrize("device", [("--gpu", "{gpu}"), ("--device", "@cupy:{gpu}"),
                                    ("--device", "nonsense")], ids=["gpu", "cupy", "unknown"])
@pytest.mark.parametrize("name", ["train/wavenet", "sample/wavenet"])
def test_device_that_cannot_be_used(capsys, models, speakers, out, name, device):
    """A GPU id past the usable ones (0 where there is none), or a device that is no device."""
    device = (device[0], device[1].format(gpu=unusable_gpu()))
    if name == "train/wavenet":
        args = ("--dataset", speakers, *TRAIN)
    else:
        args = ("--model", models["plain"])
    line = refused(capsys, speakers.parent, name, *args, "--out", out, *device,
                   names=[" ".join(map(str, device))])
    if device[1] != "nonsense":
        assert refusal_reason() in line
        if not gpu_count():
            assert "CuPy with a working CUDA GPU is not available" in line and "--gpu -1" in line


def test_cupy_that_cannot_be_used_is_refused_with_chainers_reason():
    """Without CuPy: install it; with a CuPy Chainer could not import: why it could not."""
    missing = ModuleNotFoundError("No module named 'cupy'", name="cupy")
    assert what_to_do_without_cupy(missing) == "install the 'gpu' extra (cupy) on a GPU machine"
    broken = ImportError("libcudart.so.13: cannot open shared object file")
    advice = what_to_do_without_cupy(broken)
    assert "ImportError: libcudart.so.13: cannot open shared object file" in advice
    assert "'gpu' extra" not in advice



@pytest.mark.parametrize("device", [("--gpu", 0), ("--device", "@cupy:1")], ids=["gpu", "cupy"])
@pytest.mark.parametrize("name", ["train/wavenet", "train/autoencoder"])
def test_naive_communicator_refuses_a_gpu(capsys, speakers, out, name, device):
    """Refused before MPI or CUDA starts: no mpiexec, no CuPy, no GPU needed here."""
    line = refused(capsys, speakers.parent, name, "--dataset", speakers, *TRAIN, "--out", out,
                   "--communicator", "naive", *device,
                   names=["--communicator naive", " ".join(map(str, device)), "pure_nccl"])
    assert "--gpu -1" in line


@pytest.mark.parametrize("communicator", ["pure_nccl", "flat", "non_cuda_aware"])
def test_gpu_communicators_refuse_the_cpu(communicator):
    with pytest.raises(WaveNetError, match=f"--communicator {communicator} trains on GPUs"):
        check_communicator_device(communicator, -1, "@numpy")
    check_communicator_device(communicator, -1, "@cupy:0")  # --device overrides --gpu
    check_communicator_device(None, 0, None)


# Output folders


@pytest.mark.parametrize("where", ["under-a-file", "a-file", "in-proc"])
@pytest.mark.parametrize("name", ["train/wavenet", "sample/wavenet", "sample/autoencoder",
                                  "train/render_nsynth"])
def test_output_folder_that_cannot_be_written(capsys, models, speakers, name, where):
    folder = speakers.parent
    a_file = speakers / "alice" / "a.wav"
    target = {"under-a-file": a_file / "out", "a-file": a_file,
              "in-proc": "/proc/chainer-wavenet-out"}[where]
    args = {"train/wavenet": ("--dataset", speakers, *TRAIN),
            "sample/wavenet": ("--model", models["plain"], "--length", 10),
            "sample/autoencoder": ("reconstruct", "--model", models["autoencoder"], a_file,
                                   "--pitch", 60),
            "train/render_nsynth": ("--programs", 0, "--pitches", 60)}[name]
    refused(capsys, folder, name, *args, "--out", target, names=[target])


def test_output_folder_without_write_permission(capsys, models):
    def body(folder, model):
        locked = folder / "locked"
        locked.mkdir(mode=0o555)
        refused(capsys, folder, "sample/wavenet", "--model", model, "--out", locked,
                names=[locked, "not writable"])

    SCRIPTS.setdefault("sample/wavenet", script("sample/wavenet"))  # imported with privileges
    run_unprivileged(body, models["plain"])


def test_render_refuses_a_folder_that_is_not_empty(capsys, out):
    refused(capsys, out, "train/render_nsynth", "--out", out, "--programs", 0, "--pitches", 60,
            names=[out, "--force"])


@pytest.mark.parametrize("args, flag", [(("--programs", 130), "programs"),
                                        (("--velocities", 0), "velocities"),
                                        (("--soundfont", "missing.sf2"), "missing.sf2")],
                         ids=["program", "velocity", "soundfont"])
def test_render_refuses_bad_settings(capsys, tmp_path, args, flag):
    refused(capsys, tmp_path, "train/render_nsynth", "--out", tmp_path / "data", *args,
            names=[flag])


# --debug, and a few rows as real processes


def test_debug_shows_the_traceback(capsys, tmp_path):
    with pytest.raises(WaveNetError, match="no such model snapshot"):
        run(capsys, "sample/wavenet", "--model", tmp_path / "none.h5", "--debug")


@pytest.mark.parametrize("row", ["gpu", "naive-gpu", "corrupt-wav", "truncated-resume"])
def test_rows_as_real_processes(trained, tmp_path, row):
    """The same answers from the command line itself, in a process of its own."""
    dataset, out = (shutil.copytree(path, tmp_path / path.name) for path in trained)
    extra = []
    if row == "gpu":
        extra, named = ["--gpu", str(unusable_gpu())], f"--gpu {unusable_gpu()}"
    elif row == "naive-gpu":
        extra, named = ["--communicator", "naive", "--gpu", "0"], "on GPUs use --communicator"
    elif row == "corrupt-wav":
        named = dataset / "bob" / "corrupt.wav"
        named.write_bytes(b"RIFF" + bytes(60))
    else:
        named = out / "snapshot_iter_2.npz"
        named.write_bytes(named.read_bytes()[:3000])
    before = files(tmp_path)
    result = subprocess.run([sys.executable, "train/wavenet.py", "--dataset", str(dataset),
                             "--out", str(out), "--resume", "--validation-fraction", "0.34",
                             *map(str, TRAIN), *extra],
                            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert str(named) in result.stderr
    assert files(tmp_path) == before


# Random arrays through the WAV reader (random bytes: tests/test_fuzz_audio.py)

# Largest error of a value in [-1, 1] stored at each subtype and read back.
RESOLUTION = {"PCM_U8": 2.0**-7, "PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "PCM_32": 2.0**-24,
              "FLOAT": 0.0, "DOUBLE": 0.0}


@st.composite
def wav_contents(draw):
    """A subtype, and frames x channels of audio it can hold: PCM takes [-1, 1], float all."""
    subtype = draw(st.sampled_from(sorted(RESOLUTION)))
    pcm = subtype.startswith("PCM")
    elements = (st.floats(-1.0, 1.0, width=32) if pcm else
                st.floats(allow_nan=True, allow_infinity=True, width=32))
    shape = (draw(st.integers(0, 50)), draw(st.sampled_from([1, 1, 1, 2])))
    return subtype, draw(hnp.arrays(np.float32, shape, elements=elements))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=wav_contents(), rate=st.sampled_from([8000, 16000]))
def test_read_wav_of_random_arrays(tmp_path, contents, rate):
    """The samples back to the format's resolution, or a WaveNetError naming the file."""
    subtype, audio = contents
    path = tmp_path / "random.wav"
    soundfile.write(path, audio, rate, subtype=subtype, format="WAV")
    peak = float(np.max(np.abs(audio), initial=0.0)) if np.all(np.isfinite(audio)) else np.inf
    refusal = ("channels" if audio.shape[1] != 1 else "sample rate" if rate != RATE else
               "no audio" if len(audio) == 0 else "NaN" if not np.all(np.isfinite(audio)) else
               r"outside \[-1, 1\]" if peak > 1 + CLIP_TOLERANCE else None)
    if refusal:
        with pytest.raises(WaveNetError, match=refusal) as error:
            read_wav(path, RATE)
        assert str(error.value).startswith(str(path))
        return
    samples = read_wav(path, RATE)
    assert samples.dtype == np.float32 and samples.shape == (len(audio),)
    expected = np.clip(audio[:, 0], -1.0, 1.0)
    np.testing.assert_allclose(samples, expected, rtol=0, atol=RESOLUTION[subtype] + 1e-7)
