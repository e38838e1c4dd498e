"""Train a WaveNet on a folder of WAV files (one subfolder per speaker, optionally).

    python train/wavenet.py --dataset DIR [--gpu 0] [--preset small|S|paper] [--out result/wavenet]
    python train/wavenet.py --dataset DIR --mel 80 --mel-hop 256    # a mel-conditioned vocoder
    python train/wavenet.py --dataset VCTK-Corpus --speakers 4 --trim-silence 30   # speech
    python train/wavenet.py --dataset DIR --mel 80 --output logistic_mixture --upsampling transposed

By default the model predicts 256 mu-law classes with a softmax. --output logistic_mixture
makes it predict 16-bit linear samples (65536 classes, read as a scalar input) with a
discretized mixture of --mixture-components logistics. --upsampling transposed upsamples
the mel frames with learned transposed convolutions instead of repeating them.

Files at other rates are resampled to --sample-rate and stereo files mixed down, on load.
"""

import argparse
import dataclasses
import os

import numpy as np

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli, device, snapshot
from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.mel import MelSettings, log_mel
from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.datasets.folder import dataset_name, load_folder, relative_name
from chainer_wavenet.models.config import (
    LOCAL_UPSAMPLINGS,
    OUTPUTS,
    WAVENET_PRESETS,
    with_local_upsampling,
    with_output,
)
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.training import runner
from chainer_wavenet.training.extensions.previews import Continuations


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True,
                        help="folder of WAV files, or of one subfolder of WAVs per speaker, "
                             "or VCTK as downloaded (the folder holding wav48 and txt)")
    parser.add_argument("--speakers", metavar="NAMES|N",
                        help="train on these speaker folders only: names separated by commas "
                             "(p225,p226), or a count (4: the first four by name)")
    parser.add_argument("--trim-silence", type=float, metavar="DB",
                        help="cut each file's leading and trailing audio more than DB below "
                             "its peak before cropping (default: keep it)")
    parser.add_argument("--preset", choices=sorted(WAVENET_PRESETS), default="small",
                        help="model size: small (CPU, default), S (benchmark), paper")
    parser.add_argument("--sample-rate", type=int, default=16000,
                        help="the model's rate; files at other rates are resampled to it "
                             "(default 16000)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="share of files held out for validation (default 0.1)")
    mel = MelSettings()
    parser.add_argument("--mel", type=int, default=0, metavar="BANDS",
                        help="condition every layer on a log-mel spectrogram of this many bands "
                             "(default 0: unconditioned); sample with --condition WAV")
    parser.add_argument("--mel-hop", type=int, default=mel.hop,
                        help=f"samples per mel frame (default {mel.hop})")
    parser.add_argument("--mel-window", type=int, default=mel.n_fft,
                        help=f"mel analysis window in samples (default {mel.n_fft})")
    parser.add_argument("--upsampling", choices=LOCAL_UPSAMPLINGS, default="repeat",
                        help="how mel frames reach the samples: repeat each frame (default), "
                             "or learned transposed convolutions (needs --mel)")
    parser.add_argument("--upsampling-strides", metavar="S1,S2,...",
                        help="strides of the transposed convolutions, multiplying to "
                             "--mel-hop (default: two near-equal factors, 256 = 16,16)")
    parser.add_argument("--output", choices=OUTPUTS, default="softmax",
                        help="softmax over 256 mu-law classes (default), or a mixture of "
                             "logistics over 16-bit linear samples")
    parser.add_argument("--mixture-components", type=int, default=10,
                        help="logistics in the mixture (default 10)")
    parser.add_argument("--preview-files", type=int, default=2,
                        help="validation files whose opening is played at every "
                             "--preview-interval into OUT/previews (WAV + PNG): a WaveNet "
                             "continues its first receptive field, a vocoder resynthesizes "
                             "it from its mel (default 2; 0: none)")
    parser.add_argument("--preview-seconds", type=float, default=0.5,
                        help="new audio per preview (default 0.5 s)")
    parser.add_argument("--preview-interval", type=int, default=None,
                        help="steps between previews (default: at the end only)")
    runner.add_training_arguments(parser, out="result/wavenet", batchsize=4, length=2048,
                                  iterations=2000, interval=200)
    device.add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    runner.check_training_arguments(args)
    if args.sample_rate < 1:
        raise chainer_wavenet.WaveNetError(f"--sample-rate must be at least 1 Hz, "
                                           f"got {args.sample_rate}")
    if not 0 <= args.validation_fraction < 1:
        raise chainer_wavenet.WaveNetError(f"--validation-fraction must lie in [0, 1), "
                                           f"got {args.validation_fraction}")
    if args.mel < 0:
        raise chainer_wavenet.WaveNetError(f"--mel must be >= 0 bands (0: no conditioning), "
                                           f"got {args.mel}")
    mel = None
    if args.mel:
        mel = MelSettings(n_mels=args.mel, hop=args.mel_hop, n_fft=args.mel_window)
        mel.check(args.sample_rate)
    if args.trim_silence is not None and not args.trim_silence > 0:
        raise chainer_wavenet.WaveNetError(f"--trim-silence must be a positive number of dB, "
                                           f"got {args.trim_silence}")
    check_preview_arguments(args)
    check_resumed_features(args, mel)
    config = model_config(args, mel)
    data = load_folder(args.dataset, args.sample_rate, config.n_classes, cache=args.cache,
                       speakers=args.speakers, trim_db=args.trim_silence,
                       quantization=config.quantization)
    check_resumed_speakers(args, data.speaker_names)
    config = dataclasses.replace(config, n_global=data.n_speakers)
    train, valid = data.split(args.validation_fraction, seed=args.seed)
    crops = [Crops(part.waveforms, config.receptive_field, args.length, labels=part.speakers,
                   names=part.names, n_classes=config.n_classes,
                   features=None if mel is None else features(part, mel, config),
                   hop=config.local_hop) for part in (train, valid)]
    runner.seed_everything(args.seed)
    model = WaveNet(config)
    speakers = f"{data.n_speakers} speakers" if data.n_speakers else "no speaker subfolders"
    runner.say(f"{len(train)} training and {len(valid)} validation files, {speakers}; "
               f"receptive field {config.receptive_field} samples; "
               f"{len(crops[0])} training crops of {crops[0].crop_size} samples")
    split = held_out(data, valid, args)
    runner.say(f"validation files (relative to {args.dataset}): "
               + ", ".join(split["validation_files"])
               + (f" (its last {args.validation_fraction:g})" if split["single_file"] else ""))
    runner.say(f"on load: {data.conversion.describe()}")
    runner.say(describe(config))
    metadata = {"sample_rate": args.sample_rate, "speakers": data.speaker_names,
                "dataset": dataset_name(args.dataset), "split": split}
    if mel:
        metadata["mel"] = mel.to_dict()
    runner.run_training(model, crops[0], crops[1], args, metadata,
                        extra_extensions=previews(model, train, valid, mel, args))
    runner.say(f"model written to {os.path.join(args.out, 'model.h5')}")


def check_preview_arguments(args):
    if args.preview_files < 0:
        raise chainer_wavenet.WaveNetError(f"--preview-files must be >= 0 (0: no previews), "
                                           f"got {args.preview_files}")
    if not args.preview_seconds > 0:
        raise chainer_wavenet.WaveNetError(f"--preview-seconds must be > 0, "
                                           f"got {args.preview_seconds}")
    if args.preview_interval is not None and args.preview_interval < 1:
        raise chainer_wavenet.WaveNetError(f"--preview-interval must be at least 1, "
                                           f"got {args.preview_interval}")


def previews(model, train, valid, mel, args):
    """The preview extension with its trigger: the openings of --preview-files files spread
    over the validation files (the training files when none is held out), as (extension,
    trigger) pairs."""
    source = valid if len(valid) else train
    count = min(args.preview_files, len(source))
    if count < 1:
        return []
    config = model.config
    picks = sorted({round(i * (len(source) - 1) / max(1, count - 1)) for i in range(count)})
    primed = 0 if mel else config.receptive_field
    shortest = min(len(source.waveforms[i]) for i in picks)
    length = min(primed + max(1, round(args.preview_seconds * args.sample_rate)), shortest)
    primed = min(primed, length // 2)  # files shorter than a receptive field: half of it
    if length - primed < 1:
        return []
    classes = np.stack([np.asarray(source.waveforms[i][:length]) for i in picks])
    features = None if mel is None else np.stack([
        log_mel(quantization.decode(c, config.n_classes, config.quantization),
                args.sample_rate, mel) for c in classes])
    speakers = None if source.speakers is None else source.speakers[picks]
    names = [relative_name(source.paths[i], args.dataset).rsplit(".", 1)[0].replace("/", "_")
             for i in picks]
    preview = Continuations(model, names, classes, primed, args.sample_rate, speakers,
                            features, seed=args.seed)
    if args.preview_interval:
        trigger = (args.preview_interval, "iteration")
    elif args.epoch:
        trigger = (args.epoch, "epoch")
    else:
        trigger = (args.iteration or args.default_iterations, "iteration")
    return [(preview, trigger)]


def held_out(data, valid, args):
    """The validation split as the snapshot records it: files relative to --dataset, and
    whether they are the tail of the one file (a single-file dataset)."""
    return {"validation_files": [relative_name(path, args.dataset) for path in valid.paths],
            "validation_fraction": args.validation_fraction,
            "single_file": len(data) == 1 and args.validation_fraction > 0}


def model_config(args, mel):
    """The preset with the output and mel conditioning the flags ask for (no speakers yet)."""
    if args.upsampling == "transposed" and mel is None:
        raise chainer_wavenet.WaveNetError("--upsampling transposed upsamples mel frames: "
                                           "it needs --mel BANDS")
    if args.upsampling_strides is not None and args.upsampling != "transposed":
        raise chainer_wavenet.WaveNetError("--upsampling-strides needs --upsampling transposed")
    if args.mixture_components < 1:
        raise chainer_wavenet.WaveNetError(f"--mixture-components must be at least 1, "
                                           f"got {args.mixture_components}")
    config = dataclasses.replace(WAVENET_PRESETS[args.preset], local_channels=args.mel,
                                 local_hop=mel.hop if mel else 1)
    config = with_output(config, args.output, args.mixture_components)
    strides = None
    if args.upsampling_strides is not None:
        try:
            strides = tuple(int(s) for s in args.upsampling_strides.split(","))
        except ValueError:
            raise chainer_wavenet.WaveNetError(
                f"--upsampling-strides: give integers separated by commas (16,16), got "
                f"{args.upsampling_strides!r}") from None
    try:
        return with_local_upsampling(config, args.upsampling, strides)
    except chainer_wavenet.WaveNetError as error:
        raise chainer_wavenet.WaveNetError(f"--upsampling-strides: {error}") from None


def describe(config):
    """What the model predicts and how it hears the mel frames, in words."""
    if config.output == "softmax":
        said = f"output: softmax over {config.n_classes} {config.quantization} classes"
    else:
        said = (f"output: mixture of {config.mixture_components} logistics over "
                f"{config.n_classes} linear classes (16-bit samples read as scalars)")
    if config.local_channels:
        said += ("; mel frames repeated" if config.local_upsampling == "repeat" else
                 f"; mel frames upsampled by transposed convolutions of strides "
                 f"{'x'.join(map(str, config.upsampling_strides))}")
    return said


def resumed_metadata(args):
    """The model file of the run --resume continues, and its metadata (None, {} if none)."""
    written = os.path.join(args.out, "model.h5")
    if args.resume is None or not os.path.isfile(written):
        return None, {}
    return written, snapshot.read_config(written)[1]


def check_resumed_features(args, mel):
    """WaveNetError when --resume would go on with other mel settings than the run's own."""
    written, metadata = resumed_metadata(args)
    if written and metadata.get("mel") != (mel and mel.to_dict()):
        raise chainer_wavenet.WaveNetError(
            f"--resume: {written} was trained with mel settings {metadata.get('mel')}, not "
            f"{mel and mel.to_dict()}; resume with the run's own --mel, --mel-hop and "
            f"--mel-window")


def check_resumed_speakers(args, names):
    """WaveNetError when --resume would give the run's speaker ids to other speakers (as many
    as before: another count is another model config, refused when the run starts)."""
    written, metadata = resumed_metadata(args)
    recorded = list(metadata.get("speakers", []))
    if written and len(recorded) == len(names) and recorded != list(names):
        raise chainer_wavenet.WaveNetError(
            f"--resume: {written} was trained on speakers {recorded}, not "
            f"{names}; resume with the run's own --dataset and --speakers")


def features(folder, mel, config):
    """Log-mel features of a folder's waveforms, from the decoded audio a sampler sees."""
    return [log_mel(quantization.decode(classes, config.n_classes, config.quantization),
                    folder.sample_rate, mel)
            for classes in folder.waveforms]


if __name__ == "__main__":
    cli.run(main, build_parser())
