"""The NSynth dataset layout: notes listed in ``examples.json``, audio in ``audio/<note>.wav``.

A split folder (``nsynth-train``, ``nsynth-valid``, ``nsynth-test`` in the official
download, or one written by ``data.render``) holds::

    examples.json        {note_str: {"pitch": 60, "velocity": 100, "instrument": 3, ...}}
    audio/<note_str>.wav 16 kHz mono, 4 s

Fields beyond the ones read here (qualities, sample_rate, ...) are ignored.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainer_wavenet.audio import mu_law, pitch_track
from chainer_wavenet.audio.emphasis import emphasize
from chainer_wavenet.audio.wav import read_wav
from chainer_wavenet.datasets.class_cache import cached_classes
from chainer_wavenet.datasets.crops import compact_classes
from chainer_wavenet.errors import WaveNetError

SAMPLE_RATE = 16000
SPLITS = ("train", "valid", "test")
FAMILIES = (
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
)  # fmt: skip
SOURCES = ("acoustic", "electronic", "synthetic")
REQUIRED_FIELDS = (
    "pitch", "velocity", "instrument", "instrument_str", "instrument_family", "instrument_source",
)  # fmt: skip


@dataclass(frozen=True)
class Note:
    """One NSynth note: its labels and the path of its WAV file."""

    note_str: str
    pitch: int
    velocity: int
    instrument: int
    instrument_str: str
    family: int
    family_str: str
    source: int
    path: Path
    # Melodies only (see chainer_wavenet.datasets.melody_render): MIDI per frame (NaN: rest)
    # at track_rate frames per second, and the notes (start s, end s, pitch).
    pitch_track: np.ndarray | None = field(default=None, compare=False)
    track_rate: int = 0
    melody_notes: tuple = ()


class NSynthSet:
    """The notes of one split; audio is read from disk only when asked for."""

    def __init__(self, folder, notes):
        self.folder = Path(folder)
        self.notes = list(notes)
        self._audio = None
        self._classes = {}

    def __len__(self):
        return len(self.notes)

    def audio(self, i):
        """Float32 samples of note ``i`` (16 kHz mono), read from its WAV file."""
        return read_wav(self.notes[i].path, sample_rate=SAMPLE_RATE)

    @property
    def has_tracks(self):
        """True for melodies (every note with a pitch track); WaveNetError for a mix."""
        with_track = sum(n.pitch_track is not None for n in self.notes)
        if 0 < with_track < len(self.notes):
            raise WaveNetError(f"{self.folder}: {with_track} of {len(self.notes)} notes have a "
                               "pitch track; a split holds melodies or single notes, not both")
        return with_track > 0

    def decoder_pitch(self, i, samples):
        """What a decoder plays note ``i`` at: its MIDI pitch, or for a melody its pitch at
        every one of ``samples`` samples (float32, rests filled)."""
        note = self.notes[i]
        if note.pitch_track is None:
            return note.pitch
        return pitch_track.decoder_track(note.pitch_track, note.track_rate, samples,
                                         SAMPLE_RATE, f"{note.path}: pitch track")

    def load_all(self):
        """Float32 audio of every note, each file read once and kept."""
        if self._audio is None:
            self._audio = [self.audio(i) for i in range(len(self))]
        return self._audio

    def classes(self, n_classes=256, cache=None, pre_emphasis=0.0):
        """Mu-law class indices of every note (uint8 for 256 classes), pre-emphasized by
        ``pre_emphasis`` first (:mod:`chainer_wavenet.audio.emphasis`), each file read once
        and kept: in memory, or with ``cache`` (a folder) in a memory-mapped file there
        that later calls reuse (see :mod:`chainer_wavenet.datasets.class_cache`)."""
        if cache is not None:
            return cached_classes([n.path for n in self.notes], SAMPLE_RATE, n_classes, cache,
                                  pre_emphasis)
        key = (n_classes, pre_emphasis)
        if key not in self._classes:
            if self._audio is not None:
                waveforms = self._audio
            else:
                waveforms = (self.audio(i) for i in range(len(self)))
            self._classes[key] = [
                compact_classes(mu_law.encode(emphasize(a, pre_emphasis), n_classes), n_classes)
                for a in waveforms]
        return self._classes[key]


def split_folder(path, split=None):
    """The split folder meant by ``path``: itself, or ``path/nsynth-<split>``."""
    path = Path(path)
    if not path.is_dir():
        raise WaveNetError(f"{path}: NSynth folder not found")
    if (path / "examples.json").is_file():
        if split is not None and path.name.startswith("nsynth-") and path.name != f"nsynth-{split}":
            raise WaveNetError(
                f"{path}: is the {path.name} split, but split {split!r} was asked for; "
                "pass the dataset root folder or the matching split folder"
            )
        return path
    found = [p.name for p in path.glob("nsynth-*") if (p / "examples.json").is_file()]
    present = ", ".join(sorted(found)) or "none"
    if split is None:
        raise WaveNetError(
            f"{path}: has no examples.json; pass a split folder, or a split "
            f"(one of {', '.join(SPLITS)}) with this root folder (splits found: {present})"
        )
    folder = path / f"nsynth-{split}"
    if not (folder / "examples.json").is_file():
        raise WaveNetError(
            f"{folder}/examples.json: not found; splits present under {path}: {present}"
        )
    return folder


def _read_examples(json_path):
    try:
        with open(json_path, encoding="utf-8") as handle:
            examples = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WaveNetError(f"{json_path}: not valid JSON ({error}); download it again") from None
    except OSError as error:
        raise WaveNetError(f"{json_path}: cannot read it ({error.strerror})") from None
    if not isinstance(examples, dict) or not all(isinstance(v, dict) for v in examples.values()):
        raise WaveNetError(
            f"{json_path}: expected an object mapping note names to objects of labels"
        )
    if not examples:
        raise WaveNetError(f"{json_path}: lists no notes")
    return examples


def _label(json_path, note_str, record, name, lo, hi):
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WaveNetError(
            f"{json_path}: note {note_str!r} has {name}={value!r}; expected an integer "
            f"in {lo}..{hi}"
        )
    return value


def _note(folder, note_str, record):
    json_path = folder / "examples.json"
    for name in REQUIRED_FIELDS:
        if name not in record:
            raise WaveNetError(f"{json_path}: note {note_str!r} has no field {name!r}")
    family = _label(json_path, note_str, record, "instrument_family", 0, len(FAMILIES) - 1)
    return Note(
        note_str=note_str,
        pitch=_label(json_path, note_str, record, "pitch", 0, 127),
        velocity=_label(json_path, note_str, record, "velocity", 0, 127),
        instrument=_label(json_path, note_str, record, "instrument", 0, 2**31 - 1),
        instrument_str=str(record["instrument_str"]),
        family=family,
        family_str=FAMILIES[family],
        source=_label(json_path, note_str, record, "instrument_source", 0, len(SOURCES) - 1),
        path=folder / "audio" / f"{note_str}.wav",
        **_melody(json_path, note_str, record),
    )


def _melody(json_path, note_str, record):
    """A melody's pitch track and notes from its record (nothing for a single note)."""
    if "pitch_track" not in record:
        return {}
    problem = f"{json_path}: note {note_str!r} has a bad pitch_track"
    track = record["pitch_track"]
    try:
        rate = track["frame_rate"]
        midi = np.array([np.nan if p is None else p for p in track["midi"]], np.float32)
        notes = tuple((float(a), float(b), int(p)) for a, b, p, *_ in
                      record.get("melody_notes", []))
    except (TypeError, KeyError, ValueError):
        raise WaveNetError(f"{problem}: expected {{\"frame_rate\": N, \"midi\": [pitch or "
                           f"null, ...]}} and melody_notes [[start, end, pitch, ...], ...]"
                           ) from None
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise WaveNetError(f"{problem}: frame_rate must be a positive integer, got {rate!r}")
    voiced = midi[np.isfinite(midi)]
    if not voiced.size or voiced.min() < 0 or voiced.max() > 127:
        raise WaveNetError(f"{problem}: needs MIDI pitches in 0..127 (null for rests), at "
                           "least one")
    return dict(pitch_track=midi, track_rate=rate, melody_notes=notes)


