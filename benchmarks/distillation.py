"""One distillation step (forward and backward) with the mixture computed once for all
draws and the DFT basis cached, beside the same step computed as before (the mixture's
clip, exp and log-softmax redone for every draw, the basis rebuilt and sent every call).

    python benchmarks/distillation.py [--config small] [--student small] [--length 2048]
    python benchmarks/distillation.py --quick          # tiny sizes, for the tests

The teacher is the named config (default small) conditioned on 80 mel bands every 256
samples, predicting a mixture of 10 logistics; the student the named preset conditioned
alike. Batch 4 crops of the teacher's receptive field plus ``--length`` samples, ``--draws``
draws per sample; both forms on the same crops in the same process, taking turns. The
table gives the median time of a step of each and the baseline's time over the new one.
"""

import argparse
import dataclasses
import os
import sys

import common  # sets chainer up: first

# isort: split
import chainer.functions as F
import numpy as np

from chainer_wavenet.models.config import STUDENT_PRESETS, student_for, with_output
from chainer_wavenet.models.student import Student, logistic_noise
from chainer_wavenet.models.wavenet import WaveNet
from chainer_wavenet.training import student_losses
from chainer_wavenet.training.student_losses import Distillation, decode, last

MEL_BANDS, MEL_HOP = 80, 256
BATCH = 4


class BaselineDistillation(Distillation):
    """The step as computed before: the teacher's mixture parts redone for every draw, the
    power loss's DFT basis rebuilt and sent to the device every call."""

    def __call__(self, x, local_features=None, global_ids=None):
        student, teacher, xp = self.student, self._scoring_teacher(), self.student.xp
        batch, length = x.shape
        rng = np.random.default_rng([self.seed, self.rank, int(self.calls)])
        self.calls += 1
        out = student(xp.asarray(logistic_noise(rng, (batch, length))), global_ids,
                      local_features)
        outputs = teacher(F.split_axis(out.samples, [length - 1], axis=1)[0], global_ids,
                          local_features)
        scored = outputs.shape[2]
        mean, log_scale = last(out.mean, scored), last(out.log_scale, scored)
        scale = F.exp(log_scale)
        cross_entropy = 0
        for _ in range(self.draws):
            draw = xp.asarray(logistic_noise(rng, (batch, scored)))
            cross_entropy -= F.mean(teacher.distribution.log_density(
                outputs, mean + scale * draw, self.log_scale_floor))
        cross_entropy /= self.draws
        kl = cross_entropy - (F.mean(log_scale) + 2)
        student_losses.dft_basis.cache_clear()
        power = student_losses.power_loss(out.samples, decode(x, student.config.n_classes))
        return kl + self.power_weight * power, {}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_arguments(parser, "distillation")
    parser.add_argument("--student", choices=sorted(STUDENT_PRESETS), default="small",
                        help="student preset (default small)")
    parser.add_argument("--length", type=int, help="scored samples per crop (default 2048)")
    parser.add_argument("--draws", type=int, default=4,
                        help="draws per sample (default 4, train/student.py's)")
    parser.add_argument("--quick", action="store_true",
                        help="small teacher and student, short crops, one run")
    return parser


def stepping(loss, x, features):
    def step():
        value, _ = loss(x, features)
        loss.student.cleargrads()
        value.backward()
    return step


def measure_all(args, device):
    np.random.seed(0)
    config = dataclasses.replace(common.CONFIGS[args.config][0], local_channels=MEL_BANDS,
                                 local_hop=MEL_HOP)
    teacher = WaveNet(with_output(config, "logistic_mixture", 10))
    student = Student(student_for(teacher.config, args.student))
    teacher.to_device(device)
    student.to_device(device)
    xp = student.xp
    length = teacher.receptive_field + args.length
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.integers(20000, 45000, (BATCH, length)).astype(np.int32))
    features = xp.asarray(rng.normal(size=(BATCH, MEL_BANDS, -(-length // MEL_HOP)))
                          .astype(np.float32))
    losses = {name: kind(student, teacher, 1.0, args.draws, seed=0)
              for name, kind in (("baseline", BaselineDistillation), ("new", Distillation))}
    values = {name: float(loss(x, features)[0].array) for name, loss in losses.items()}
    if not np.isclose(values["baseline"], values["new"], rtol=1e-5):
        raise SystemExit(f"the two forms disagree: {values}")
    figures = {}
    for _ in range(2):  # taking turns
        for name, loss in losses.items():
            timing = common.measure(stepping(loss, x, features), args.repeat, device)
            figures[name] = min(figures.get(name, np.inf), timing["wall_s"])
    figures["ratio"] = figures["baseline"] / figures["new"]
    return {"figures": figures}


def main():
    args = build_parser().parse_args()
    if args.quick:
        args.config, args.repeat = "small", 1
    args.length = args.length or (64 if args.quick else 2048)
    runs = common.runs(args, os.path.abspath(__file__), measure_all)
    if runs is None:
        return
    rows = [("baseline (mixture per draw, basis rebuilt), s/step", "baseline", ".3f"),
            ("new (mixture once, basis cached), s/step", "new", ".3f"),
            ("baseline / new", "ratio", ".3f")]
    common.print_table(f"distillation step: teacher {args.config} (10 logistics, "
                       f"{MEL_BANDS} mel bands), student {args.student}, batch {BATCH} x "
                       f"(receptive field + {args.length}), {args.draws} draws, median of "
                       f"{args.repeat}, best of 2 turns", rows, runs)
    common.write_json(args, "distillation", runs, {
        "student": args.student, "length": args.length, "draws": args.draws,
        "repeat": args.repeat, "rounds": args.rounds, "quick": args.quick})


if __name__ == "__main__":
    sys.exit(main())
