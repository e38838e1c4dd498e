"""Render notes from a General MIDI SoundFont into the NSynth layout, with FluidSynth.

Each note is played on a fresh synthesizer (gain 1.0, reverb and chorus off) at
48 kHz: held for 3 s, released, cut at 4 s, mixed to mono and downsampled to
16 kHz with soxr, giving 64000 samples like NSynth. A note therefore depends only
on the SoundFont, its program, pitch and velocity. Levels are left as the
SoundFont plays them (no normalisation), so velocity stays audible.

Labels follow NSynth. The family comes from the GM program group:

    0-7 piano -> keyboard           56-63 brass -> brass
    8-15 chromatic perc. -> mallet  64-71 reed -> reed
    16-23 organ -> organ            72-79 pipe -> flute
    24-31 guitar -> guitar          80-103 synth lead, pad, effects -> synth_lead
    32-39 bass -> bass              104-107 sitar, banjo, shamisen, koto -> guitar
    40-47 strings -> string         108 kalimba, 112-119 percussive -> mallet
    48-55 ensemble -> string        109 bagpipe, 111 shanai -> reed; 110 fiddle -> string
    52-54 choir, voice -> vocal     120-127 sound effects: refused (no NSynth family)

NSynth has no pad or effects family; synth_lead is its only synthesizer family.
The source is synthetic for synthesizer programs (synth bass, strings, voice,
brass, leads, pads, effects, synth drum), electronic for electric pianos, organs,
guitars and basses, acoustic otherwise. The instrument id is the program number
and ``instrument_str`` is ``<family>_<tag>_<program:03d>``, the tag being the
SoundFont file name's leading letters (``tim`` for TimGM6mb.sf2). Qualities are
not annotated (all zero).

Programs that have no sample at some pitch render silence; such notes are
skipped and counted. The audible notes are split into train/valid/test with a
seed, each note going to exactly one split.
"""

import importlib.util
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr
from tqdm import tqdm

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.nsynth import FAMILIES, SAMPLE_RATE, SOURCES, SPLITS
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_path, ensure_output_dir

SYNTH_RATE = 48000
HOLD_SECONDS = 3
NOTE_SECONDS = 4
SILENCE_PEAK = 1e-3  # about -60 dBFS; silent renders peak at one 16-bit step

DEFAULT_PROGRAMS = (0, 24, 32, 40, 56, 73)  # piano, nylon guitar, bass, violin, trumpet, flute
DEFAULT_PITCHES = tuple(range(48, 73, 2))  # C3..C5, sane for all six
DEFAULT_VELOCITIES = (100,)
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
STAGING = ".render-partial"  # audible notes wait here until the split is known

_GROUP_FAMILIES = (
    "keyboard", "mallet", "organ", "guitar", "bass", "string", "string", "brass",
    "reed", "flute", "synth_lead", "synth_lead", "synth_lead", None, "mallet", None,
)  # fmt: skip
_PROGRAM_FAMILIES = {
    52: "vocal", 53: "vocal", 54: "vocal",
    104: "guitar", 105: "guitar", 106: "guitar", 107: "guitar",
    108: "mallet", 109: "reed", 110: "string", 111: "reed",
}  # fmt: skip
_SYNTHETIC = {38, 39, 50, 51, 54, 62, 63, 118, *range(80, 104)}
_ELECTRONIC = {2, 4, 5, 7, 16, 17, 18, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36, 37}


