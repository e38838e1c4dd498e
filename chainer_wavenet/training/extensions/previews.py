"""A Trainer extension that lets you hear and see how reconstructions improve."""

import os

import chainer
import numpy as np
from chainer.training import extension

from chainer_wavenet.files import ensure_output_dir
from chainer_wavenet.sampling import outputs as sampling_outputs, synthesis


class Reconstructions(extension.Extension):
    """Every trigger, resynthesizes a few fixed validation notes from their own z and pitch.

    Writes ``previews/iter_<N>_<note>.wav`` and a PNG with the original's
    spectrogram beside the reconstruction's. ``audio``: float32 note
    excerpts, each a whole number of frames long.
    """

    priority = extension.PRIORITY_READER

    def __init__(self, model, names, audio, pitches, sample_rate, seed=0):
        self.model = model
        self.names = names
        self.audio = np.stack(audio)
        self.pitches = np.asarray(pitches)  # a MIDI pitch or a pitch track per note
        self.sample_rate = sample_rate
        self.seed = seed

    def __call__(self, trainer):
        folder = ensure_output_dir(os.path.join(trainer.out, "previews"))
        with chainer.using_config("train", False):
            z = self.model.encode(self.audio)
            audio = synthesis.decode(self.model, z, self.pitches, seed=self.seed, progress=False)
        iteration = trainer.updater.iteration
        for name, original, result in zip(self.names, self.audio, audio, strict=True):
            sampling_outputs.write_outputs(folder, f"iter_{iteration:07d}_{name}", result,
                                           self.sample_rate, force=True, original=original)
