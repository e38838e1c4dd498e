"""Train the NSynth-style WaveNet autoencoder on a dataset in the NSynth layout.

    python train/autoencoder.py --dataset DIR [--gpu 0] [--preset small|nsynth] [--out ...]
"""

import argparse
import dataclasses
import os

import numpy as np

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli, device
from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.datasets.folder import dataset_name
from chainer_wavenet.datasets.nsynth import SAMPLE_RATE, load_nsynth
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.config import (
    AUTOENCODER_PRESETS,
    PITCH_INPUTS,
    with_decoder_width,
    with_embedding,
    with_pitch_input,
)
from chainer_wavenet.sampling import evaluation
from chainer_wavenet.training import runner
from chainer_wavenet.training.extensions.loss_plot import LossPlot
from chainer_wavenet.training.extensions.previews import Reconstructions
from chainer_wavenet.training.extensions.quality import KEYS as QUALITY_KEYS, PitchAccuracy
from chainer_wavenet.training.input_noise import InputNoise, check_width
from chainer_wavenet.training.parallel import launched_rank
from chainer_wavenet.training.scheduled_sampling import ScheduledSampling, check_schedule


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True,
                        help="NSynth-layout root (nsynth-train/, nsynth-valid/) or split folder")
    parser.add_argument("--preset", choices=sorted(AUTOENCODER_PRESETS), default="small",
                        help="model size: small (CPU, default) or nsynth (the paper's)")
    parser.add_argument("--hop", type=int, default=None,
                        help="samples per frame of the embedding z (default: the preset's, "
                             "256 for small); smaller is finer in time")
    parser.add_argument("--bottleneck", type=int, default=None,
                        help="channels of z (default: the preset's, 16)")
    parser.add_argument("--decoder-channels", type=int, default=None,
                        help="the decoder's residual and gate channels, skip twice as many "
                             "(default: the preset's, 32 for small)")
    parser.add_argument("--pitch-input", choices=PITCH_INPUTS, default="id",
                        help="how the decoder hears each note's pitch: as one of 128 ids "
                             "(NSynth's way), as a signal of its harmonics at every sample, "
                             "or both (default %(default)s)")
    parser.add_argument("--pitch-harmonics", type=int, default=8,
                        help="harmonics in the pitch signal (default %(default)s)")
    parser.add_argument("--pitch-lags", type=int, default=2,
                        help="the decoder also reads its own input 1, 2, ... this many "
                             "pitch periods back, with any --pitch-input; this keeps the "
                             "pitch of what it plays (default %(default)s; 0: none)")
    parser.add_argument("--pre-emphasis", type=float, default=0.0,
                        help="train on audio pre-emphasized by 1 - A z^-1 and de-emphasize "
                             "what is played, so that the model's noise falls under the "
                             "signal's spectrum (default %(default)s: none; LPCNet uses 0.85)")
    parser.add_argument("--input-noise", type=int, default=0, metavar="CLASSES",
                        help="move each class the decoder reads as its past by a random "
                             "whole number of classes up to this many, the targets clean, so "
                             "that it learns to play on from its own imperfect samples "
                             "(LPCNet's noise injection; default %(default)s: none)")
    parser.add_argument("--scheduled-sampling", type=float, default=0.0, metavar="SHARE",
                        help="replace this share of the decoder's past by its own draws "
                             "(one pass without a graph per step), the targets clean, so "
                             "that it learns to play on from what it played (parallel "
                             "scheduled sampling; default %(default)s: none)")
    parser.add_argument("--sampling-passes", type=int, default=1,
                        help="rounds of drawing for --scheduled-sampling, each from the "
                             "last's past (default %(default)s)")
    parser.add_argument("--pitch-range", default=None,
                        help="keep notes with MIDI pitch in LO:HI (inclusive), e.g. 24:84")
    parser.add_argument("--families", default=None,
                        help="keep these instrument families, e.g. keyboard,string")
    parser.add_argument("--quality-notes", type=int, default=0,
                        help="validation notes reconstructed every --quality-interval steps "
                             "to log how many keep their pitch (default 0: none)")
    parser.add_argument("--quality-interval", type=int, default=None,
                        help="steps between pitch measurements (default: --interval)")
    parser.add_argument("--quality-seconds", type=float, default=1.0,
                        help="length of each measured note (default 1 s)")
    parser.add_argument("--preview-notes", type=int, default=2,
                        help="validation notes reconstructed at every --preview-interval "
                             "(default 2; 0: none)")
    parser.add_argument("--preview-seconds", type=float, default=0.5,
                        help="length of each preview (default 0.5 s)")
    parser.add_argument("--preview-interval", type=int, default=None,
                        help="steps between previews (default: at the end only)")
    # 3e-3 reaches 3.4 bits per sample on the demo set in 600 steps, where 1e-3 reaches 4.3.
    runner.add_training_arguments(parser, out="result/autoencoder", batchsize=4, length=2048,
                                  iterations=600, interval=100, lr=3e-3)
    device.add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def _filters(args):
    pitch_range = None
    if args.pitch_range:
        lo, _, hi = args.pitch_range.partition(":")
        try:
            pitch_range = (int(lo), int(hi))
        except ValueError:
            pitch_range = None
        if pitch_range is None or not 0 <= pitch_range[0] <= pitch_range[1] <= 127:
            raise chainer_wavenet.WaveNetError(
                f"--pitch-range must be LO:HI, MIDI pitches with 0 <= LO <= HI <= 127, like "
                f"24:84; got {args.pitch_range!r}")
    families = args.families.split(",") if args.families else None
    return dict(pitch_range=pitch_range, families=families)