def family(program):
    """NSynth family id of a GM program (0-119)."""
    if not 0 <= program <= 119:
        raise WaveNetError(
            f"program {program}: GM programs 120-127 (sound effects) have no NSynth family "
            "and other values are not GM programs; choose programs in 0..119"
        )
    name = _PROGRAM_FAMILIES.get(program, _GROUP_FAMILIES[program // 8])
    return FAMILIES.index(name)


def source(program):
    """NSynth source id of a GM program: 0 acoustic, 1 electronic, 2 synthetic."""
    if program in _SYNTHETIC:
        return SOURCES.index("synthetic")
    return SOURCES.index("electronic" if program in _ELECTRONIC else "acoustic")


def default_soundfont():
    """Path of TimGM6mb.sf2, the General MIDI SoundFont shipped inside pretty_midi."""
    spec = importlib.util.find_spec("pretty_midi")
    path = None if spec is None else Path(spec.origin).parent / "TimGM6mb.sf2"
    if path is None or not path.is_file():
        raise WaveNetError(
            "no default SoundFont: TimGM6mb.sf2 comes with pretty_midi (pip install pretty_midi); "
            "or pass --soundfont PATH to a General MIDI .sf2"
        )
    return path


class NoteRenderer:
    """Plays single notes of one SoundFont into float32 16 kHz mono arrays."""

    def __init__(self, soundfont=None):
        try:
            import fluidsynth
        except ImportError as error:
            raise WaveNetError(
                f"FluidSynth is not available ({error}); install the FluidSynth library "
                "(e.g. apt install libfluidsynth3) and pyfluidsynth (pip install pyfluidsynth)"
            ) from None
        self._fluidsynth = fluidsynth
        self.soundfont = Path(soundfont) if soundfont is not None else default_soundfont()
        if not self.soundfont.is_file():
            raise WaveNetError(f"{self.soundfont}: SoundFont file not found; check --soundfont")
        # Loading here checks the file once. While this synth holds the SoundFont,
        # FluidSynth shares its sample data with the fresh synth made for each note.
        self._keeper, _ = self._synth()

    def _synth(self):
        synth = self._fluidsynth.Synth(
            gain=1.0,
            samplerate=SYNTH_RATE,
            channels=16,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0},
        )
        sfid = synth.sfload(str(self.soundfont))
        if sfid < 0:
            synth.delete()
            raise WaveNetError(
                f"{self.soundfont}: FluidSynth cannot load it; pass a SoundFont 2 (.sf2) file"
            )
        return synth, sfid

    def __call__(self, program, pitch, velocity):
        """The note as float32 samples: ``NOTE_SECONDS`` s at 16 kHz."""
        synth = self._playing(program)
        try:
            synth.noteon(0, pitch, velocity)
            held = synth.get_samples(HOLD_SECONDS * SYNTH_RATE)
            synth.noteoff(0, pitch)
            released = synth.get_samples((NOTE_SECONDS - HOLD_SECONDS) * SYNTH_RATE)
        finally:
            synth.delete()
        return _output(np.concatenate([held, released]))

    def melody(self, program, notes, tail_seconds=1.0):
        """``notes`` (:class:`chainer_wavenet.datasets.melody.MelodyNote`) played by
        ``program``, then ``tail_seconds`` of release, as float32 samples at 16 kHz."""
        events = sorted([(n.end, 0, n.pitch, 0) for n in notes]
                        + [(n.start, 1, n.pitch, n.velocity) for n in notes])
        synth = self._playing(program)
        chunks, now = [], 0
        try:
            for seconds, on, pitch, velocity in events:
                frames = round(seconds * SYNTH_RATE) - now
                if frames > 0:
                    chunks.append(synth.get_samples(frames))
                    now += frames
                if on:
                    synth.noteon(0, pitch, velocity)
                else:
                    synth.noteoff(0, pitch)
            chunks.append(synth.get_samples(round(tail_seconds * SYNTH_RATE)))
        finally:
            synth.delete()
        return _output(np.concatenate(chunks))

    def _playing(self, program):
        """A fresh synthesizer with ``program`` selected on channel 0."""
        synth, sfid = self._synth()
        if synth.program_select(0, sfid, 0, program) < 0:
            synth.delete()
            raise WaveNetError(
                f"{self.soundfont}: has no preset for program {program} in bank 0; "
                "use a General MIDI SoundFont or other --programs"
            )
        return synth

    def close(self):
        """Free the synthesizer that keeps the SoundFont loaded."""
        if self._keeper is not None:
            self._keeper.delete()
            self._keeper = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _output(interleaved):
    """FluidSynth's interleaved 16-bit stereo at ``SYNTH_RATE`` -> float32 mono at 16 kHz."""
    mono = interleaved.reshape(-1, 2).astype(np.float32).mean(axis=1) / 32768.0
    return soxr.resample(mono, SYNTH_RATE, SAMPLE_RATE).astype(np.float32)


def is_silent(audio):
    """True when a render never rises above ``SILENCE_PEAK``."""
    return float(np.max(np.abs(audio))) < SILENCE_PEAK


@dataclass
class RenderSummary:
    """What ``render_nsynth`` wrote: notes per split, silent notes skipped, time taken."""

    out: Path
    counts: dict
    silent: list = field(default_factory=list)
    seconds: float = 0.0


def checked(values, lo, hi, what):
    values = sorted(set(int(v) for v in values))
    if not values:
        raise WaveNetError(f"{what}: empty; give at least one value")
    if values[0] < lo or values[-1] > hi:
        raise WaveNetError(f"{what}: values must lie in {lo}..{hi}, got {values[0]}..{values[-1]}")
    return values


def check_fractions(fractions):
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise WaveNetError(
            f"fractions: expected three positive numbers (train, valid, test) summing to 1, "
            f"got {fractions}"
        )


def _split_sizes(n, fractions):
    valid = max(1, round(n * fractions[1]))
    test = max(1, round(n * fractions[2]))
    return n - valid - test, valid, test


SPLIT_BY = ("note", "instrument")


def assign_splits(records, fractions, seed, by, silent):
    """The records of each split, in SPLITS order: whole notes shuffled with ``seed``
    (``by="note"``), or whole instruments (``by="instrument"``: valid and test
    instruments never play in train, as in NSynth's own splits)."""
    rng = np.random.default_rng(seed)
    if by == "note":
        units = [[record] for record in records]
    else:
        programs = sorted({record["instrument"] for record in records})
        units = [[r for r in records if r["instrument"] == p] for p in programs]
    sizes = _split_sizes(len(units), fractions)
    if sizes[0] < 1:
        raise WaveNetError(
            f"only {len(units)} audible {by}s ({silent} silent notes skipped); three "
            f"splits need at least 3: add programs, pitches or velocities"
        )
    order = rng.permutation(len(units))
    ends = np.cumsum(sizes)
    return [[record for i in order[lo:hi] for record in units[i]]
            for lo, hi in zip(ends - sizes, ends, strict=True)]


def prepare(out, force):
    """Create ``out``; refuse a non-empty one unless ``force``, which clears our folders."""
    out = Path(out)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise WaveNetError(
                f"{out}: output folder is not empty; pass --force to replace the dataset "
                "in it or choose another --out"
            )
        for name in [f"nsynth-{s}" for s in SPLITS] + [STAGING]:
            shutil.rmtree(out / name, ignore_errors=True)
    return ensure_output_dir(out)


def tag(soundfont):
    """The SoundFont file name's first word, lower case: TimGM6mb.sf2 -> tim."""
    word = re.match(r"[A-Z]?[a-z]+|[A-Z]+", soundfont.stem)
    return word.group().lower() if word else "sf"


def note_record(program, pitch, velocity, tag):
    fam = family(program)
    src = source(program)
    instrument_str = f"{FAMILIES[fam]}_{tag}_{program:03d}"
    return {
        "note_str": f"{instrument_str}-{pitch:03d}-{velocity:03d}",
        "pitch": pitch,
        "velocity": velocity,
        "instrument": program,
        "instrument_str": instrument_str,
        "instrument_family": fam,
        "instrument_family_str": FAMILIES[fam],
        "instrument_source": src,
        "instrument_source_str": SOURCES[src],
        "sample_rate": SAMPLE_RATE,
        "qualities": [0] * 10,
        "qualities_str": [],
        "gm_program": program,
    }


def render_nsynth(
    out,
    soundfont=None,
    programs=DEFAULT_PROGRAMS,
    pitches=DEFAULT_PITCHES,
    velocities=DEFAULT_VELOCITIES,
    seed=0,
    fractions=DEFAULT_FRACTIONS,
    force=False,
    progress=True,
    split_by="note",
):
    """Render programs x pitches x velocities into ``out/nsynth-{train,valid,test}``.

    Silent renders are skipped. The audible notes (or, with ``split_by="instrument"``,
    the programs) are shuffled with ``seed`` and cut into train/valid/test by
    ``fractions`` (each split gets at least one). Returns a RenderSummary.
    """
    if split_by not in SPLIT_BY:
        raise WaveNetError(f"split_by: one of {', '.join(SPLIT_BY)}, got {split_by!r}")
    start = time.perf_counter()
    programs = checked(programs, 0, 127, "programs")
    for program in programs:
        family(program)
    pitches = checked(pitches, 0, 127, "pitches")
    velocities = checked(velocities, 1, 127, "velocities")
    plan = [(p, k, v) for p in programs for k in pitches for v in velocities]
    check_fractions(fractions)
    with NoteRenderer(soundfont) as renderer:
        out = prepare(out, force)
        staging = ensure_output_dir(out / STAGING)
        try:
            records, silent = _render_notes(renderer, plan, tag(renderer.soundfont), staging,
                                            progress)  # fmt: skip
            splits = assign_splits(records, fractions, seed, split_by, len(silent))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    counts = write_splits(out, staging, splits)
    staging.rmdir()
    return RenderSummary(out, counts, silent, time.perf_counter() - start)


def _render_notes(renderer, plan, tag, staging, progress):
    """Render every planned note; write the audible ones into ``staging``."""
    records, silent = [], []
    for program, pitch, velocity in tqdm(plan, desc="rendering", disable=not progress):
        record = note_record(program, pitch, velocity, tag)
        audio = renderer(program, pitch, velocity)
        if is_silent(audio):
            silent.append(record["note_str"])
            continue
        write_wav(staging / f"{record['note_str']}.wav", audio, SAMPLE_RATE)
        records.append(dict(record, note=len(records)))
    return records, silent


def write_splits(out, staging, splits):
    """Move each note's WAV from ``staging`` into its split; write each examples.json."""
    counts = {}
    for split, records in zip(SPLITS, splits, strict=True):
        chosen = sorted(records, key=lambda r: r["note_str"])
        folder = ensure_output_dir(out / f"nsynth-{split}" / "audio").parent
        for record in chosen:
            name = f"{record['note_str']}.wav"
            os.replace(staging / name, folder / "audio" / name)
        examples = {r["note_str"]: r for r in chosen}
        with atomic_path(folder / "examples.json") as temporary:
            Path(temporary).write_text(json.dumps(examples, indent=2), encoding="utf-8")
        counts[split] = len(chosen)
    return counts
