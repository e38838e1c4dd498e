"""A folder of WAV files, optionally one subfolder per speaker, loaded as classes.

Layouts::

    root/a.wav, root/b.wav, ...          no speakers
    root/alice/*.wav, root/bob/**/*.wav  one speaker per top-level subfolder
    VCTK-Corpus/wav48/p225/*.wav         VCTK as downloaded (see ``vctk``)

Audio files are found recursively (WAV, FLAC, OGG, MP3, AIFF: ``wav.AUDIO_SUFFIXES``, in any
case); names starting with
a dot (temporary files, macOS ``._`` resource files) are skipped. Each file is decoded,
brought to the model's rate and to mono (see ``conversion``) and quantized (mu-law by
default, see ``quantization``) once, on load.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainer_wavenet.audio import quantization as quantizations
from chainer_wavenet.audio.wav import AUDIO_SUFFIXES
from chainer_wavenet.datasets import vctk
from chainer_wavenet.datasets.class_cache import cached_load
from chainer_wavenet.datasets.conversion import Conversion, ConversionSummary
from chainer_wavenet.errors import WaveNetError


@dataclass
class WavFolder:
    """Mu-law encoded waveforms with their source files and speaker ids.

    ``speakers`` holds one int32 id per waveform (an index into ``speaker_names``),
    or is None when the folder has no speaker subfolders. ``names`` label each
    waveform in messages: the file path, plus which part of it after a one-file split.
    ``conversion`` tells what loading did to the files (resampling, mixing down, trimming).
    """

    waveforms: list
    paths: list
    names: list
    sample_rate: int
    n_classes: int = 256
    speakers: np.ndarray | None = None
    speaker_names: list = field(default_factory=list)
    conversion: ConversionSummary | None = None

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
            conversion=self.conversion,
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


def dataset_name(root):
    """The name a snapshot records for dataset folder ``root``: its last part, no path."""
    return Path(root).resolve().name


def relative_name(path, root):
    """``path`` relative to dataset folder ``root``, with forward slashes."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


def load_folder(root, sample_rate, n_classes=256, cache=None, speakers=None, trim_db=None,
                quantization="mu_law"):
    """Load every audio file under ``root`` as int32 classes of ``quantization`` at
    ``sample_rate``.

    Files at other rates are resampled, files with several channels mixed down, and with
    ``trim_db`` their quiet ends cut (see ``conversion``); any bad file raises WaveNetError
    naming it. ``speakers`` picks speaker folders: names separated by commas, or a count
    (the first N by name). Files are taken in sorted path order, speakers in sorted name
    order. With ``cache`` (a folder) the classes are read-only views of a memory-mapped
    file there, in the smallest unsigned type (see ``class_cache``).
    """
    root = Path(root)
    if not root.exists():
        raise WaveNetError(f"{root}: data folder not found")
    if not root.is_dir():
        raise WaveNetError(f"{root}: is a file; give the folder that holds the WAV files")
    audio_root = vctk.audio_folder(root)
    paths = vctk.first_microphone(_find_audio(audio_root))
    if not paths:
        raise WaveNetError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found in "
                           "this folder or its subfolders")
    loose = [path for path in paths if path.parent == audio_root]
    if loose and len(loose) < len(paths):
        raise WaveNetError(
            f"{audio_root}: holds WAV files both directly ({loose[0].name}, ...) and in "
            "subfolders; put all files in speaker subfolders, or all directly in the folder"
        )
    if loose and speakers is not None:
        raise WaveNetError(f"--speakers: {audio_root} has no speaker subfolders; leave the "
                           "flag out, or give a folder of one subfolder per speaker")
    speaker_ids, speaker_names = None, []
    if not loose:
        speaker_names = sorted(folder.name for folder in audio_root.iterdir()
                               if folder.is_dir() and not folder.name.startswith("."))
        if speakers is not None:
            speaker_names = select_speakers(speaker_names, speakers, audio_root)
        paths = [path for path in paths if _owner(path, audio_root) in speaker_names]
        _check_every_speaker_has_audio(audio_root, speaker_names, paths)
        ids = {name: index for index, name in enumerate(speaker_names)}
        speaker_ids = np.array([ids[_owner(path, audio_root)] for path in paths], dtype=np.int32)
    vctk.check_transcripts(audio_root, paths)
    conversion = Conversion(sample_rate, trim_db)
    if cache is not None:
        waveforms, records = cached_load(paths, n_classes, cache, conversion.load,
                                         conversion.recipe(), quantization)
    else:
        waveforms, records = [], []
        for path in paths:
            audio, record = conversion.load(path)
            waveforms.append(quantizations.encode(audio, n_classes, quantization))
            records.append(record)
    return WavFolder(
        waveforms=waveforms,
        paths=paths,
        names=[str(path) for path in paths],
        sample_rate=sample_rate,
        n_classes=n_classes,
        speakers=speaker_ids,
        speaker_names=speaker_names,
        conversion=ConversionSummary.of(records, conversion),
    )


def select_speakers(names, wanted, root):
    """The speakers of ``names`` that ``wanted`` picks: ``"p225,p226"`` by name, or ``"4"``
    for the first four by name; in ``names``' order."""
    wanted = str(wanted).strip()
    if wanted.isdigit():
        count = int(wanted)
        if not 1 <= count <= len(names):
            raise WaveNetError(f"--speakers {wanted}: {root} holds {len(names)} speaker "
                               f"folders; give a count from 1 to {len(names)}")
        return names[:count]
    picked = {name.strip() for name in wanted.split(",") if name.strip()}
    unknown = sorted(picked - set(names))
    if not picked or unknown:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        missing = ", ".join(unknown) or repr(wanted)
        raise WaveNetError(f"--speakers: no speaker folder {missing} in {root}; it holds "
                           f"{shown}")
    return [name for name in names if name in picked]


def _owner(path, root):
    return path.relative_to(root).parts[0]


def _check_every_speaker_has_audio(root, names, paths):
    heard = {_owner(path, root) for path in paths}
    for name in names:
        if name not in heard:
            raise WaveNetError(f"{root / name}: speaker folder holds no audio "
                               f"({', '.join(AUDIO_SUFFIXES)}); add its recordings, or move "
                               "the folder out of the dataset")


def _find_audio(root):
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found)
