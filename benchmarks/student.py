"""Student generation speed: a Parallel WaveNet student beside its teacher, same mel.

    python benchmarks/student.py [--config S] [--students S paper] [--batch 1 4] [--seconds 1]
    python benchmarks/student.py --quick          # tiny sizes, for the tests
    python benchmarks/student.py --model result/student/model.h5   # your own student

The teacher is the named config (default S) conditioned on 80 mel bands every 256 samples,
predicting a mixture of 10 logistics, generating one sample at a time (the library's
``generate``) at batch 1. Each student (presets of :data:`STUDENT_PRESETS`, conditioned
alike) plays ``--seconds`` of audio in one parallel pass (``Student.generate``), one
stream and batched. All on the same random mel features, timed in the same process;
the table gives samples per second (batch x samples / time), the student's ratio to the
teacher's batch-1 figure, and how many times faster than real time it plays.
With ``--model`` a trained student is timed instead of the presets, beside the teacher its
snapshot names (or, when that file is not here, the named config's teacher).
"""

import argparse
import dataclasses
import os
import sys

import common  # sets chainer up: first

# isort: split
import numpy as np

from chainer_wavenet import snapshot
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
    parser.add_argument("--model", metavar="STUDENT.h5",
                        help="time this student snapshot (train/student.py's model.h5) "
                             "instead of the presets")
    parser.add_argument("--quick", action="store_true",
                        help="small teacher and student, a few hundred samples, one run")
    return parser


def teacher_config(name):
    """The named config conditioned on mel frames, predicting a mixture of logistics."""
    config = dataclasses.replace(common.CONFIGS[name][0], local_channels=MEL_BANDS,
                                 local_hop=MEL_HOP)
    return with_output(config, "logistic_mixture", 10)


def mel_features(batch, samples, seed=0, bands=MEL_BANDS, hop=MEL_HOP):
    frames = -(-samples // hop)
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, bands, frames)).astype(np.float32)


def students(args, teacher_conf):
    """(name, student) to time: the --model snapshot, or the presets for ``teacher_conf``."""
    if args.model is None:
        return [(name, Student(student_for(teacher_conf, name))) for name in args.students]
    return [(os.path.basename(args.model), load_student(args.model))]


def load_student(path):
    student = snapshot.load(path)
    if not isinstance(student, Student):
        raise SystemExit(f"error: --model {path}: is not a Parallel WaveNet student "
                         f"(train/student.py writes those)")
    return student


def teacher_of(args):
    """The teacher to time: the --model student's own, if its file is here, else the named
    config's."""
    if args.model is not None:
        # Stored relative to the student's folder (absolute in older snapshots).
        named = load_student(args.model).metadata.get("teacher")
        path = named and os.path.join(os.path.dirname(os.path.abspath(args.model)), named)
        if path and os.path.isfile(path):
            return snapshot.load(path)
    return WaveNet(teacher_config(args.config))


def playing(student, length, batch, features):
    """A run of one parallel pass: ``batch`` streams of ``length`` samples."""
    return lambda: student.generate(length, batch, 1.0, local_features=features, seed=0)


def measure_all(args, device):
    np.random.seed(0)
    teacher = teacher_of(args)
    teacher.to_device(device)
    xp = teacher.xp
    figures = {}
    bands, hop = teacher.config.local_channels, teacher.config.local_hop
    features = xp.asarray(mel_features(1, args.teacher_length + 1, bands=bands, hop=hop))
    timing = common.measure(lambda: generate(teacher, args.teacher_length, 1, 1.0,
                                             local_features=features, seed=0),
                            args.repeat, device)
    figures["teacher"] = args.teacher_length / timing["wall_s"]
    parameters = {"teacher": common.parameter_count(teacher)}
    layers = {}
    length = round(args.seconds * SAMPLE_RATE)
    for name, student in students(args, teacher.config):
        student.to_device(device)
        parameters[name] = common.parameter_count(student)
        layers[name] = [list(student.config.flow_layers), student.config.residual_channels]
        for batch in args.batch:
            features = xp.asarray(mel_features(batch, length, bands=bands, hop=hop))
            timing = common.measure(playing(student, length, batch, features), args.repeat,
                                    device)
            speed = batch * length / timing["wall_s"]
            figures[f"{name} {batch}"] = speed
            figures[f"{name} {batch} ratio"] = speed / figures["teacher"]
            figures[f"{name} {batch} real time"] = speed / SAMPLE_RATE
    return {"figures": figures, "parameters": parameters, "layers": layers,
            "teacher_mel": [bands, hop]}


def main():
    args = build_parser().parse_args()
    if args.quick:
        args.config, args.repeat = "small", 1
    if args.model is not None:
        load_student(args.model)  # refused here, before any child starts
        args.students = [os.path.basename(args.model)]
    args.students = args.students or (["small"] if args.quick else ["S", "paper"])
    args.batch = args.batch or [1, 4]
    args.seconds = args.seconds or (0.02 if args.quick else 1.0)
    args.teacher_length = args.teacher_length or (40 if args.quick else 2000)
    runs = common.runs(args, os.path.abspath(__file__), measure_all)
    if runs is None:
        return
    parameters = runs[0]["parameters"]
    bands, hop = runs[0]["teacher_mel"]
    print(f"teacher: {args.model and 'its own or '}config {args.config}, {bands} mel bands per "
          f"{hop} samples, a mixture of logistics, {parameters['teacher']:,} parameters")
    rows = [("teacher, batch 1, samples/s", "teacher", ",.0f")]
    for name in args.students:
        layers, channels = runs[0]["layers"][name]
        print(f"student {name}: {len(layers)} flows of {', '.join(map(str, layers))} layers, "
              f"{channels} channels, {parameters[name]:,} parameters")
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
        "mel": [bands, hop], "quick": args.quick, "model": args.model})


if __name__ == "__main__":
    sys.exit(main())
