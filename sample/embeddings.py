"""Look at what an autoencoder's z holds: PCA by instrument family, and one note over time.

    python sample/embeddings.py --model M.h5 --dataset data/nsynth --split valid --limit 500
"""

import argparse

import numpy as np
from tqdm.auto import tqdm

import chainer_wavenet  # noqa: F401  (before chainer)
from chainer_wavenet import cli
from chainer_wavenet.datasets.nsynth import FAMILIES
from chainer_wavenet.device import add_device_arguments, get_device
from chainer_wavenet.files import ensure_output_dir
from chainer_wavenet.sampling import (
    inputs as sampling_inputs,
    outputs as sampling_outputs,
    synthesis,
)
from chainer_wavenet.visualizations import plots


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="autoencoder snapshot (.h5)")
    parser.add_argument("--dataset", required=True, metavar="DIR", help="NSynth-layout folder")
    parser.add_argument("--split", help="split of --dataset: train, valid or test")
    parser.add_argument("--limit", type=int, help="only the first N notes")
    parser.add_argument("--note", metavar="NAME",
                        help="note for z_over_time.png (default: the first one)")
    parser.add_argument("--seconds", type=float,
                        help="use only the first seconds of each note (default: all of it)")
    parser.add_argument("--out", default="result/embeddings",
                        help="output folder (default %(default)s)")
    parser.add_argument("--batch", type=int, default=1, help="notes encoded in one pass")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    add_device_arguments(parser)
    cli.add_common_arguments(parser)
    return parser


def main(args):
    if args.batch < 1:
        raise chainer_wavenet.WaveNetError(f"--batch must be at least 1, got {args.batch}")
    model = sampling_inputs.load_model(args.model, get_device(args.gpu, args.device),
                                       autoencoder=True)
    rate = sampling_inputs.sample_rate(model)
    max_samples = sampling_inputs.note_length(args.seconds, rate)
    notes = sampling_inputs.select_notes(dataset=args.dataset, split=args.split, limit=args.limit,
                                         rate=rate)
    names = [n.name for n in notes]
    chosen = args.note or names[0]
    extra = [] if chosen in names else sampling_inputs.select_notes(
              dataset=args.dataset, split=args.split, names=[chosen], rate=rate)
    out = ensure_output_dir(args.out)
    sampling_outputs.check_free(out, ["embeddings_pca", "z_over_time"], args.force, (".png",))

    audios = (sampling_inputs.read_note(n, model.hop, max_samples) for n in notes + extra)
    zs = list(synthesis.encode_all(
        model, tqdm(audios, "encoding", len(notes) + len(extra), unit="note"), args.batch))
    z_note = zs[(names + [chosen]).index(chosen)]
    means = np.stack([z.mean(axis=1) for z in zs[:len(notes)]])
    families = [n.record.family for n in notes]
    plots.save_embedding_pca(out / "embeddings_pca.png", means, families, FAMILIES,
                             force=args.force)
    plots.save_z_over_time(out / "z_over_time.png", z_note, model.hop, rate,
                           title=f"z of {chosen}", force=args.force)
    print(f"wrote {out / 'embeddings_pca.png'} ({len(notes)} notes) and "
          f"{out / 'z_over_time.png'} ({chosen})")


if __name__ == "__main__":
    cli.run(main, build_parser())
