"""Trainer extensions that let you hear and see how a model's audio improves."""

import os

import chainer
import numpy as np
from chainer.training import extension

from chainer_wavenet.audio import quantization
from chainer_wavenet.files import ensure_output_dir
from chainer_wavenet.sampling import outputs as sampling_outputs, synthesis
from chainer_wavenet.sampling.generate import generate


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


class Continuations(extension.Extension):
    """Every trigger, plays a WaveNet on a few fixed validation recordings' openings.

    ``classes``: int32 (batch, primed + new), the recordings' openings, shown as the
    originals. A plain WaveNet continues the first ``primed`` samples of each (its PNG
    marks where the prime ends); a vocoder (``features``: (batch, bands, frames) covering
    the openings) resynthesizes each from silence (``primed`` 0). ``speakers``: one id
    per recording, or None. Writes ``previews/iter_<N>_<name>.wav`` and its PNG.
    """

    priority = extension.PRIORITY_READER

    def __init__(self, model, names, classes, primed, sample_rate, speakers=None,
                 features=None, seed=0):
        self.model = model
        self.names = names
        self.classes = np.asarray(classes, np.int32)
        self.primed = primed
        self.sample_rate = sample_rate
        self.speakers = speakers
        self.features = features
        self.seed = seed

    def __call__(self, trainer):
        folder = ensure_output_dir(os.path.join(trainer.out, "previews"))
        config = self.model.config
        prime = self.classes[:, :self.primed] if self.primed else None
        with chainer.using_config("train", False):
            new = generate(self.model, self.classes.shape[1] - self.primed, len(self.classes),
                           global_ids=self.speakers, local_features=self.features,
                           prime=prime, seed=self.seed)
        played = new if prime is None else np.concatenate([prime, new], axis=1)
        audio, originals = (quantization.decode(classes, config.n_classes, config.quantization)
                            for classes in (played, self.classes))
        iteration = trainer.updater.iteration
        for name, original, result in zip(self.names, originals, audio, strict=True):
            sampling_outputs.write_outputs(folder, f"iter_{iteration:07d}_{name}", result,
                                           self.sample_rate, force=True, original=original,
                                           primed=self.primed)
