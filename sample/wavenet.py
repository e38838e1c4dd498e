"""Generate audio from a trained WaveNet snapshot: WAV files and their spectrograms.

    python sample/wavenet.py --model result/model.h5 --length 2s --batch 4
    python sample/wavenet.py --model result/vocoder/model.h5 --condition speech.wav
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import chainer_wavenet  # noqa: E402,F401  (before chainer)
from chainer_wavenet import cli, sampling_inputs, sampling_outputs, synthesis  # noqa: E402
from chainer_wavenet.device import add_device_arguments, get_device  # noqa: E402
from chainer_wavenet.files import ensure_output_dir  # noqa: E402
from chainer_wavenet.generate import check_generation_args  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model snapshot (.h5) written by training")
    parser.add_argument("--out", default="result/samples",
                        help="output folder (default %(default)s)")
    parser.add_argument("--length",
                        help="new samples per file, or seconds with an s suffix (default 1s; "
                             "with --condition, the rest of that file)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="softmax temperature: 1 = the model's distribution, < 1 sharper")
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
    add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    check_generation_args(1, args.batch, args.temperature)
    if args.seed is not None and args.seed < 0:
        raise chainer_wavenet.WaveNetError(f"--seed must be >= 0, got {args.seed}")
    if args.prime_length is not None and args.prime is None:
        raise chainer_wavenet.WaveNetError("--prime-length needs --prime WAV")
    model = sampling_inputs.load_model(args.model, get_device(args.gpu, args.device),
                                       autoencoder=False)
    rate = sampling_inputs.sample_rate(model)
    speaker = sampling_inputs.speaker_id(model, args.speaker)
    prime = None
    if args.prime is not None:
        prime_length = sampling_inputs.parse_duration(args.prime_length or model.receptive_field,
                                                      rate, "--prime-length")
        prime = sampling_inputs.read_prime(args.prime, model, prime_length)
        print(f"priming with the first {len(prime)} samples of {args.prime}")
    features, length, recording = conditioning(args, model, rate,
                                               0 if prime is None else len(prime))
    out = ensure_output_dir(args.out)
    stems = [f"sample_{i:03d}" for i in range(args.batch)]
    sampling_outputs.check_free(out, stems, args.force)

    start = time.perf_counter()
    audio = synthesis.sample_audio(model, length, args.batch, args.temperature, speaker, prime,
                                   args.seed, features=features)
    seconds = time.perf_counter() - start
    for stem, samples in zip(stems, audio, strict=True):
        original = None if recording is None else recording[:len(samples)]
        wav, png = sampling_outputs.write_outputs(out, stem, samples, rate, args.force, original)
        print(f"wrote {wav} ({len(samples)} samples, {len(samples) / rate:.2f} s at {rate} Hz) "
              f"and {png.name}")
    print(f"generated {args.batch} x {length} samples in {seconds:.1f} s "
          f"({args.batch * length / seconds:.0f} samples/s)")


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


if __name__ == "__main__":
    cli.run(main, build_parser())
