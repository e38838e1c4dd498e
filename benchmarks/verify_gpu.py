"""Proves the GPU path in one command: a PASS or FAIL line per check, then a summary.

    python benchmarks/verify_gpu.py --gpu 0 [--out report.json]
    python benchmarks/verify_gpu.py --device @numpy --quick     # the same checks, tiny, on a CPU

In order: the tests marked ``gpu``; both train scripts on tiny data written to a temporary
folder; a resume on the device and one on the CPU from the device's snapshot; both sample
scripts; the trained WaveNet's logits on the device against the CPU's; ``benchmarks/gpu.py``.
Every check but the logits comparison runs the project's own command lines as subprocesses.
The exit status is 0 only if every check passes.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from chainer_wavenet import snapshot  # first: sets chainer up
from chainer_wavenet.audio.wav import read_wav, write_wav
from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.errors import WaveNetError

# isort: split
import chainer

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
# --quick or not: training steps, the step each resume reaches (a multiple of the log's
# interval), crops
SIZES = {
    False: {"iteration": 200, "interval": 50, "resumed": 300, "cpu resumed": 250,
            "length": 1024, "batchsize": 4},
    True: {"iteration": 8, "interval": 4, "resumed": 12, "cpu resumed": 12,
           "length": 64, "batchsize": 2},
}
LOGIT_TOLERANCE = 1e-4  # relative, and absolute as a share of the largest |logit|


class CheckFailed(Exception):
    """A check's own finding, reported as its FAIL line without a traceback."""


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="few steps and benchmarks/gpu.py --quick: checks that every step runs")
    parser.add_argument("--out", default=None, help="also write the report to this JSON file")
    add_device_arguments(parser)
    return parser


def tone(rng, seconds, frequency):
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.4 * np.sin(2 * np.pi * frequency * t) + 0.02 * rng.standard_normal(t.size)


def write_speakers(root):
    """Two speakers of two one-second tones each."""
    rng = np.random.default_rng(0)
    for speaker, frequencies in (("alice", (220, 247)), ("bob", (330, 370))):
        (root / speaker).mkdir(parents=True)
        for index, frequency in enumerate(frequencies):
            write_wav(root / speaker / f"{index}.wav", tone(rng, 1.0, frequency), RATE)
    return root


def write_nsynth(root):
    """NSynth layout: 2 instruments x 3 pitches to train on, one note of each to validate."""
    rng = np.random.default_rng(1)
    instruments = (("keyboard_acoustic_000", 4), ("string_acoustic_001", 8))
    for split, pitches in (("train", (60, 64, 67)), ("valid", (62,))):
        folder = root / f"nsynth-{split}"
        (folder / "audio").mkdir(parents=True)
        examples = {}
        for instrument, family in instruments:
            for pitch in pitches:
                name = f"{instrument}-{pitch:03d}-100"
                write_wav(folder / "audio" / f"{name}.wav",
                          tone(rng, 1.0, 440 * 2 ** ((pitch - 69) / 12)), RATE)
                examples[name] = dict(pitch=pitch, velocity=100, instrument=family,
                                      instrument_str=instrument, instrument_family=family,
                                      instrument_source=0)
        (folder / "examples.json").write_text(json.dumps(examples))
    return root


def last_lines(text, count=5):
    """The last ``count`` lines of ``text`` on one line."""
    return " | ".join(text.strip().splitlines()[-count:])


def run_python(*args, timeout=300, ok_codes=(0,)):
    """Run ``python ARGS`` in the repository; its CompletedProcess, or CheckFailed."""
    result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode not in ok_codes:
        raise CheckFailed(f"exit {result.returncode}: "
                          f"{last_lines(result.stderr) or last_lines(result.stdout)}")
    return result