def _ids(values, names, what):
    """Ids for a filter given as names or ids (one value or a list); None stays None."""
    if values is None:
        return None
    if isinstance(values, (str, int)):
        values = [values]
    ids = set()
    for value in values:
        if isinstance(value, str) and value in names:
            ids.add(names.index(value))
        elif isinstance(value, int) and 0 <= value < len(names):
            ids.add(value)
        else:
            raise WaveNetError(
                f"{what}: unknown value {value!r}; use names ({', '.join(names)}) "
                f"or ids 0..{len(names) - 1}"
            )
    return ids


def _pitch_range(pitch_range):
    if pitch_range is None:
        return None
    lo, hi = pitch_range
    if not 0 <= lo <= hi <= 127:
        raise WaveNetError(
            f"pitch_range: got ({lo}, {hi}); expected MIDI pitches lo <= hi within 0..127"
        )
    return lo, hi


def load_nsynth(path, split=None, pitch_range=None, families=None, sources=None, instruments=None):
    """Read the note list of one NSynth split, keeping the notes that pass every filter.

    ``path`` is a split folder (holding examples.json) or a root holding
    ``nsynth-<split>`` folders, in which case ``split`` ("train", "valid", "test")
    is required. ``pitch_range`` is an inclusive (lo, hi) MIDI range; ``families``
    and ``sources`` take names or ids; ``instruments`` takes instrument_str names or
    instrument ids. Every kept note's WAV file must exist.
    """
    folder = split_folder(path, split)
    json_path = folder / "examples.json"
    notes = [_note(folder, k, v) for k, v in sorted(_read_examples(json_path).items())]

    pitch_range = _pitch_range(pitch_range)
    family_ids = _ids(families, FAMILIES, "families")
    source_ids = _ids(sources, SOURCES, "sources")
    if isinstance(instruments, (str, int)):
        instruments = [instruments]
    wanted = None if instruments is None else set(instruments)
    kept = [
        n for n in notes
        if (pitch_range is None or pitch_range[0] <= n.pitch <= pitch_range[1])
        and (family_ids is None or n.family in family_ids)
        and (source_ids is None or n.source in source_ids)
        and (wanted is None or n.instrument in wanted or n.instrument_str in wanted)
    ]  # fmt: skip
    if not kept:
        filters = {
            "pitch_range": pitch_range, "families": families,
            "sources": sources, "instruments": instruments,
        }  # fmt: skip
        used = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
        raise WaveNetError(
            f"{json_path}: no note left after filtering with {used} "
            f"({len(notes)} notes before); widen the filters"
        )

    audio_dir = folder / "audio"
    present = {p.name for p in audio_dir.iterdir()} if audio_dir.is_dir() else set()
    for note in kept:
        if note.path.name not in present:
            raise WaveNetError(
                f"{note.path}: audio file of note {note.note_str!r} (listed in {json_path}) "
                "not found; download or render the dataset again"
            )
    return NSynthSet(folder, kept)
