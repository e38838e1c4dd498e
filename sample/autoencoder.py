"""Use a trained WaveNet autoencoder: encode notes, resynthesize them, change pitch, morph.

    python sample/autoencoder.py encode --model M.h5 --dataset data/nsynth --split valid
    python sample/autoencoder.py decode --model M.h5 --z result/samples/embeddings.h5
    python sample/autoencoder.py reconstruct --model M.h5 note.wav --pitch 60
    python sample/autoencoder.py pitch --model M.h5 --dataset DIR --note NAME --pitches 48,55
    python sample/autoencoder.py interpolate --model M.h5 a.wav b.wav --pitch 60 --steps 5
    python sample/autoencoder.py evaluate --model M.h5 --dataset DIR --split test --shift=-5,5
    python sample/autoencoder.py transfer --model M.h5 --timbre A.wav --melody B.mid
"""

import argparse
import dataclasses
import os
import sys
import time

import numpy as np
from tqdm.auto import tqdm

import chainer_wavenet  # noqa: F401  (before chainer)
from chainer_wavenet import cli, evaluations
from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.harmonic_filter import check_periods
from chainer_wavenet.audio.pitch_estimate import midi_to_hz, weak_fundamental
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets import melody
from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.files import ensure_output_dir
from chainer_wavenet.sampling import (
    evaluation,
    inputs as sampling_inputs,
    outputs as sampling_outputs,
    synthesis,
    transfer,
)
from chainer_wavenet.sampling.generate import GenerationInterrupted, check_generation_args
from chainer_wavenet.sampling.listening_page import write_listening_page
from chainer_wavenet.visualizations import plots


