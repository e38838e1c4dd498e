"""Render melodies with many General MIDI programs into the NSynth layout, pitch tracks kept.

Each (melody, transposition, program) becomes one file, 16 kHz mono, played by
FluidSynth as :mod:`chainer_wavenet.datasets.render` plays notes, with one second of
release after the last note. Its record in ``examples.json`` holds NSynth's labels
(``pitch`` is the melody's median note, ``velocity`` its median velocity) and:

    melody          the melody's name, with its transposition (``ode-to-joy+5``)
    melody_notes    [[start s, end s, MIDI pitch, velocity], ...]
    pitch_track     {"frame_rate": 100, "midi": [pitch or null per frame]}, null
                    where no note sounds (see :mod:`chainer_wavenet.audio.pitch_track`)

Files are split into train/valid/test by program: held-out timbres never play in train.
"""

import dataclasses
import shutil
import time

import numpy as np
from tqdm import tqdm

from chainer_wavenet.audio import pitch_track
from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets import render
from chainer_wavenet.datasets.melody import end_time, transposed
from chainer_wavenet.datasets.nsynth import SAMPLE_RATE
from chainer_wavenet.files import ensure_output_dir

TAIL_SECONDS = 1.0
ALL_PROGRAMS = tuple(range(120))  # 120-127 are sound effects: no NSynth family
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclasses.dataclass
class MelodySummary:
    """What :func:`render_melodies` wrote: files per split, silent renders, time taken."""

    out: object
    counts: dict
    silent: list
    seconds: float


def melody_record(program, name, notes, tag):
    """The examples.json record of ``notes`` (named ``name``) played by ``program``."""
    seconds = end_time(notes) + TAIL_SECONDS
    track = pitch_track.from_notes([(n.start, n.end, n.pitch) for n in notes], seconds)
    record = render.note_record(program, int(np.median([n.pitch for n in notes])),
                           int(np.median([n.velocity for n in notes])), tag)
    return dict(record, note_str=f"{record['instrument_str']}-{name}", melody=name,
                melody_notes=[[round(n.start, 4), round(n.end, 4), n.pitch, n.velocity]
                              for n in notes],
                pitch_track={"frame_rate": pitch_track.FRAME_RATE,
                             "midi": [None if np.isnan(p) else float(p) for p in track]})


def render_melodies(out, melodies, programs=ALL_PROGRAMS, transpositions=(0,), soundfont=None,
                    seed=0, fractions=DEFAULT_FRACTIONS, force=False, progress=True):
    """Render every melody in ``melodies`` ((name, notes) pairs) at every transposition with
    every program into ``out/nsynth-{train,valid,test}``, split by program with ``seed``."""
    start = time.perf_counter()
    programs = render.checked(programs, 0, 127, "programs")
    for program in programs:
        render.family(program)
    render.check_fractions(fractions)
    plan = [(f"{name}{shift:+d}" if shift else name, transposed(notes, shift))
            for name, notes in melodies for shift in sorted(set(transpositions))]
    with render.NoteRenderer(soundfont) as renderer:
        out = render.prepare(out, force)
        staging = ensure_output_dir(out / render.STAGING)
        try:
            tag = render.tag(renderer.soundfont)
            records, silent = [], []
            jobs = [(p, name, notes) for p in programs for name, notes in plan]
            for program, name, notes in tqdm(jobs, desc="rendering", disable=not progress):
                record = melody_record(program, name, notes, tag)
                audio = renderer.melody(program, notes, TAIL_SECONDS)
                if render.is_silent(audio):
                    silent.append(record["note_str"])
                    continue
                write_wav(staging / f"{record['note_str']}.wav", audio, SAMPLE_RATE)
                records.append(record)
            splits = render.assign_splits(records, fractions, seed, "instrument", len(silent))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    counts = render.write_splits(out, staging, splits)
    staging.rmdir()
    return MelodySummary(out, counts, silent, time.perf_counter() - start)