class Verification:
    """The checks, in order, sharing a device, sizes and a temporary folder."""

    def __init__(self, device_spec, quick, folder):
        self.device_spec = device_spec
        self.quick = quick
        self.sizes = SIZES[quick]
        self.folder = folder
        self.speakers = write_speakers(folder / "speakers")
        self.nsynth = write_nsynth(folder / "nsynth")
        self.outputs = {}  # check name -> a command's full output worth keeping

    def checks(self):
        return {"gpu tests": self.gpu_tests,
                "train wavenet": self.train_wavenet,
                "train autoencoder": self.train_autoencoder,
                "resume autoencoder": self.resume_autoencoder,
                "resume wavenet on cpu": self.resume_wavenet_on_cpu,
                "sample wavenet": self.sample_wavenet,
                "sample autoencoder": self.sample_autoencoder,
                "logits device vs cpu": self.compare_logits,
                "gpu benchmark": self.gpu_benchmark}

    def gpu_tests(self):
        result = run_python("-m", "pytest", "-m", "gpu", "tests", "-q", "-p", "no:cacheprovider",
                            ok_codes=(0, 5))
        summary = result.stdout.strip().splitlines()[-1]
        if result.returncode == 5:
            return f"no test is marked gpu: 0 collected ({summary})"
        return summary

    def train_flags(self, script, out, device_spec, iteration):
        data = (("--dataset", self.speakers, "--validation-fraction", 0.25)
                if script == "wavenet" else
                ("--dataset", self.nsynth, "--preview-notes", 1, "--preview-seconds", 0.05))
        return (f"train/{script}.py", *data, "--out", out, "--iteration", iteration,
                "--interval", self.sizes["interval"], "--length", self.sizes["length"],
                "--batchsize", self.sizes["batchsize"], "--validation-crops", 4,
                "--seed", 0, "--device", device_spec)

    def train(self, script):
        out = self.folder / script
        steps = self.sizes["iteration"]
        run_python(*self.train_flags(script, out, self.device_spec, steps))
        return f"{steps} steps: {losses(out, steps)}"

    def train_wavenet(self):
        return self.train("wavenet")

    def train_autoencoder(self):
        return self.train("autoencoder")

    def resume(self, script, out, device_spec, iteration):
        result = run_python(*self.train_flags(script, out, device_spec, iteration), "--resume")
        started = re.search(r"resumed from \S+ at iteration (\d+)", result.stdout)
        if not started or int(started[1]) != self.sizes["iteration"]:
            raise CheckFailed(f"did not resume from step {self.sizes['iteration']}: "
                              f"{last_lines(result.stdout)}")
        return f"from step {started[1]} to {iteration} on {device_spec}: {losses(out, iteration)}"

    def resume_autoencoder(self):
        return self.resume("autoencoder", self.folder / "autoencoder", self.device_spec,
                           self.sizes["resumed"])

    def resume_wavenet_on_cpu(self):
        out = self.folder / "wavenet-on-cpu"
        shutil.copytree(self.folder / "wavenet", out)
        return self.resume("wavenet", out, "@numpy", self.sizes["cpu resumed"])

    def sample_wavenet(self):
        out = self.folder / "wavenet-samples"
        run_python("sample/wavenet.py", "--model", self.folder / "wavenet" / "model.h5",
                   "--length", "0.1s", "--speaker", "alice", "--seed", 0, "--out", out,
                   "--device", self.device_spec)
        return wav_summary(out)

    def sample_autoencoder(self):
        out = self.folder / "reconstructions"
        run_python("sample/autoencoder.py", "reconstruct",
                   "--model", self.folder / "autoencoder" / "model.h5",
                   "--dataset", self.nsynth, "--split", "valid", "--limit", 1, "--seconds", 0.1,
                   "--seed", 0, "--out", out, "--device", self.device_spec)
        return wav_summary(out)

    def compare_logits(self):
        path = self.folder / "wavenet" / "model.h5"
        device = get_device(device=self.device_spec)
        on_device = snapshot.load(path, device)
        on_cpu = snapshot.load(path, get_device(device="@numpy"))
        rng = np.random.default_rng(0)
        classes = rng.integers(0, on_cpu.config.n_classes,
                               (2, on_cpu.receptive_field + 512)).astype(np.int32)
        speakers = (np.arange(2, dtype=np.int32) % on_cpu.config.n_global
                    if on_cpu.config.n_global else None)
        with chainer.no_backprop_mode():
            expected = on_cpu(classes, speakers).array
            found = on_device(device.send(classes),
                              None if speakers is None else device.send(speakers)).array
        found = chainer.backends.cuda.to_cpu(found)
        largest = float(np.abs(expected).max())
        difference = float(np.abs(found - expected).max())
        summary = (f"{expected.shape} logits, max |difference| {difference:.2e}, "
                   f"max |logit| {largest:.2f}")
        if not np.allclose(found, expected, rtol=LOGIT_TOLERANCE,
                           atol=LOGIT_TOLERANCE * largest):
            raise CheckFailed(f"{summary}: beyond rtol {LOGIT_TOLERANCE}, "
                              f"atol {LOGIT_TOLERANCE} x max |logit|")
        return summary

    def gpu_benchmark(self):
        out = self.folder / "gpu.json"
        quick = ("--quick",) if self.quick else ()
        result = run_python("benchmarks/gpu.py", "--device", self.device_spec, *quick,
                            "--out", out, timeout=480)
        self.outputs["gpu benchmark"] = result.stdout
        figures = json.loads(out.read_text())["figures"]
        if not figures or min(figures.values()) <= 0:
            raise CheckFailed(f"missing or non-positive figures: {figures}")
        return (f"{len(figures)} figures; generation S, batch 1: "
                f"{figures['generation S 1']:,.0f} samples/s (table below)")


