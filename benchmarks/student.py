"""Student generation speed: a Parallel WaveNet student beside its teacher, same mel.

    python benchmarks/student.py [--config S] [--students S paper] [--batch 1 4] [--seconds 1]
    python benchmarks/student.py --quick          # tiny sizes, for the tests

The teacher is the named config (default S) conditioned on 80 mel bands every 256 samples,
predicting a mixture of 10 logistics, generating one sample at a time (the library's
``generate``) at batch 1. Each student (presets of :data:`STUDENT_PRESETS`, conditioned
alike) plays ``--seconds`` of audio in one parallel pass (``Student.generate``), one
stream and batched. All on the same random mel features, timed in the same process;
the table gives samples per second (batch x samples / time), the student's ratio to the
teacher's batch-1 figure, and how many times faster than real time it plays.
"""

import argparse
import dataclasses
import os
import sys

import common  # sets chainer up: first

# isort: split
import numpy as np

from chainer_wavenet.models.config import STUDENT_PRESETS, student_for, with_output
from chainer_wavenet.models.student import Student
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.sampling.generate import generate

MEL_BANDS, MEL_HOP = 80, 256
SAMPLE_RATE = 16000


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_arguments(parser, "student")
    parser.add_argument("--students", nargs="+", choices=sorted(STUDENT_PRESETS),
                        help="student presets to time (default S paper)")
    parser.add_argument("--batch", type=int, nargs="+",
                        help="student batch sizes (default 1 4)")
    parser.add_argument("--seconds", type=float,
                        help="seconds of 16 kHz audio per student stream (default 1)")
    parser.add_argument("--teacher-length", type=int,
                        help="samples the teacher generates in a timed run (default 2000)")
    parser.add_argument("--quick", action="store_true",
                        help="small teacher and student, a few hundred samples, one run")
    return parser


def teacher_config(name):
    """The named config conditioned on mel frames, predicting a mixture of logistics."""
    config = dataclasses.replace(common.CONFIGS[name][0], local_channels=MEL_BANDS,
                                 local_hop=MEL_HOP)
    return with_output(config, "logistic_mixture", 10)


def mel_features(batch, samples, seed=0):
    frames = -(-samples // MEL_HOP)
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, MEL_BANDS, frames)).astype(np.float32)


def playing(student, length, batch, features):
    """A run of one parallel pass: ``batch`` streams of ``length`` samples."""
    return lambda: student.generate(length, batch, 1.0, local_features=features, seed=0)


def measure_all(args, device):
    np.random.seed(0)
    teacher = WaveNet(teacher_config(args.config))
    teacher.to_device(device)
    xp = teacher.xp
    figures = {}
    features = xp.asarray(mel_features(1, args.teacher_length + 1))
    timing = common.measure(lambda: generate(teacher, args.teacher_length, 1, 1.0,
                                             local_features=features, seed=0),
                            args.repeat, device)
    figures["teacher"] = args.teacher_length / timing["wall_s"]
    parameters = {"teacher": common.parameter_count(teacher)}
    length = round(args.seconds * SAMPLE_RATE)
    for name in args.students:
        student = Student(student_for(teacher.config, name))
        student.to_device(device)
        parameters[name] = common.parameter_count(student)
        for batch in args.batch:
            features = xp.asarray(mel_features(batch, length))
            timing = common.measure(playing(student, length, batch, features), args.repeat,
                                    device)
            speed = batch * length / timing["wall_s"]
            figures[f"{name} {batch}"] = speed
            figures[f"{name} {batch} ratio"] = speed / figures["teacher"]
            figures[f"{name} {batch} real time"] = speed / SAMPLE_RATE
    return {"figures": figures, "parameters": parameters}


def main():
    args = build_parser().parse_args()
    if args.quick:
        args.config, args.repeat = "small", 1
    args.students = args.students or (["small"] if args.quick else ["S", "paper"])
    args.batch = args.batch or [1, 4]
    args.seconds = args.seconds or (0.02 if args.quick else 1.0)
    args.teacher_length = args.teacher_length or (40 if args.quick else 2000)
    runs = common.runs(args, os.path.abspath(__file__), measure_all)
    if runs is None:
        return
    parameters = runs[0]["parameters"]
    print(f"teacher: config {args.config} with {MEL_BANDS} mel bands per {MEL_HOP} samples "
          f"and a mixture of 10 logistics, {parameters['teacher']:,} parameters")
    rows = [("teacher, batch 1, samples/s", "teacher", ",.0f")]
    for name in args.students:
        layers = STUDENT_PRESETS[name].flow_layers
        print(f"student {name}: {len(layers)} flows of {', '.join(map(str, layers))} layers, "
              f"{STUDENT_PRESETS[name].residual_channels} channels, "
              f"{parameters[name]:,} parameters")
        for batch in args.batch:
            rows += [(f"student {name}, batch {batch}, samples/s", f"{name} {batch}", ",.0f"),
                     ("  / teacher batch 1", f"{name} {batch} ratio", ",.1f"),
                     ("  x real time (16 kHz)", f"{name} {batch} real time", ",.2f")]
    common.print_table(f"generation: teacher {args.teacher_length} samples, students "
                       f"{args.seconds:g} s ({round(args.seconds * SAMPLE_RATE)} samples) "
                       f"per stream, median of {args.repeat}", rows, runs)
    common.write_json(args, "student", runs, {
        "students": args.students, "batch": args.batch, "seconds": args.seconds,
        "teacher_length": args.teacher_length, "repeat": args.repeat, "rounds": args.rounds,
        "mel": [MEL_BANDS, MEL_HOP], "quick": args.quick})


if __name__ == "__main__":
    sys.exit(main())
