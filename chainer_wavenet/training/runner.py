"""Builds and runs the Chainer Trainer that both train scripts use."""

import math
import os

import chainer
import numpy as np
from chainer.training import extensions

from chainer_wavenet import snapshot
from chainer_wavenet.audio import quantization
from chainer_wavenet.device import get_device
from chainer_wavenet.errors import WaveNetError, WriteError
from chainer_wavenet.files import atomic_path, ensure_output_dir, remove_stale_temporaries
from chainer_wavenet.models.config import config_from_json, config_to_json
from chainer_wavenet.training.extensions.ema import (
    AveragedEvaluator,
    ExponentialMovingAverage,
    check_decay,
)
from chainer_wavenet.training.extensions.log_file import LogFile
from chainer_wavenet.training.extensions.loss_plot import LossPlot
from chainer_wavenet.training.extensions.report import report_extensions
from chainer_wavenet.training.extensions.snapshots import (
    TRAINER_SNAPSHOT,
    ModelSnapshot,
    TrainerSnapshot,
    trainer_snapshots,
)
from chainer_wavenet.training.extensions.step_decay import StepDecay
from chainer_wavenet.training.objective import DeferredLossCheck, NonFiniteLoss, Objective
from chainer_wavenet.training.order import ReproducibleOrder
from chainer_wavenet.training.parallel import (
    add_parallel_arguments,
    check_communicator_device,
    create_group,
    launched_as_rank_0,
)
from chainer_wavenet.training.preemption import StopOnSignal

CONFIG_FILE = "config.json"
# What a run writes in --out besides its trainer snapshots; a new run refuses to start over them.
RUN_FILES = (CONFIG_FILE, "model.h5", "log", "loss.png", "previews")


def add_training_arguments(parser, out, batchsize, length, iterations, interval, lr=1e-3):
    """The Chainer-convention flags shared by every train script, with its defaults."""
    parser.add_argument("--out", "-o", default=out, help=f"output folder (default {out})")
    parser.add_argument("--batchsize", "-b", type=int, default=batchsize,
                        help=f"crops per step (default {batchsize})")
    parser.add_argument("--length", type=int, default=length,
                        help=f"loss-bearing samples per crop, after the receptive field "
                             f"(default {length})")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--iteration", "-i", type=int, default=None,
                      help=f"training steps (default {iterations})")
    stop.add_argument("--epoch", "-e", type=int, default=None, help="epochs instead of steps")
    parser.set_defaults(default_iterations=iterations)
    parser.add_argument("--lr", type=float, default=lr, help=f"Adam step size (default {lr:g})")
    parser.add_argument("--lr-decay", type=float, default=0.5,
                        help="factor applied to the step size at 50%% and 75%% of training "
                             "(default 0.5; 1 keeps it constant)")
    parser.add_argument("--grad-clip", type=float, default=10.0,
                        help="clip the gradient's global norm to this (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and data order")
    parser.add_argument("--ema", type=float, metavar="DECAY",
                        help="keep an exponential moving average of the weights with this "
                             "decay (e.g. 0.9999): model.h5 then holds the average, which the "
                             "sample commands use, and the raw weights for --no-ema "
                             "(default: no average)")
    parser.add_argument("--cache", metavar="DIR",
                        help="keep the dataset's mu-law classes in a memory-mapped file in DIR, "
                             "built on the first run: later runs (and every MPI rank) start at "
                             "once and share it instead of each decoding every WAV into memory")
    parser.add_argument("--interval", type=int, default=interval,
                        help=f"steps between validation, log lines, plots and snapshots "
                             f"(default {interval})")
    parser.add_argument("--validation-crops", type=int, default=32,
                        help="at most this many validation crops per evaluation (default 32)")
    parser.add_argument("--keep-snapshots", type=int, default=3,
                        help="trainer snapshots to keep (default 3; 0 keeps all)")
    parser.add_argument("--resume", nargs="?", const="latest", default=None,
                        help="continue from a trainer snapshot (default: the newest in --out)")
    parser.add_argument("--init", metavar="MODEL",
                        help="start from the weights of this model .h5 (of the same config: "
                             "to train a model further, e.g. with a lower --lr or --ema); a "
                             "--resume'd run keeps the weights of its trainer snapshot")
    parser.add_argument("--force", action="store_true",
                        help="start a new run in an --out that already holds one")
    add_parallel_arguments(parser)