def losses(out, iteration):
    """First and last training loss of ``out``'s log; CheckFailed unless it reached
    ``iteration`` with a finite loss and wrote its snapshot and model."""
    log = json.loads((out / "log").read_text())
    for name in (f"snapshot_iter_{iteration}.npz", "model.h5"):
        if not (out / name).exists():
            raise CheckFailed(f"{out / name} was not written")
    if log[-1]["iteration"] != iteration:
        raise CheckFailed(f"log ends at step {log[-1]['iteration']}, not {iteration}")
    last = log[-1]["main/loss"]
    if not np.isfinite(last):
        raise CheckFailed(f"training loss {last} at step {iteration}")
    first = log[0]
    return f"loss {first['main/loss']:.3f} at step {first['iteration']}, {last:.3f} at {iteration}"


def wav_summary(folder):
    """How many WAV files ``folder`` holds and their lengths; CheckFailed if none."""
    lengths = [len(read_wav(path)) for path in sorted(folder.rglob("*.wav"))]
    if not lengths:
        raise CheckFailed(f"no WAV file written in {folder}")
    return f"{len(lengths)} WAV file(s) of {', '.join(map(str, lengths))} samples"


def run_checks(verification):
    """Each check's status, result or error and seconds, printing a line as each ends."""
    report = {}
    for name, check in verification.checks().items():
        start = time.perf_counter()
        try:
            entry = {"status": "PASS", "result": check()}
        except CheckFailed as failure:
            entry = {"status": "FAIL", "error": str(failure)}
        except Exception as error:  # a check's own bug or a timeout: its line says which
            entry = {"status": "FAIL", "error": f"{type(error).__name__}: {error}",
                     "traceback": traceback.format_exc()}
        entry["seconds"] = round(time.perf_counter() - start, 1)
        if name in verification.outputs:
            entry["output"] = verification.outputs[name]
        report[name] = entry
        print(f"{entry['status']}  {name:24} {entry.get('result', entry.get('error'))} "
              f"({entry['seconds']} s)", flush=True)
        if "output" in entry:
            print(entry["output"].rstrip(), flush=True)
    return report


def main():
    args = build_parser().parse_args()
    try:
        device = get_device(args.gpu, args.device)
    except WaveNetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    device_spec = device.name
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="verify_gpu-") as folder:
        checks = run_checks(Verification(device_spec, args.quick, Path(folder)))
    passed = sum(entry["status"] == "PASS" for entry in checks.values())
    seconds = round(time.perf_counter() - started, 1)
    print(f"{passed} of {len(checks)} checks passed on {device_spec} in {seconds} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": " ".join(sys.argv), "device": device_spec, "quick": args.quick,
                       "seconds": seconds, "passed": passed, "checks": checks}, f, indent=2)
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
