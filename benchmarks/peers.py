"""Training speed beside r9y9/wavenet_vocoder (PyTorch), same config, same process, same run.

    python benchmarks/peers.py --peer-path ~/src/wavenet_vocoder [--config S] [--threads 1 2]

For each thread count, in one process: our training step (forward, backward, Adam) and
teacher-forced forward pass, then the same for r9y9's ``WaveNet`` built at the same sizes
(one-hot 256-class input, no conditioning, no dropout), on crops of receptive field +
``--length`` random classes, the ``--length`` positions after the receptive field carrying
the loss; loss-bearing samples per second and ours / theirs. The peer needs PyTorch
(``pip install torch==2.13.0 'setuptools<81'`` on a CPU machine: a plain ``torch`` pulls a
CUDA build of several GB, and torch's newer setuptools drops the ``pkg_resources`` that
``chainer.testing`` imports) and a checkout of https://github.com/r9y9/wavenet_vocoder
(``--peer-path``). Not run by the tests or CI.
"""

import argparse
import os
import sys

import common  # sets chainer up: first

# isort: split
import chainer
import numpy as np
import training

CONFIG_SIZES = {"small": dict(layers=16, stacks=2, residual_channels=32, gate_channels=64,
                              skip_out_channels=64),
                "S": dict(layers=20, stacks=2, residual_channels=64, gate_channels=128,
                          skip_out_channels=128)}
HOW_TO_INSTALL = ("benchmarks/peers.py needs PyTorch and r9y9's wavenet_vocoder: "
                  "pip install torch==2.13.0 'setuptools<81' (a CPU build; a plain 'torch' "
                  "pulls a CUDA build of several GB), git clone "
                  "https://github.com/r9y9/wavenet_vocoder, and --peer-path pointing at "
                  "that clone")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_arguments(parser, "peers")
    parser.set_defaults(config="S")
    parser.add_argument("--batch", type=int, default=4, help="crops per step (default 4)")
    parser.add_argument("--length", type=int, default=8192,
                        help="loss-bearing samples per crop (default 8192)")
    parser.add_argument("--peer-path", help="a checkout of r9y9/wavenet_vocoder")
    return parser


def import_peer(path):
    """torch and wavenet_vocoder's WaveNet, or None with what to install said."""
    if path:
        sys.path.insert(0, os.path.abspath(path))
    try:
        import torch
        from wavenet_vocoder import WaveNet
    except ImportError as error:
        print(f"{HOW_TO_INSTALL} ({error})", file=sys.stderr)
        return None
    return torch, WaveNet


def measure_peer(torch, peer_class, args, receptive_field):
    """Their training step and forward pass on the crops ours are timed on."""
    torch.set_num_threads(common.thread_count() or os.cpu_count())
    torch.manual_seed(0)
    model = peer_class(out_channels=256, kernel_size=2, dropout=0.0, scalar_input=False,
                       **CONFIG_SIZES[args.config])
    samples = receptive_field + args.length
    classes = torch.from_numpy(np.random.default_rng(args.batch).integers(
        0, 256, (args.batch, samples)))
    one_hot = torch.nn.functional.one_hot(classes[:, :-1], 256).transpose(1, 2).float()
    targets = classes[:, receptive_field:]
    optimizer = torch.optim.Adam(model.parameters())

    def step():
        optimizer.zero_grad()
        outputs = model(one_hot)[:, :, receptive_field - 1:]
        torch.nn.functional.cross_entropy(outputs, targets).backward()
        optimizer.step()

    def forward():
        with torch.no_grad():
            model.eval()
            model(one_hot)
            model.train()

    loss_bearing = args.batch * args.length
    train = common.measure(step, args.repeat, chainer.get_device("@numpy"))
    teacher_forced = common.measure(forward, args.repeat, chainer.get_device("@numpy"))
    return {"peer train": loss_bearing / train["wall_s"],
            "peer forward": loss_bearing / teacher_forced["wall_s"]}


def measure_all(args, device):
    peer = import_peer(args.peer_path)
    model = common.build_model(args.config, device)
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(model)
    ours = training.measure_batch(model, optimizer, args.batch, args, device)
    figures = {"train": ours[f"train {args.batch}"], "forward": ours[f"forward {args.batch}"]}
    if peer is not None:
        figures.update(measure_peer(*peer, args, model.receptive_field))
        figures["train ratio"] = figures["train"] / figures["peer train"]
        figures["forward ratio"] = figures["forward"] / figures["peer forward"]
    return {"figures": figures, "parameters": common.parameter_count(model),
            "receptive_field": model.receptive_field}


def main():
    args = build_parser().parse_args()
    if args.config not in CONFIG_SIZES:
        sys.exit(f"--config {args.config}: the peer is built for {', '.join(CONFIG_SIZES)}")
    if args.child:
        common.child_main(args, measure_all)
        return
    if import_peer(args.peer_path) is None:
        return
    runs = common.run_children(args, os.path.abspath(__file__))
    shape = f"{args.batch} x {args.length}"
    print(f"config {args.config}: {common.CONFIGS[args.config][1]}; "
          f"{runs[0]['parameters']:,} parameters, receptive field {runs[0]['receptive_field']}")
    common.print_table(f"training beside r9y9/wavenet_vocoder (PyTorch), {shape}, "
                       f"median of {args.repeat}", [
                           ("ours: train step, samples/s", "train", ",.0f"),
                           ("theirs: train step, samples/s", "peer train", ",.0f"),
                           ("ours / theirs, train step", "train ratio", ".2f"),
                           ("ours: forward, samples/s", "forward", ",.0f"),
                           ("theirs: forward, samples/s", "peer forward", ",.0f"),
                           ("ours / theirs, forward", "forward ratio", ".2f")], runs)
    common.write_json(args, "peers", runs, {"batch": args.batch, "length": args.length,
                                            "repeat": args.repeat, "rounds": args.rounds,
                                            "peer": "r9y9/wavenet_vocoder"})


if __name__ == "__main__":
    sys.exit(main())
