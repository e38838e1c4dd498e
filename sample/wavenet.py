"""Generate audio from a trained WaveNet, vocoder or student snapshot; or `evaluate` one.

    python sample/wavenet.py --model result/model.h5 --length 2s --batch 4
    python sample/wavenet.py --model result/vocoder/model.h5 --condition speech.wav
    python sample/wavenet.py --model result/model.h5 --no-ema     # raw weights, not the average
    python sample/wavenet.py --model result/student/model.h5 --condition speech.wav

Softmax models draw from softmax(logits / T); mixture-of-logistics models (trained with
--output logistic_mixture) pick a logistic from softmax(weights / T) and draw from it with
its scale times T; T = --temperature. Models trained with --ema sample with the moving
average of their weights unless --no-ema. A Parallel WaveNet student (train/student.py)
plays the whole file in one pass, from logistic noise of scale T; it takes no --prime.
    python sample/wavenet.py evaluate --model result/vocoder/model.h5 --dataset DIR

``evaluate`` measures a model on a folder of recordings (laid out as for training):
bits per sample of each, and for a vocoder the log-mel distance of its resynthesis of
each recording's first ``--seconds`` from that recording.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import chainer_wavenet  # noqa: F401  (before chainer)
from chainer_wavenet import cli, evaluations
from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.mel import log_mel
from chainer_wavenet.datasets.folder import load_folder, relative_name
from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.files import ensure_output_dir
from chainer_wavenet.models.student import Student, synthesize
from chainer_wavenet.sampling import (
    evaluation,
    inputs as sampling_inputs,
    outputs as sampling_outputs,
    synthesis,
)
from chainer_wavenet.sampling.generate import GenerationInterrupted, check_generation_args
from chainer_wavenet.training.student_losses import recording_nll_bits


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="sample/wavenet.py evaluate --model M.h5 --dataset DIR [--split valid]: bits "
               "per sample of each recording (and a vocoder's log-mel distance); "
               "sample/wavenet.py evaluate --help for its flags")
    parser.add_argument("--model", required=True, help="model snapshot (.h5) written by training")
    parser.add_argument("--out", default="result/samples",
                        help="output folder (default %(default)s)")
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument("--length",
                          help="new samples per file, or seconds with an s suffix (default 1s; "
                               "with --condition, the rest of that file)")
    duration.add_argument("--seconds", type=float,
                          help="new seconds per file, as the other sample commands say it "
                               "(--seconds 2 is --length 2s)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="1 = the model's distribution, < 1 sharper (softmax: logits / T; "
                             "mixture: weight logits / T and scales x T)")
    parser.add_argument("--top-p", type=float, default=1.0,
                        help="softmax models: draw each sample from the fewest most likely "
                             "classes holding this share of the probability (default 1: any)")
    parser.add_argument("--batch", type=int, default=1,
                        help="files generated together (default 1)")
    parser.add_argument("--speaker", help="speaker name or id, for speaker-conditioned models")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable output")
    parser.add_argument("--prime", metavar="WAV",
                        help="continue the start of this WAV (written at the start of each file)")
    parser.add_argument("--prime-length",
                        help="samples (or seconds with s) of --prime to use; default: the "
                             "receptive field, or the whole file if shorter")
    parser.add_argument("--condition", metavar="WAV",
                        help="follow the mel spectrogram of this WAV (models trained with --mel); "
                             "--prime, if given, stands for its start")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    sampling_inputs.add_ema_argument(parser)
    add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    check_generation_args(1, args.batch, args.temperature, args.top_p)
    if args.seed is not None and args.seed < 0:
        raise chainer_wavenet.WaveNetError(f"--seed must be >= 0, got {args.seed}")
    if args.seconds is not None:
        args.length = f"{args.seconds}s"
    if args.prime_length is not None and args.prime is None:
        raise chainer_wavenet.WaveNetError("--prime-length needs --prime WAV")
    model = sampling_inputs.load_model(args.model, get_device(args.gpu, args.device),
                                       autoencoder=False, raw=args.no_ema)
    rate = sampling_inputs.sample_rate(model)
    speaker = sampling_inputs.speaker_id(model, args.speaker)
    student = isinstance(model, Student)
    if student and args.prime is not None:
        raise chainer_wavenet.WaveNetError(f"--prime: {args.model} is a Parallel WaveNet "
                                           f"student, which plays from noise in one pass and "
                                           f"cannot continue a recording; leave --prime out")
    print(describe(model))
    prime = None
    if args.prime is not None:
        prime_length = sampling_inputs.parse_duration(args.prime_length or model.receptive_field,
                                                      rate, "--prime-length")
        prime = sampling_inputs.read_prime(args.prime, model, prime_length)
        print(f"priming with the first {len(prime)} samples of {args.prime}")
    features, length, recording = conditioning(args, model, rate,
                                               0 if prime is None else len(prime))
    if args.length is not None and length < model.receptive_field:
        print(f"warning: --length {args.length} is {length} samples ({length / rate:.3f} s), "
              f"less than one receptive field of the model ({model.receptive_field} samples); "
              f"for seconds write --length {args.length}s or --seconds {args.length}",
              file=sys.stderr)
    out = ensure_output_dir(args.out)
    stems = sampling_outputs.unused_stems(out, [f"sample_{i:03d}" for i in range(args.batch)],
                                          args.force)

    start = time.perf_counter()
    if student and args.top_p < 1:
        raise chainer_wavenet.WaveNetError("--top-p is for softmax models; a student is "
                                           "sharpened by --temperature")
    if student:
        audio = synthesize(model, length, args.batch, args.temperature, speaker, args.seed,
                           features)
    else:
        try:
            audio = synthesis.sample_audio(model, length, args.batch, args.temperature,
                                           speaker, prime, args.seed, features=features,
                                           top_p=args.top_p)
        except GenerationInterrupted as stop:
            originals = None if recording is None else [recording] * args.batch
            written = sampling_outputs.write_interrupted(out, stems, stop, rate, args.force,
                                                         originals)
            print(*sampling_outputs.interrupted_lines(written, rate), sep="\n")
            raise
    seconds = time.perf_counter() - start
    for stem, samples in zip(stems, audio, strict=True):
        original = None if recording is None else recording[:len(samples)]
        wav, png = sampling_outputs.write_outputs(out, stem, samples, rate, args.force, original,
                                                  0 if prime is None else len(prime))
        print(f"wrote {wav} ({len(samples)} samples, {len(samples) / rate:.2f} s at {rate} Hz) "
              f"and {png.name}")
    print(f"generated {args.batch} x {length} samples in {seconds:.1f} s "
          f"({args.batch * length / seconds:.0f} samples/s)")


def describe(model):
    """Which kind of model plays, and how, in words."""
    if isinstance(model, Student):
        layers = ", ".join(map(str, model.config.flow_layers))
        return (f"student (Parallel WaveNet): {len(model.config.flow_layers)} flows of "
                f"{layers} layers, one parallel pass")
    config = model.config
    how = "autoregressive, one sample at a time"
    if not config.local_channels:
        return f"WaveNet: {how}"
    if config.output == "logistic_mixture":
        return (f"teacher (WaveNet): {how}; a mixture-of-logistics vocoder, the kind a student "
                f"learns from")
    return f"vocoder (WaveNet on mel frames): {how}"


def conditioning(args, model, rate, primed):
    """Mel features to follow, the new samples per file, and the recording the features
    come from (None and None without --condition)."""
    mel = sampling_inputs.mel_settings(model)
    if mel is None:
        if args.condition is not None:
            raise chainer_wavenet.WaveNetError(f"--condition: {args.model} is not conditioned "
                                               f"on mel spectrograms (train with --mel)")
        return None, sampling_inputs.parse_duration(args.length or "1s", rate, "--length"), None
    if args.condition is None:
        raise chainer_wavenet.WaveNetError(f"{args.model}: follows a {mel.n_mels}-band mel "
                                           f"spectrogram: pass --condition WAV")
    features, recording = sampling_inputs.read_condition(args.condition, model)
    samples = len(recording)
    available = samples - primed
    if available < 1:
        raise chainer_wavenet.WaveNetError(f"--condition {args.condition}: its {samples} "
                                           f"samples leave none to generate after the "
                                           f"{primed}-sample prime")
    if args.length is None:
        return features, available, recording
    length = sampling_inputs.parse_duration(args.length, rate, "--length")
    if length > available:
        raise chainer_wavenet.WaveNetError(f"--length {args.length}: {args.condition} covers "
                                           f"only {available} samples after the prime")
    return features, length, recording


def build_evaluate_parser():
    parser = argparse.ArgumentParser(
        prog="sample/wavenet.py evaluate",
        description="Bits per sample of a WaveNet on a folder of recordings; for a vocoder "
                    "also the log-mel distance of its resynthesis of each.")
    parser.add_argument("--model", required=True, help="model snapshot (.h5) written by training")
    parser.add_argument("--dataset", required=True, metavar="DIR",
                        help="WAV files, or one subfolder of WAVs per speaker, as for training")
    parser.add_argument("--out", default="result/evaluation",
                        help="output folder (default %(default)s)")
    parser.add_argument("--split", choices=("all", "train", "valid"), default="all",
                        help="which files of --dataset: all (default), or those training held "
                             "out for validation (valid) or trained on (train), as the "
                             "snapshot records them")
    parser.add_argument("--limit", type=int, help="only the first N files")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="a vocoder resynthesizes this much of each file (default 1)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="temperature of the resynthesis (see sample/wavenet.py --help)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    sampling_inputs.add_ema_argument(parser)
    add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def evaluate(args):
    """Measure the model on every file of --dataset; write evaluation.json (and WAVs)."""
    check_generation_args(1, 1, args.temperature)
    if args.limit is not None and args.limit < 1:
        raise chainer_wavenet.WaveNetError(f"--limit must be >= 1, got {args.limit}")
    model = sampling_inputs.load_model(args.model, get_device(args.gpu, args.device),
                                       autoencoder=False, raw=args.no_ema)
    rate = sampling_inputs.sample_rate(model)
    mel = sampling_inputs.mel_settings(model)
    length = sampling_inputs.note_length(args.seconds, rate)
    config = model.config
    folder = load_folder(args.dataset, rate, config.n_classes, quantization=config.quantization)
    chosen = split_files(model, folder, args)
    out = ensure_output_dir(args.out)
    sampling_outputs.check_free(out, ["evaluation"], args.force, (".json",))
    rows = []
    count = len(chosen) if args.limit is None else min(args.limit, len(chosen))
    for i in tqdm(chosen[:count], desc="evaluating", unit="file"):
        classes, path = np.asarray(folder.waveforms[i]), folder.paths[i]
        speaker = None if folder.speakers is None else folder.speaker_names[folder.speakers[i]]
        global_id = sampling_inputs.speaker_id(model, speaker)
        if len(classes) <= model.receptive_field:
            raise chainer_wavenet.WaveNetError(
                f"{path}: {len(classes)} samples, not longer than the model's receptive field "
                f"({model.receptive_field})")
        audio = quantization.decode(classes, config.n_classes, config.quantization)
        features = None if mel is None else log_mel(audio, rate, mel)
        nll_bits = (recording_nll_bits if isinstance(model, Student)
                    else evaluations.recording_nll_bits)
        row = {"file": str(path), "speaker": speaker, "samples": len(classes),
               "nll_bits": nll_bits(model, classes, global_id, features)}
        if mel is not None:
            played = play(model, min(length, len(audio)), args.temperature, global_id,
                          args.seed, features)
            row["log_mel_db"] = evaluations.log_mel_distance(played, audio[:len(played)], rate)
            stem = f"{i:03d}_{Path(path).stem}"
            sampling_outputs.write_outputs(out, stem, played, rate, True, audio[:len(played)])
        rows.append(row)
    results = {"command": " ".join(sys.argv), "model": os.path.abspath(args.model),
               "kind": "student" if isinstance(model, Student) else "wavenet",
               "bits_per_sample_of": quantization.describe(config.n_classes,
                                                           config.quantization),
               "settings": {"dataset": args.dataset, "split": args.split,
                            "seconds": args.seconds,
                            "temperature": args.temperature, "seed": args.seed},
               "summary": evaluation.recording_summary(rows), "files": rows}
    sampling_outputs.save_json(out / "evaluation.json", results, args.force)
    print(evaluation.recording_table(results["summary"]))
    print(f"bits per sample: teacher-forced negative log-likelihood of the recordings as "
          f"{results['bits_per_sample_of']} samples")
    print(f"wrote {out / 'evaluation.json'}" + (f" and {count} resyntheses (WAV + PNG) in {out}"
                                               if mel is not None else ""))


def split_files(model, folder, args):
    """Indices of ``folder``'s files that --split asks for, by the split the snapshot holds."""
    if args.split == "all":
        return list(range(len(folder)))
    split = model.metadata.get("split")
    if split is None:
        raise chainer_wavenet.WaveNetError(
            f"--split {args.split}: {args.model} records no validation split (trained before "
            f"splits were stored, or not by train/wavenet.py); use --split all")
    if split["single_file"]:
        raise chainer_wavenet.WaveNetError(
            f"--split {args.split}: {args.model} held out the last "
            f"{split['validation_fraction']:g} of its one training file, not whole files; "
            f"use --split all")
    held = set(split["validation_files"])
    names = [relative_name(path, args.dataset) for path in folder.paths]
    missing = sorted(held - set(names))
    if missing:
        raise chainer_wavenet.WaveNetError(
            f"--dataset {args.dataset}: lacks {len(missing)} of the files {args.model} held out "
            f"for validation ({missing[0]}, ...); give the folder it was trained on")
    return [i for i, name in enumerate(names) if (name in held) == (args.split == "valid")]


def play(model, length, temperature, speaker, seed, features):
    """One resynthesis (length,) of ``features`` by a WaveNet or a student."""
    if isinstance(model, Student):
        return synthesize(model, length, 1, temperature, speaker, seed, features)[0]
    return synthesis.sample_audio(model, length, 1, temperature, speaker, seed=seed,
                                  progress=False, features=features)[0]


if __name__ == "__main__":
    if sys.argv[1:2] == ["evaluate"]:
        cli.run(evaluate, build_evaluate_parser(), sys.argv[2:])
    else:
        cli.run(main, build_parser())