def check_training_arguments(args):
    """WaveNetError for a flag no run can use."""
    for flag, value in (("--batchsize", args.batchsize), ("--length", args.length),
                        ("--interval", args.interval), ("--iteration", args.iteration),
                        ("--epoch", args.epoch), ("--validation-crops", args.validation_crops)):
        if value is not None and value < 1:
            raise WaveNetError(f"{flag} must be at least 1, got {value}")
    if args.keep_snapshots < 0:
        raise WaveNetError(f"--keep-snapshots must be >= 0 (0 keeps all), "
                           f"got {args.keep_snapshots}")
    if not 0 <= args.seed < 2**32:
        raise WaveNetError(f"--seed must lie in 0..{2**32 - 1}, got {args.seed}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise WaveNetError(f"--lr must be a finite number > 0, got {args.lr}")
    if not 0 < args.lr_decay <= 1:
        raise WaveNetError(f"--lr-decay must lie in (0, 1], got {args.lr_decay}")
    if not args.grad_clip > 0:
        raise WaveNetError(f"--grad-clip must be > 0, got {args.grad_clip}")
    check_decay(args.ema)
    check_communicator_device(args.communicator, args.gpu, args.device)


def say(message):
    """Print ``message`` once per run: under mpiexec, from rank 0 alone."""
    if launched_as_rank_0():
        print(message)


def seed_everything(seed):
    """Seed NumPy's global generator, which Chainer's initializers draw from."""
    np.random.seed(seed)


def _prepare_out(args, config):
    """Create --out; refuse to start over an existing run unless --resume or --force.

    Returns the trainer snapshots to resume from, in the order to try them (the one
    given, or every one in --out, the newest first), or None for a fresh start.
    """
    out = ensure_output_dir(args.out)
    _remove_stale_temporaries(out)
    config_path = out / CONFIG_FILE
    ours = [name for name in os.listdir(out)
            if name in RUN_FILES or TRAINER_SNAPSHOT.match(name)]
    if args.resume is None:
        if ours and not args.force:
            raise WaveNetError(f"{out}: already holds a training run ({', '.join(sorted(ours))});"
                               f" pass --resume to continue it, --force to start over, or "
                               f"choose another --out")
        with atomic_path(config_path, force=True) as temporary:
            with open(temporary, "w") as f:
                f.write(config_to_json(config))
        return None
    if args.resume == "latest":
        paths = trainer_snapshots(out)
        if not paths:
            raise WaveNetError(f"--resume: no trainer snapshot (snapshot_iter_N.npz) in {out}; "
                               f"give its path, or start without --resume")
    elif not os.path.isfile(args.resume):
        raise WaveNetError(f"--resume {args.resume}: no such trainer snapshot")
    else:
        paths = [args.resume]
    if config_path.exists() and config_from_json(config_path.read_text(),
                                                 str(config_path)) != config:
        raise WaveNetError(f"--resume: {config_path} holds another model config than the one "
                           f"asked for; resume with the run's own --preset, dataset and settings")
    return paths


def _remove_stale_temporaries(out):
    """Remove, and name, the temporary files of writes that a kill cut short in a run's folder."""
    for folder in (out, out / "previews"):
        removed = remove_stale_temporaries(folder)
        if removed:
            print(f"{folder}: removed {len(removed)} temporary file(s) left by a write cut "
                  f"short: {', '.join(removed)}")


def _resume(trainer, paths, explicit):
    """Load the first of ``paths`` that loads into ``trainer``; say which were skipped.

    An explicitly given snapshot that does not load is refused. A snapshot that fails
    part way leaves no trace: the one that loads sets every value the trainer keeps.
    """
    skipped = []
    for path in paths:
        try:
            chainer.serializers.load_npz(path, trainer)
        except Exception as error:  # numpy, zipfile and chainer each raise their own kinds
            reason = f"{type(error).__name__}: {error}"
            if explicit:
                raise WaveNetError(f"--resume {path}: cannot load this trainer snapshot "
                                   f"({reason}); it is damaged or of another run. Pass another "
                                   f"snapshot, or --resume alone for the newest good one in "
                                   f"--out") from None
            skipped.append(f"{path} ({reason})")
            continue
        if skipped:
            say(f"--resume: skipped the newer trainer snapshot(s) that do not load, damaged "
                f"or of another run: {'; '.join(skipped)}")
        return path
    raise WaveNetError(f"--resume: no trainer snapshot in {trainer.out} loads, each damaged or "
                       f"of another run: {'; '.join(skipped)}. Give a good one's path, or start "
                       f"again with --force")


def _stopped_by(error, out, iteration):
    """``error`` (a failed write) with where training stopped and how to go on."""
    paths = trainer_snapshots(out)
    then = (f"the last trainer snapshot is {paths[0]}: once the write can succeed, run the "
            f"same command with --resume" if paths else
            "no trainer snapshot was written yet: once the write can succeed, start again "
            "with --force")
    return WriteError(f"{error}. Training stopped at iteration {iteration}; {then}")


def bits_meaning(model, loss=None):
    """What ``main/bits`` measures, quantization named: a model's own NLL in bits per sample
    of its classes, or, given another ``loss``, that loss in bits."""
    if loss is not None:
        return "loss in bits per sample"
    config = getattr(model.config, "decoder", model.config)  # an autoencoder's decoder
    return f"bits per sample ({quantization.describe(config.n_classes, config.quantization)})"


def _stop_trigger(args, n_examples):
    if args.epoch is not None:
        total = args.epoch * max(1, n_examples // args.batchsize)
        return (args.epoch, "epoch"), total
    total = args.iteration or args.default_iterations
    return (total, "iteration"), total


def run_training(model, train_set, valid_set, args, metadata, extra_extensions=(), loss=None,
                 report=(), loss_in_bits=True):
    """Train ``model`` with Adam on crops, with validation, logs, plots and snapshots.

    ``loss``: what to minimize instead of ``model.loss`` (see :class:`Objective`);
    ``report``: more reported values to print beside the loss (e.g. ``main/kl``);
    ``loss_in_bits``: whether the loss is a NLL, printed and plotted in bits per sample
    (``main/bits``), or another loss, printed and plotted as it is (``main/loss``).
    Validation scores the moving average of the weights when ``--ema`` keeps one: what
    ``model.h5`` holds.

    Under MPI (``--communicator``) every rank calls this with the whole
    dataset; each trains on its share, and rank 0 alone writes files. All
    ranks resume from rank 0's trainer snapshot: weights and optimizer state
    are the same on every rank, and so is the iterator's order of local
    indices (same seed, same share size).

    ``args`` comes from a parser set up with :func:`add_training_arguments`,
    ``cli.add_common_arguments`` and ``device.add_device_arguments``.
    """
    check_training_arguments(args)
    group = create_group(args.communicator)
    stop_on_signal = StopOnSignal(group)
    with group.stop_all_on_error(), stop_on_signal.catching():
        return _run_training(group, stop_on_signal, model, train_set, valid_set, args,
                             metadata, extra_extensions, loss, report, loss_in_bits)


def _run_training(group, stop_on_signal, model, train_set, valid_set, args, metadata,
                  extra_extensions, loss, report, loss_in_bits):
    if args.init is not None:
        snapshot.load_weights(args.init, model)
        metadata = dict(metadata, initialized_from=str(args.init))
    device = get_device(*group.device(args.gpu, args.device))
    try:
        outcome = _prepare_out(args, model.config) if group.is_root else None
    except WaveNetError as error:
        outcome = error
    resume_paths = group.agree(outcome)
    objective = Objective(model, loss=loss, bits=loss_in_bits)
    shown = "main/bits" if loss_in_bits else "main/loss"
    objective.to_device(device)
    optimizer = group.optimizer(chainer.optimizers.Adam(alpha=args.lr), objective)
    optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(args.grad_clip))

    train_set = group.share(train_set, args.seed)
    train_iter = chainer.iterators.SerialIterator(
        train_set, args.batchsize, order_sampler=ReproducibleOrder(args.seed))
    updater = chainer.training.StandardUpdater(train_iter, optimizer, device=device)
    stop, total = _stop_trigger(args, len(train_set))
    trainer = chainer.training.Trainer(updater, stop, out=args.out)
    interval = (args.interval, "iteration")
    loss_check = DeferredLossCheck(objective)
    trainer.extend(loss_check, trigger=interval)
    for mean_over_ranks in group.extensions(["main/loss", "main/bits"][:1 + loss_in_bits]):
        trainer.extend(mean_over_ranks)

    average = None
    if args.ema is not None:
        moving_average = ExponentialMovingAverage(model, args.ema)
        trainer.extend(moving_average)
        average = moving_average.average
        metadata = dict(metadata, ema=args.ema)
    if len(valid_set):
        picks = np.linspace(0, len(valid_set) - 1, min(len(valid_set), args.validation_crops))
        valid_iter = chainer.iterators.SerialIterator(
            group.share([valid_set[i] for i in np.unique(picks.astype(int))], args.seed),
            args.batchsize, repeat=False, shuffle=False)
        trainer.extend(group.evaluator(AveragedEvaluator(valid_iter, objective, model, average,
                                                         device=device)), trigger=interval)
    if args.lr_decay < 1:
        trainer.extend(StepDecay(args.lr, args.lr_decay, {max(1, total // 2),
                                                          max(1, total * 3 // 4)}))
    model_snapshot = ModelSnapshot(model, metadata=dict(metadata, processes=group.size),
                                   average=average)
    trainer_snapshot = TrainerSnapshot(model, keep=args.keep_snapshots)
    if group.is_root:
        # Adam's step size (what --lr sets and the decay halves), not Chainer's bias-
        # corrected optimizer.lr, which rises after a halving in early steps.
        trainer.extend(extensions.observe_value(
            "lr", lambda trainer: trainer.updater.get_optimizer("main").alpha), trigger=interval)
        trainer.extend(LogFile(trigger=interval))
        for ext in report_extensions(
                ["epoch", "iteration", shown, f"validation/{shown}", *report, "lr",
                 "elapsed_time"], max(1, min(10, args.interval))):
            trainer.extend(ext)
        trainer.extend(LossPlot([shown, f"validation/{shown}"],
                                ylabel=bits_meaning(model, loss) if loss_in_bits else "loss"),
                       trigger=interval)
        trainer.extend(model_snapshot, trigger=interval)
        trainer.extend(trainer_snapshot, trigger=interval)
        for ext, trigger in extra_extensions:
            trainer.extend(ext, trigger=trigger)
    stop_on_signal.snapshot_of_this_step = trainer_snapshot.of_this_step
    trainer.extend(stop_on_signal)

    say(f"{shown}, validation/{shown}: "
        + (bits_meaning(model, loss) if loss_in_bits else "the loss, in nats"))
    if resume_paths is not None:
        resume_from = _resume(trainer, resume_paths, explicit=args.resume != "latest")
        print(f"resumed from {resume_from} at iteration {updater.iteration}")
    try:
        _train(trainer, loss_check, args)
        if group.is_root and updater.iteration % args.interval:
            model_snapshot(trainer)
            trainer_snapshot(trainer)
    except WriteError as error:
        raise _stopped_by(error, args.out, updater.iteration) from None
    return trainer


def _train(trainer, loss_check, args):
    """``trainer.run()`` and a last ``loss_check`` of the steps since the last interval, a
    NaN or inf loss stopping it as a WaveNetError."""
    try:
        # NaN and inf are caught as a NonFiniteLoss, with a clearer message than NumPy's.
        with np.errstate(over="ignore", invalid="ignore"):
            trainer.run(show_loop_exception_msg=args.debug)
            if trainer.updater.iteration > loss_check.checked:
                loss_check(trainer)
    except NonFiniteLoss as error:
        iteration = trainer.updater.iteration
        if error.iterations:
            when = "in iterations {}..{}".format(*error.iterations)
        elif error.training:
            when = f"at iteration {iteration + 1}"
        else:
            when = f"after the update of iteration {iteration}"
        raise WaveNetError(f"{error} {when}; stopped without saving these weights (the last "
                           f"snapshot in {args.out} is intact). Resume it with a lower --lr or "
                           f"--grad-clip") from None
