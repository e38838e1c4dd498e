"""A folder of WAV files, optionally one subfolder per speaker, loaded as mu-law classes.

Layouts::

    root/a.wav, root/b.wav, ...          no speakers
    root/alice/*.wav, root/bob/**/*.wav  one speaker per top-level subfolder

WAV files are found recursively (``.wav`` in any case); names starting with a dot
(temporary files, macOS ``._`` resource files) are skipped. Each file is decoded and
mu-law encoded once, on load.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainer_wavenet import mu_law
from chainer_wavenet.audio import read_wav
from chainer_wavenet.data.class_cache import cached_classes
from chainer_wavenet.errors import WaveNetError


@dataclass
class WavFolder:
    """Mu-law encoded waveforms with their source files and speaker ids.

    ``speakers`` holds one int32 id per waveform (an index into ``speaker_names``),
    or is None when the folder has no speaker subfolders. ``names`` label each
    waveform in messages: the file path, plus which part of it after a one-file split.
    """

    waveforms: list
    paths: list
    names: list
    sample_rate: int
    n_classes: int = 256
    speakers: np.ndarray | None = None
    speaker_names: list = field(default_factory=list)

    def __len__(self):
        return len(self.waveforms)

    @property
    def n_speakers(self):
        return len(self.speaker_names)

    def split(self, validation_fraction, seed=0):
        """Return ``(train, validation)``, holding out whole files.

        With two or more files, ``round(validation_fraction * n_files)`` files (at
        least one, at most all but one), picked at random with ``seed``, go to
        validation. With a single file, its last ``validation_fraction`` of samples
        goes to validation and the rest to training. A fraction of 0 gives an empty
        validation set; speaker ids and names are kept as they are in both parts.
        """
        if not 0.0 <= validation_fraction < 1.0:
            raise WaveNetError(f"validation fraction must lie in [0, 1), got {validation_fraction}")
        if validation_fraction == 0.0:
            return self, self._subset([])
        if len(self) == 1:
            return self._split_single_file(validation_fraction)
        n_validation = min(max(1, round(validation_fraction * len(self))), len(self) - 1)
        order = np.random.default_rng(seed).permutation(len(self))
        held_out = sorted(order[:n_validation].tolist())
        kept = sorted(order[n_validation:].tolist())
        return self._subset(kept), self._subset(held_out)

    def _subset(self, indices):
        return WavFolder(
            waveforms=[self.waveforms[i] for i in indices],
            paths=[self.paths[i] for i in indices],
            names=[self.names[i] for i in indices],
            sample_rate=self.sample_rate,
            n_classes=self.n_classes,
            speakers=None if self.speakers is None else self.speakers[indices],
            speaker_names=self.speaker_names,
        )

    def _split_single_file(self, validation_fraction):
        waveform = self.waveforms[0]
        boundary = len(waveform) - int(round(validation_fraction * len(waveform)))
        train, validation = self._subset([0]), self._subset([0])
        train.waveforms = [waveform[:boundary]]
        validation.waveforms = [waveform[boundary:]]
        percent = round(100 * validation_fraction)
        train.names = [f"{self.names[0]} (first {100 - percent}%)"]
        validation.names = [f"{self.names[0]} (last {percent}%, held out for validation)"]
        return train, validation


def load_folder(root, sample_rate, n_classes=256, cache=None):
    """Load every WAV file under ``root`` as int32 mu-law classes.

    All files must be mono at ``sample_rate``; any bad file raises WaveNetError
    naming it. Files are taken in sorted path order, speakers in sorted name order.
    With ``cache`` (a folder) the classes are read-only views of a memory-mapped
    file there, in the smallest unsigned type (see ``class_cache``).
    """
    root = Path(root)
    if not root.exists():
        raise WaveNetError(f"{root}: data folder not found")
    if not root.is_dir():
        raise WaveNetError(f"{root}: is a file; give the folder that holds the WAV files")
    paths = _find_wavs(root)
    if not paths:
        raise WaveNetError(f"{root}: no .wav files found in this folder or its subfolders")
    loose = [path for path in paths if path.parent == root]
    if loose and len(loose) < len(paths):
        raise WaveNetError(
            f"{root}: holds WAV files both directly ({loose[0].name}, ...) and in subfolders; "
            "put all files in speaker subfolders, or all directly in the folder"
        )
    speakers, speaker_names = None, []
    if not loose:
        per_file = [path.relative_to(root).parts[0] for path in paths]
        speaker_names = sorted(set(per_file))
        ids = {name: index for index, name in enumerate(speaker_names)}
        speakers = np.array([ids[name] for name in per_file], dtype=np.int32)
    if cache is not None:
        waveforms = cached_classes(paths, sample_rate, n_classes, cache)
    else:
        waveforms = [mu_law.encode(read_wav(path, sample_rate), n_classes) for path in paths]
    return WavFolder(
        waveforms=waveforms,
        paths=paths,
        names=[str(path) for path in paths],
        sample_rate=sample_rate,
        n_classes=n_classes,
        speakers=speakers,
        speaker_names=speaker_names,
    )


def _find_wavs(root):
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix.lower() == ".wav" and path.is_file():
            found.append(path)
    return sorted(found)
