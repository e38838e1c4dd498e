"""Monophonic melodies: the built-in tunes, MIDI files read and written.

A melody is a list of :class:`MelodyNote` in time order, no two sounding at once.
The built-in tunes are public-domain themes written out here, so that the default
data needs no download: ``ode-to-joy`` (Beethoven, 1824; the training default) and
``frere-jacques`` (traditional).
"""

import dataclasses
from pathlib import Path

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_path

# (MIDI pitch, beats); each note sounds for ARTICULATION of its beats.
BUILTIN = {
    "ode-to-joy": [
        (64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1),
        (60, 1), (60, 1), (62, 1), (64, 1), (64, 1.5), (62, 0.5), (62, 2),
        (64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1),
        (60, 1), (60, 1), (62, 1), (64, 1), (62, 1.5), (60, 0.5), (60, 2),
    ],
    "frere-jacques": [
        (60, 1), (62, 1), (64, 1), (60, 1), (60, 1), (62, 1), (64, 1), (60, 1),
        (64, 1), (65, 1), (67, 2), (64, 1), (65, 1), (67, 2),
        (67, 0.5), (69, 0.5), (67, 0.5), (65, 0.5), (64, 1), (60, 1),
        (67, 0.5), (69, 0.5), (67, 0.5), (65, 0.5), (64, 1), (60, 1),
        (60, 1), (55, 1), (60, 2), (60, 1), (55, 1), (60, 2),
    ],
}  # fmt: skip
DEFAULT_MELODY = "ode-to-joy"
DEFAULT_TEMPO = 120  # beats per minute
ARTICULATION = 0.9
VELOCITY = 100
OVERLAP_SECONDS = 1e-3  # notes overlapping less than this count as consecutive


@dataclasses.dataclass(frozen=True)
class MelodyNote:
    start: float  # seconds
    end: float
    pitch: int  # MIDI
    velocity: int = VELOCITY


def builtin(name, tempo=DEFAULT_TEMPO):
    """The notes of built-in tune ``name`` at ``tempo`` beats per minute."""
    if name not in BUILTIN:
        raise WaveNetError(f"unknown built-in melody {name!r}; built in: {', '.join(BUILTIN)}")
    beat = 60.0 / tempo
    notes, time = [], 0.0
    for pitch, beats in BUILTIN[name]:
        notes.append(MelodyNote(time, time + ARTICULATION * beats * beat, pitch))
        time += beats * beat
    return notes


def transposed(notes, semitones):
    """``notes`` moved by ``semitones``; WaveNetError when one leaves MIDI's 0..127."""
    moved = [dataclasses.replace(n, pitch=n.pitch + semitones) for n in notes]
    if moved and not 0 <= min(n.pitch for n in moved) <= max(n.pitch for n in moved) <= 127:
        raise WaveNetError(f"transposing by {semitones} semitones leaves MIDI's 0..127")
    return moved


def read_midi(path, top_voice=False):
    """The notes of a MIDI file's pitched instruments (drums left out), in time order.

    A file where two notes sound at once is refused, unless ``top_voice``: then at every
    moment only the highest note sounding is kept (lower ones are cut or dropped).
    """
    import pretty_midi

    path = Path(path)
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except FileNotFoundError:
        raise WaveNetError(f"{path}: MIDI file not found") from None
    except Exception as error:  # pretty_midi and mido raise many kinds on a bad file
        raise WaveNetError(f"{path}: not a readable MIDI file ({error})") from None
    notes = sorted((MelodyNote(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
                    for instrument in midi.instruments if not instrument.is_drum
                    for n in instrument.notes if n.end > n.start),
                   key=lambda n: (n.start, -n.pitch))
    if not notes:
        raise WaveNetError(f"{path}: holds no pitched note")
    if top_voice:
        return _top_voice(notes)
    for before, after in zip(notes[:-1], notes[1:], strict=True):
        if after.start < before.end - OVERLAP_SECONDS:
            raise WaveNetError(
                f"{path}: is polyphonic (MIDI {before.pitch} and {after.pitch} sound together "
                f"at {after.start:.2f} s); a melody must be one voice: pass --top-voice to "
                f"keep the highest note at every moment")
    return notes


def _top_voice(notes):
    """The highest note at every moment of ``notes`` (sorted by start, highest first)."""
    kept = []
    for note in notes:
        if kept and note.start < kept[-1].end - OVERLAP_SECONDS:
            last = kept[-1]
            if note.pitch <= last.pitch:
                if note.end > last.end + OVERLAP_SECONDS:
                    kept.append(dataclasses.replace(note, start=last.end))
                continue
            kept[-1] = dataclasses.replace(last, end=note.start)
            if kept[-1].end - kept[-1].start <= OVERLAP_SECONDS:
                kept.pop()
        kept.append(note)
    return kept


def write_midi(notes, path, program=0, force=False):
    """Write ``notes`` to MIDI file ``path`` as one instrument playing ``program``."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=program)
    instrument.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in notes]
    midi.instruments.append(instrument)
    with atomic_path(path, force=force) as temporary:
        midi.write(str(temporary))
    return Path(path)


def load_melody(source, top_voice=False):
    """A built-in tune's name or a MIDI file's path -> (name, notes)."""
    if str(source) in BUILTIN:
        return str(source), builtin(str(source))
    return Path(source).stem, read_midi(source, top_voice)


def end_time(notes):
    return max(n.end for n in notes)

