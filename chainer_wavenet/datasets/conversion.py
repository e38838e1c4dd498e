"""Training audio brought to the model's form on load: mixed down to mono, resampled with soxr,
leading and trailing silence cut; and the tally of what was done, for the run summary."""

from collections import Counter
from dataclasses import dataclass

import numpy as np
import soxr

from chainer_wavenet.audio.wav import read_audio
from chainer_wavenet.errors import WaveNetError

# Below this a recording holds too little of the spectrum to train on (and is most likely a
# broken header).
MIN_SOURCE_RATE = 4000

# Silence is judged on the energy of frames this long (10 ms).
FRAMES_PER_SECOND = 100


@dataclass(frozen=True)
class Conversion:
    """How each file is loaded: at ``sample_rate``, mono, and with ``trim_db`` (None: keep
    all) the audio before the first and after the last frame within ``trim_db`` dB of the
    file's loudest frame cut off."""

    sample_rate: int
    trim_db: float | None = None

    def load(self, path):
        """``(float32 mono samples, record)``; the record (a dict) says the file's own rate and
        channels and how many samples trimming removed."""
        audio, rate = read_audio(path)
        if rate < MIN_SOURCE_RATE:
            raise WaveNetError(
                f"{path}: sample rate {rate} Hz is too low to train on (at least "
                f"{MIN_SOURCE_RATE} Hz); check the file, or export it again at the rate it "
                "was recorded")
        channels = 1 if audio.ndim == 1 else audio.shape[1]
        if channels > 1:
            audio = audio.mean(axis=1, dtype=np.float32)
        if rate != self.sample_rate:
            audio = soxr.resample(audio, rate, self.sample_rate, quality="HQ")
            audio = np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)
        removed = 0
        if self.trim_db is not None:
            audio, removed = trim_silence(audio, self.trim_db, self.sample_rate)
        return audio, {"rate": rate, "channels": channels, "trimmed": removed}

    def recipe(self):
        """What ``load`` does, as JSON-able values (part of the class cache's key)."""
        return {"sample_rate": self.sample_rate, "trim_db": self.trim_db, "converted": True}


def trim_silence(audio, top_db, sample_rate):
    """``(audio without its quiet ends, samples removed)``, the count a Python int (it goes
    into the class cache's JSON index): frames of 10 ms more than ``top_db`` below the
    loudest frame's energy are cut from both ends. Silence throughout is kept as it is."""
    frame = max(1, sample_rate // FRAMES_PER_SECOND)
    n_frames = -(-len(audio) // frame)
    padded = np.zeros(n_frames * frame)
    padded[:len(audio)] = audio
    energy = np.mean(padded.reshape(n_frames, frame) ** 2, axis=1)
    if n_frames == 0 or energy.max() == 0:
        return audio, 0
    loud = np.flatnonzero(energy >= energy.max() * 10.0 ** (-top_db / 10.0))
    start, end = int(loud[0]) * frame, min(len(audio), (int(loud[-1]) + 1) * frame)
    return audio[start:end], len(audio) - (end - start)


@dataclass(frozen=True)
class ConversionSummary:
    """What loading did to a set of files: resampled (files per source rate), mixed down to
    mono, seconds of silence trimmed (None when trimming was off)."""

    sample_rate: int
    resampled: dict
    mixed_down: int
    trimmed_seconds: float | None

    @classmethod
    def of(cls, records, conversion):
        """The summary of the ``records`` that ``conversion.load`` gave."""
        rates = Counter(r["rate"] for r in records if r["rate"] != conversion.sample_rate)
        trimmed = sum(r["trimmed"] for r in records) / conversion.sample_rate
        return cls(sample_rate=conversion.sample_rate, resampled=dict(sorted(rates.items())),
                   mixed_down=sum(r["channels"] > 1 for r in records),
                   trimmed_seconds=None if conversion.trim_db is None else trimmed)

    def describe(self):
        """One line for the run summary."""
        parts = []
        if self.resampled:
            sources = ", ".join(f"{n} from {rate} Hz" for rate, n in self.resampled.items())
            parts.append(f"{_files(sum(self.resampled.values()))} resampled to "
                         f"{self.sample_rate} Hz ({sources})")
        else:
            parts.append(f"no file resampled (all at {self.sample_rate} Hz)")
        parts.append(f"{_files(self.mixed_down)} mixed down to mono")
        if self.trimmed_seconds is not None:
            parts.append(f"{self.trimmed_seconds:.1f} s of leading and trailing silence trimmed")
        return "; ".join(parts)


def _files(count):
    return f"{count} file" if count == 1 else f"{count} files"