def common_arguments(notes=True, sampling=True):
    """The flags of a command: ``notes`` it reads (WAVs or a dataset), and ``sampling``
    flags for commands that decode."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model", required=True, help="autoencoder snapshot (.h5)")
    parser.add_argument("--out", default="result/samples",
                        help="output folder (default %(default)s)")
    if sampling:
        parser.add_argument("--temperature", type=float, default=1.0,
                            help="softmax temperature: 1 = the model's distribution, < 1 "
                                 "sharper")
        parser.add_argument("--top-p", type=float, default=1.0,
                            help="draw each sample from the fewest most likely classes "
                                 "holding this share of the probability (nucleus sampling; "
                                 "default 1: any class); lower keeps the improbable tail, "
                                 "heard as a noise floor, out (docs/quality.md)")
        parser.add_argument("--harmonic-filter", type=int, default=0, metavar="PERIODS",
                            help="average each played sample with the samples 1..PERIODS "
                                 "pitch periods before and after it: the harmonics pass, the "
                                 "noise between them is cut, changes are spread over that "
                                 "many periods (a pitch postfilter; default 0: none; "
                                 "evaluate: adds a row of the reconstructions filtered)")
        parser.add_argument("--seed", type=int, help="random seed, for repeatable output")
    else:
        parser.set_defaults(temperature=1.0, top_p=1.0, harmonic_filter=0, seed=None)
    sampling_inputs.add_ema_argument(parser)
    parser.add_argument("--batch", type=int, default=1,
                        help="notes encoded or decoded in one pass (default 1)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    add_device_arguments(parser)
    cli.add_common_arguments(parser)
    if notes:
        add_note_arguments(parser)
    return parser


def add_note_arguments(parser):
    parser.add_argument("wavs", nargs="*", metavar="WAV",
                        help="input notes as audio files (WAV, FLAC, OGG, MP3, AIFF)")
    parser.add_argument("--dataset", metavar="DIR", help="NSynth-layout folder instead of WAVs")
    parser.add_argument("--split", help="split of --dataset: train, valid or test")
    parser.add_argument("--note", action="append", metavar="NAME",
                        help="a note of --dataset by name, or every note matching a pattern "
                             "like '*-ode-to-joy' (repeat for more)")
    parser.add_argument("--pitch", type=int,
                        help="MIDI pitch 0..127 of WAV inputs (default: estimated from "
                             "their f0); replaces a dataset note's pitch")
    parser.add_argument("--seconds", type=float,
                        help="use only the first seconds of each note (default: all of it)")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # A parent parser's actions are shared by its children: each command gets its own, so
    # that one command's defaults (evaluate's --seconds) are not every command's.
    encode = commands.add_parser(
        "encode", parents=[common_arguments(sampling=False)],
        help="notes -> z (embeddings.h5: z, names, pitches; --pitch is stored for WAVs)")
    encode.add_argument("--limit", type=int, help="only the first N notes")
    encode.add_argument("--format", choices=("h5", "npy"), default="h5",
                        help="one embeddings.h5 (default) or one .npy per note")
    decode = commands.add_parser(
        "decode", parents=[common_arguments(notes=False)],
        help="z written by encode (edited or not) -> audio")
    decode.add_argument("--z", required=True, metavar="FILE",
                        help="embeddings.h5 or a note's .npy, as encode writes them")
    decode.add_argument("--pitch", type=int,
                        help="MIDI pitch 0..127 to play every note at (default: the pitch "
                             "stored with each z; needed for a .npy)")
    decode.add_argument("--limit", type=int, help="only the first N notes")
    decode.set_defaults(seconds=None)
    reconstruct = commands.add_parser("reconstruct", parents=[common_arguments()],
                                      help="notes -> z -> audio at their own pitch")
    reconstruct.add_argument("--limit", type=int, help="only the first N notes")
    pitch = commands.add_parser("pitch", parents=[common_arguments()],
                                help="one note's z at other pitches")
    pitch.add_argument("--pitches", required=True, help="MIDI pitches, e.g. 48,55,60")
    interpolate = commands.add_parser("interpolate", parents=[common_arguments()],
                                      help="notes A, B -> z mixed in steps, at A's pitch")
    interpolate.add_argument("--steps", type=int, default=5,
                             help="mixes from A to B, both ends included (default 5)")
    evaluate = commands.add_parser(
        "evaluate", parents=[common_arguments()],
        help="likelihood, pitch accuracy and spectral distance of reconstructions")
    evaluate.add_argument("--limit", type=int, help="only the first N notes")
    evaluate.add_argument("--shift", default="",
                          help="also re-pitch every note by these semitones, e.g. --shift=-5,5")
    evaluate.add_argument("--prime-seconds", type=float, default=0.0,
                          help="also play each note's first seconds as they are and measure "
                               "the pitch of the decoder's continuation (default 0: not)")
    evaluate.add_argument("--one-step", action="store_true",
                          help="also play each note one step at a time from its true past "
                               "(each sample drawn given the original's samples before it): "
                               "the model's spread alone, without its own errors fed back")
    evaluate.set_defaults(split="test", seconds=2.0, seed=0, out="result/evaluation")
    transfer_parser = commands.add_parser(
        "transfer", parents=[common_arguments()],
        help="the timbre of each input (--timbre WAV or --dataset) playing --melody")
    transfer_parser.add_argument("--timbre", action="append", default=[], metavar="WAV",
                                 help="a recording whose timbre to use (repeat for more)")
    transfer_parser.add_argument("--melody", required=True,
                                 help="what to play: a built-in tune "
                                      f"({', '.join(melody.BUILTIN)}), a MIDI file, or a "
                                      "WAV recording (its pitch tracked by pYIN)")
    transfer_parser.add_argument("--z", choices=transfer.Z_MODES, default="mean",
                                 help="mean: the timbre's z averaged over its loud frames "
                                      "for notes (quiet frames for rests); stretch: its z "
                                      "track stretched to the melody (default %(default)s)")
    transfer_parser.add_argument("--transpose", type=int, default=0,
                                 help="move the melody by semitones (default 0)")
    transfer_parser.add_argument("--top-voice", action="store_true",
                                 help="of a polyphonic MIDI file, play the highest note")
    transfer_parser.add_argument("--limit", type=int, help="only the first N timbres")
    return parser


def run_transfer(args, model, rate, max_samples):
    """Play the melody with every timbre asked for; WAVs, PNGs with the target pitch drawn
    over, and transfer.json with how well each follows the melody."""
    if not (args.wavs or args.timbre or args.dataset):
        raise chainer_wavenet.WaveNetError("transfer: no timbre to play the melody with; give "
                                           "--timbre WAV (repeat for more) or --dataset DIR")
    target = transfer.load_target(args.melody, rate, args.top_voice).transposed(args.transpose)
    args.wavs = list(args.wavs) + args.timbre
    timbres = select(args, rate, limit=args.limit)
    stems = [f"{n.name}_plays_{target.name}" for n in timbres]
    out = ensure_output_dir(args.out)
    sampling_outputs.check_free(out, stems, args.force)
    sampling_outputs.check_free(out, ["transfer"], args.force, (".json",))
    audios = [sampling_inputs.read_note(n, model.hop, max_samples) for n in timbres]
    played = transfer.transfer_all(model, audios, target, args.z, args.batch,
                                   args.temperature, args.seed, top_p=args.top_p,
                                   harmonic_filter=args.harmonic_filter)
    rows = []
    for stem, timbre, audio, result in zip(stems, timbres, audios, played, strict=True):
        wav = out / f"{stem}.wav"
        write_wav(wav, result, rate, force=args.force)
        plots.save_spectrograms_side_by_side(
            wav.with_suffix(".png"), [(f"timbre: {timbre.name}", audio),
                                      (f"plays {target.name}", result)],
            rate, args.force, track=target.track, max_hz=4000)
        measured = transfer.measure(result, rate, target)
        rows.append({"timbre": timbre.name, "wav": str(wav), **measured})
        share = measured["within_50_cents"]
        print(f"wrote {wav} and its PNG: {round((share or 0) * measured['count'])} of "
              f"{measured['count']} {measured['unit']} within 50 cents of the melody")
    count = sum(r["count"] for r in rows)
    within = sum((r["within_50_cents"] or 0) * r["count"] for r in rows)
    summary = {"timbres": len(rows), "unit": rows[0]["unit"], "count": count,
               "within_50_cents": within / count if count else None}
    sampling_outputs.save_json(out / "transfer.json", {
        "command": " ".join(sys.argv), "model": os.path.abspath(args.model),
        "melody": target.name, "z": args.z, "transpose": args.transpose,
        "temperature": args.temperature, "top_p": args.top_p,
        "harmonic_filter": args.harmonic_filter, "seed": args.seed, "summary": summary,
        "timbres": rows}, args.force)
    print(f"{round(within)} of {count} {summary['unit']} within 50 cents over {len(rows)} "
          f"timbre(s); wrote {out / 'transfer.json'}")


def run_evaluate(args, model, rate, max_samples):
    """Measure the model on the notes asked for; write evaluation.json, a PNG and the WAVs."""
    notes = select(args, rate, limit=args.limit, need_pitch=True)
    shifts = sampling_inputs.parse_shifts(args.shift)
    out = ensure_output_dir(args.out)
    sampling_outputs.check_free(out, ["evaluation"], args.force, (".json", ".png"))
    chosen = []
    for n in notes:
        audio = sampling_inputs.read_note(n, model.hop, max_samples)
        pitch = n.decoder_pitch(len(audio), rate)
        chosen.append(evaluation.Note(
            n.name, n.record.family_str if n.record else "unknown", n.pitch, audio,
            None if np.ndim(pitch) == 0 else pitch, n.melody_notes))
    if args.prime_seconds < 0:
        raise chainer_wavenet.WaveNetError(f"--prime-seconds must be >= 0, got "
                                           f"{args.prime_seconds}")
    results, played = evaluation.evaluate(model, chosen, rate, shifts, args.temperature,
                                          args.batch, args.seed,
                                          prime_seconds=args.prime_seconds, top_p=args.top_p,
                                          one_step=args.one_step,
                                          harmonic_filter=args.harmonic_filter)
    decoder = model.config.decoder
    results = {"command": " ".join(sys.argv), "model": os.path.abspath(args.model),
               "bits_per_sample_of": quantization.describe(decoder.n_classes,
                                                           decoder.quantization),
               "settings": {"split": args.split, "seconds": args.seconds, "seed": args.seed,
                            "temperature": args.temperature, "top_p": args.top_p,
                            "shifts": shifts,
                            "prime_seconds": args.prime_seconds, "one_step": args.one_step,
                            "harmonic_filter": args.harmonic_filter},
               **results}
    sampling_outputs.save_json(out / "evaluation.json", results, args.force)
    pairs = [(note.name, note.audio, audio) for condition, note, audio in played
             if condition == "reconstruction"][:3]
    plots.save_evaluation(out / "evaluation.png", results["notes"], pairs, rate,
                          evaluations.TOLERANCE_CENTS, args.force)
    table = evaluation.markdown_table(results)
    page = write_listening_page(out, results, played, rate, table)
    print(table)
    if results["nll_bits"] is not None:
        print(f"bits per sample: of the notes as {results['bits_per_sample_of']} samples")
    print(f"wrote {out / 'evaluation.json'}, {out / 'evaluation.png'} and {page} (listen: "
          f"every note's original and each version played, with spectrograms)")


def run_encode(args, model, rate, max_samples):
    notes = select(args, rate, limit=args.limit)
    out = ensure_output_dir(args.out)
    if args.format == "h5":
        sampling_outputs.check_free(out, ["embeddings"], args.force, (".h5",))
    else:
        sampling_outputs.check_free(out, [n.name for n in notes], args.force, (".npy",))
    audios = (sampling_inputs.read_note(n, model.hop, max_samples) for n in notes)
    zs = list(synthesis.encode_all(model, tqdm(audios, "encoding", len(notes), unit="note"),
                                   args.batch))
    if args.format == "h5":
        path = out / "embeddings.h5"
        sampling_outputs.save_embeddings(path, zs, [n.name for n in notes],
                                         [n.pitch for n in notes], model.hop, rate, args.force)
        print(f"wrote {path}: z of {len(zs)} note{'s' * (len(zs) != 1)}, {zs[0].shape[0]} "
              f"channels x "
              f"{zs[0].shape[1]} frames")
    else:
        for note, z in zip(notes, zs, strict=True):
            sampling_outputs.save_npy(out / f"{note.name}.npy", z, args.force)
        print(f"wrote {len(zs)} .npy files of z to {out}")


# Each plan reads its notes and returns what to decode: output stems, z, pitches, and the
# original audio to show beside each output (or None).


def plan_reconstruct(args, model, rate, max_samples):
    notes = select(args, rate, limit=args.limit, need_pitch=True)
    stems = [f"{n.name}_reconstruction" for n in notes]
    originals = [sampling_inputs.read_note(n, model.hop, max_samples) for n in notes]
    zs = list(synthesis.encode_all(model, originals, args.batch))
    pitches = [n.decoder_pitch(len(a), rate) for n, a in zip(notes, originals, strict=True)]
    return stems, zs, pitches, originals


def plan_pitch(args, model, rate, max_samples):
    [note] = select(args, rate, count=1)
    pitches = sampling_inputs.parse_pitches(args.pitches)
    original = sampling_inputs.read_note(note, model.hop, max_samples)
    z = model.encode(original)
    stems = [f"{note.name}_pitch_{p:03d}" for p in pitches]
    return stems, [z] * len(pitches), pitches, [original] * len(pitches)


def plan_interpolate(args, model, rate, max_samples):
    a, b = select(args, rate, count=2, need_pitch=True)
    za, zb = (model.encode(sampling_inputs.read_note(n, model.hop, max_samples)) for n in (a, b))
    zs = synthesis.interpolate(za, zb, args.steps)
    stems = [f"{a.name}_to_{b.name}_step_{k:02d}" for k in range(args.steps)]
    return stems, list(zs), [a.pitch] * args.steps, [None] * args.steps


def plan_decode(args, model, rate, max_samples):
    embeddings = sampling_inputs.read_embeddings(args.z, model)
    if args.limit is not None and args.limit < 1:
        raise chainer_wavenet.WaveNetError(f"--limit must be >= 1, got {args.limit}")
    names = embeddings.names[:args.limit]
    pitches = embeddings.pitches[:len(names)]
    if args.pitch is not None:
        pitches = [sampling_inputs.check_pitch(args.pitch)] * len(names)
    for name, pitch in zip(names, pitches, strict=True):
        if pitch is None:
            raise chainer_wavenet.WaveNetError(f"--z {args.z}: no pitch stored for {name!r}; "
                                               f"give one with --pitch")
    stems = [f"{name}_decoded" for name in names]
    return stems, embeddings.zs[:len(names)], pitches, [None] * len(names)


PLANS = {"reconstruct": plan_reconstruct, "pitch": plan_pitch, "interpolate": plan_interpolate,
         "decode": plan_decode}


def select(args, rate, limit=None, count=None, need_pitch=False):
    """The notes asked for; a WAV given without --pitch gets the pitch its f0 says."""
    notes = sampling_inputs.select_notes(args.wavs, args.dataset, args.split, args.note, limit,
                                         args.pitch, rate, count)
    return [with_estimated_pitch(n, rate) if need_pitch and n.pitch is None else n
            for n in notes]


def with_estimated_pitch(note, rate):
    estimate = evaluations.estimate_pitch(note.read(), rate)
    if estimate is None:
        raise chainer_wavenet.WaveNetError(f"{note.where}: no pitch found in it; give its "
                                           f"MIDI pitch with --pitch")
    pitch, cents = estimate
    print(f"{note.where}: pitch estimated as MIDI {pitch} ({cents:+.0f} cents); --pitch "
          f"sets it")
    f0 = float(midi_to_hz(pitch + cents / 100))
    if weak_fundamental(note.read(), rate, f0):
        print(f"warning: {note.where}: almost no energy at the estimated pitch's {f0:.0f} Hz: "
              f"it may be a chord or hold no single pitch, and MIDI {pitch} may be wrong; "
              f"give the note's pitch with --pitch", file=sys.stderr)
    return dataclasses.replace(note, pitch=pitch)


def main(args):
    check_generation_args(1, args.batch, args.temperature, args.top_p)
    check_periods(args.harmonic_filter)
    if args.seed is not None and args.seed < 0:
        raise chainer_wavenet.WaveNetError(f"--seed must be >= 0, got {args.seed}")
    model = sampling_inputs.load_model(args.model, get_device(args.gpu, args.device),
                                       autoencoder=True, raw=args.no_ema)
    rate = sampling_inputs.sample_rate(model)
    max_samples = sampling_inputs.note_length(args.seconds, rate)
    if args.command == "encode":
        run_encode(args, model, rate, max_samples)
    elif args.command == "evaluate":
        run_evaluate(args, model, rate, max_samples)
    elif args.command == "transfer":
        run_transfer(args, model, rate, max_samples)
    else:
        resynthesize(args, model, rate, *PLANS[args.command](args, model, rate, max_samples))


def resynthesize(args, model, rate, stems, zs, pitches, originals):
    """Decode each z at its pitch; write <stem>.wav and a spectrogram (beside the original)."""
    out = ensure_output_dir(args.out)
    stems = sampling_outputs.unused_stems(out, stems, args.force)
    start = time.perf_counter()
    try:
        audio = synthesis.decode_all(model, zs, pitches, args.batch, args.temperature,
                                     args.seed, top_p=args.top_p,
                                     harmonic_filter=args.harmonic_filter)
    except GenerationInterrupted as stop:
        written = sampling_outputs.write_interrupted(out, stems, stop, rate, args.force,
                                                     originals)
        print(*sampling_outputs.interrupted_lines(written, rate), sep="\n")
        raise
    seconds = time.perf_counter() - start
    for stem, samples, original in zip(stems, audio, originals, strict=True):
        wav, png = sampling_outputs.write_outputs(out, stem, samples, rate, args.force, original)
        print(f"wrote {wav} ({len(samples)} samples, {len(samples) / rate:.2f} s at {rate} Hz) "
              f"and {png.name}")
    total = sum(len(a) for a in audio)
    print(f"generated {total} samples in {seconds:.1f} s ({total / seconds:.0f} samples/s)")

if __name__ == "__main__":
    cli.run(main, build_parser())
