"""Train a Parallel WaveNet student (inverse autoregressive flows) from a WaveNet teacher.

    python train/student.py --teacher result/vocoder16/model.h5 --dataset DIR [--out result/student]
    python train/student.py --teacher T.h5 --dataset DIR --loss mle      # on the recordings alone
    python train/student.py --teacher T.h5 --dataset DIR --preset S --power-weight 10

The teacher is a mixture-of-logistics WaveNet (train/wavenet.py --output logistic_mixture);
the student is conditioned as it is (its mel settings, speakers and sample rate) and
trained on crops of the recordings in --dataset, of the teacher's receptive field plus
--length samples.

--loss distill (default): KL(student || teacher), the teacher's weights frozen, plus
--power-weight times the distance between the power spectra of the student's samples and
the recording whose mel spectrogram both follow. --loss mle: the student's likelihood of
the recordings, the noise recovered one sample at a time (slower per step; see
chainer_wavenet/training/student_losses.py). Sample the result as a teacher is sampled:
python sample/wavenet.py --model result/student/model.h5 --condition speech.wav
"""

import argparse
import dataclasses
import os

import chainer_wavenet  # noqa: F401  (sets up chainer before anything imports it)
from chainer_wavenet import cli, device, snapshot
from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.mel import log_mel
from chainer_wavenet.datasets.crops import Crops
from chainer_wavenet.datasets.folder import load_folder
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.config import STUDENT_PRESETS, student_for
from chainer_wavenet.models.student import Student
from chainer_wavenet.sampling import inputs as sampling_inputs
from chainer_wavenet.training import runner
from chainer_wavenet.training.parallel import launched_rank
from chainer_wavenet.training.student_losses import Distillation, MaximumLikelihood, check_teacher

LOSSES = ("distill", "mle")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True,
                        help="the teacher's model.h5 (train/wavenet.py --output "
                             "logistic_mixture); its moving average if it kept one")
    parser.add_argument("--dataset", required=True,
                        help="folder of WAV files (one subfolder per speaker if the teacher "
                             "knows speakers), as for train/wavenet.py")
    parser.add_argument("--loss", choices=LOSSES, default="distill",
                        help="distill from the teacher (default), or mle on the recordings")
    parser.add_argument("--preset", choices=sorted(STUDENT_PRESETS), default="small",
                        help="student size: small (4 flows of 5 layers, 32 channels; "
                             "default), S (64 channels), paper (flows of 10, 10, 10 and 30 "
                             "layers, 64 channels)")
    parser.add_argument("--flow-layers", type=cli.int_list, metavar="N1,N2,...",
                        help="layers of each flow, overriding the preset's (e.g. 5,5,5,5)")
    parser.add_argument("--power-weight", type=float, default=1.0,
                        help="weight of the power loss beside the KL (default 1; 0: none)")
    parser.add_argument("--draws", type=int, default=4,
                        help="draws per sample estimating the cross-entropy (default 4)")
    parser.add_argument("--trim-silence", type=float, metavar="DB",
                        help="cut each file's ends more than DB below its peak")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="share of files held out for validation (default 0.1)")
    runner.add_training_arguments(parser, out="result/student", batchsize=4, length=2048,
                                  iterations=2000, interval=200)
    device.add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    runner.check_training_arguments(args)
    if not 0 <= args.validation_fraction < 1:
        raise WaveNetError(f"--validation-fraction must lie in [0, 1), "
                           f"got {args.validation_fraction}")
    if args.draws < 1:
        raise WaveNetError(f"--draws must be at least 1, got {args.draws}")
    if not args.power_weight >= 0:
        raise WaveNetError(f"--power-weight must be >= 0, got {args.power_weight}")
    teacher = snapshot.load(args.teacher)
    check_teacher(teacher, args.teacher)
    rate = sampling_inputs.sample_rate(teacher)
    mel = sampling_inputs.mel_settings(teacher)
    if teacher.config.local_channels and mel is None:
        raise WaveNetError(f"{args.teacher}: its local features are not mel spectrograms "
                           f"(train/wavenet.py --mel): the student cannot be given them")
    config = student_for(teacher.config, args.preset)
    if args.flow_layers:
        config = dataclasses.replace(config, flow_layers=tuple(args.flow_layers))
    speakers = teacher.metadata.get("speakers", []) if teacher.config.n_global else []
    data = load_folder(args.dataset, rate, config.n_classes, cache=args.cache,
                       speakers=",".join(speakers) or None, trim_db=args.trim_silence,
                       quantization=config.quantization)
    if speakers and list(data.speaker_names) != list(speakers):
        raise WaveNetError(f"--dataset: {args.dataset} has speakers {data.speaker_names}; the "
                           f"teacher was trained on {speakers}")
    train, valid = data.split(args.validation_fraction, seed=args.seed)
    crops = [Crops(part.waveforms, teacher.receptive_field, args.length,
                   labels=part.speakers if speakers else None, names=part.names,
                   n_classes=config.n_classes,
                   features=None if mel is None else [
                       log_mel(quantization.decode(c, config.n_classes, config.quantization),
                               rate, mel) for c in part.waveforms],
                   hop=config.local_hop) for part in (train, valid)]
    runner.seed_everything(args.seed)
    student = Student(config)
    loss = (Distillation(student, teacher, args.power_weight, args.draws, args.seed,
                         launched_rank())
            if args.loss == "distill" else MaximumLikelihood(student, teacher.receptive_field))
    runner.say(f"{len(train)} training and {len(valid)} validation files; "
               f"{len(crops[0])} training crops of {crops[0].crop_size} samples (the "
               f"teacher's receptive field {teacher.receptive_field} + {args.length})")
    runner.say(f"student: {len(config.flow_layers)} flows of "
               f"{', '.join(map(str, config.flow_layers))} layers, "
               f"{config.residual_channels} channels; loss: {args.loss}")
    metadata = {"sample_rate": rate, "speakers": speakers,
                # Relative to the folder of model.h5: no path of the machine it trained on.
                "teacher": os.path.relpath(os.path.abspath(args.teacher),
                                           os.path.abspath(args.out)), "loss": args.loss}
    if mel is not None:
        metadata["mel"] = mel.to_dict()
    report = ["main/kl", "main/power"] if args.loss == "distill" else []
    runner.run_training(student, crops[0], crops[1], args, metadata, loss=loss, report=report,
                        loss_in_bits=args.loss == "mle")
    runner.say(f"model written to {os.path.join(args.out, 'model.h5')}")


if __name__ == "__main__":
    cli.run(main, build_parser())