def _crops(notes, config, length, cache):
    """Crops whose size is a whole number of encoder frames, labelled with the note's pitch,
    or for melodies with their pitch track at every sample."""
    hop = config.encoder.hop
    receptive_field = config.receptive_field
    size = -(-(receptive_field + length) // hop) * hop
    classes = notes.classes(config.decoder.n_classes, cache, config.pre_emphasis)
    names = [str(n.path) for n in notes.notes]
    if notes.has_tracks:
        tracks = [notes.decoder_pitch(i, len(c))[None] for i, c in enumerate(classes)]
        return Crops(classes, receptive_field, size - receptive_field, names=names,
                     n_classes=config.decoder.n_classes, features=tracks,
                     feature_key="pitch")
    return Crops(classes, receptive_field, size - receptive_field,
                 labels=[n.pitch for n in notes.notes], names=names,
                 n_classes=config.decoder.n_classes)


def _previews(model, valid, args):
    count = min(args.preview_notes, len(valid))
    if count < 1:
        return []
    hop = model.hop
    samples = max(hop, int(args.preview_seconds * SAMPLE_RATE) // hop * hop)
    picks = [round(i * (len(valid) - 1) / max(1, count - 1)) for i in range(count)]
    audio = [valid.audio(i)[:samples] for i in picks]
    preview = Reconstructions(
        model, [valid.notes[i].note_str for i in picks], audio,
        [valid.decoder_pitch(i, len(a)) for i, a in zip(picks, audio, strict=True)],
        SAMPLE_RATE, seed=args.seed)
    interval = args.preview_interval or args.iteration or args.default_iterations
    return [(preview, (interval, "iteration"))]


def _quality(model, valid, args):
    """Pitch accuracy on evenly spread validation notes, logged and plotted."""
    count = min(args.quality_notes, len(valid))
    if count < 1:
        return []
    samples = max(model.hop, round(args.quality_seconds * SAMPLE_RATE) // model.hop * model.hop)
    picks = np.unique(np.linspace(0, len(valid) - 1, count).round().astype(int))
    notes = []
    for i in picks:
        note, audio = valid.notes[i], valid.audio(i)[:samples]
        track = None if note.pitch_track is None else valid.decoder_pitch(i, len(audio))
        notes.append(evaluation.Note(note.note_str, note.family_str, note.pitch, audio,
                                     track, note.melody_notes))
    trigger = (args.quality_interval or args.interval, "iteration")
    return [(PitchAccuracy(model, notes, SAMPLE_RATE, seed=args.seed), trigger),
            (LossPlot(list(QUALITY_KEYS), "quality.png", "share within 50 cents; dB"),
             trigger)]


def main(args):
    runner.check_training_arguments(args)
    check_width(args.input_noise)
    check_schedule(args.scheduled_sampling, args.sampling_passes)
    for flag, value in (("--hop", args.hop), ("--bottleneck", args.bottleneck),
                        ("--decoder-channels", args.decoder_channels)):
        if value is not None and value < 1:
            raise chainer_wavenet.WaveNetError(f"{flag} must be at least 1, got {value}")
    if args.input_noise and args.scheduled_sampling:
        raise chainer_wavenet.WaveNetError(
            "--input-noise and --scheduled-sampling each replace the decoder's past: give one")
    filters = _filters(args)
    train = load_nsynth(args.dataset, "train", **filters)
    valid = load_nsynth(args.dataset, "valid", **filters)
    config = dataclasses.replace(
        with_pitch_input(with_decoder_width(with_embedding(AUTOENCODER_PRESETS[args.preset],
                                                           args.hop, args.bottleneck),
                                            args.decoder_channels),
                         args.pitch_input, args.pitch_harmonics, args.pitch_lags),
        pre_emphasis=args.pre_emphasis)
    runner.seed_everything(args.seed)
    model = WaveNetAutoencoder(config)
    train_crops, valid_crops = (_crops(notes, config, args.length, args.cache)
                                for notes in (train, valid))
    runner.say(f"{len(train)} training and {len(valid)} validation notes; decoder receptive "
               f"field {config.receptive_field} samples, hop {config.encoder.hop}; "
               f"{len(train_crops)} training crops of {train_crops.crop_size} samples")
    # The dataset's folder name, not its path: snapshots travel to other machines.
    metadata = {"sample_rate": SAMPLE_RATE, "dataset": dataset_name(args.dataset)}
    loss = None
    if args.input_noise:
        loss = InputNoise(model, args.input_noise, args.seed, launched_rank())
        metadata["input_noise"] = args.input_noise
    if args.scheduled_sampling:
        loss = ScheduledSampling(model, args.scheduled_sampling, args.sampling_passes,
                                 args.seed, launched_rank())
        metadata["scheduled_sampling"] = args.scheduled_sampling
        metadata["sampling_passes"] = args.sampling_passes
    runner.run_training(model, train_crops, valid_crops, args, metadata, loss=loss,
                        extra_extensions=_previews(model, valid, args)
                        + _quality(model, valid, args))
    runner.say(f"model written to {os.path.join(args.out, 'model.h5')}")


if __name__ == "__main__":
    cli.run(main, build_parser())
