"""Timbre transfer: the timbre of one recording (its z) playing another melody's pitch track.

The melody comes from a built-in tune, a MIDI file (its notes: the pitch track and
the notes to measure) or a recording (its pYIN pitch track). The timbre's z reaches
the decoder one of two ways:

- ``mean`` (the default): z averaged over the timbre's loud frames (within
  ``LOUD_DB`` of its loudest) plays every frame where the melody sounds, z averaged
  over its quiet frames every rest (the loud mean when it has none). The timbre's
  own rhythm and pitch are averaged away.
- ``stretch``: the timbre's z track, stretched (linearly interpolated) to the
  melody's length: its loudness envelope and articulation follow the timbre
  recording, so this suits a recording of the same melody (or of the same rhythm).
"""

import dataclasses
import math
from pathlib import Path

import numpy as np

from chainer_wavenet import evaluations
from chainer_wavenet.audio import pitch_track
from chainer_wavenet.datasets import melody
from chainer_wavenet.datasets.melody_render import TAIL_SECONDS
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.sampling import inputs as sampling_inputs, synthesis

Z_MODES = ("mean", "stretch")
LOUD_DB = 20.0
MIDI_SUFFIXES = (".mid", ".midi")


@dataclasses.dataclass(frozen=True)
class Melody:
    """A target melody: its pitch track (MIDI per frame at ``pitch_track.FRAME_RATE``,
    NaN: rest), its notes (start s, end s, MIDI pitch; empty when taken from a
    recording) and its length in seconds."""

    name: str
    track: np.ndarray = dataclasses.field(compare=False)
    notes: tuple
    seconds: float

    def transposed(self, semitones):
        notes = tuple((s, e, p + semitones) for s, e, p in self.notes)
        return dataclasses.replace(self, name=f"{self.name}{semitones:+d}" if semitones
                                   else self.name, track=self.track + semitones, notes=notes)


def load_target(source, sample_rate, top_voice=False):
    """The Melody of a built-in tune's name, a MIDI file or a WAV recording."""
    if str(source) in melody.BUILTIN or Path(source).suffix.lower() in MIDI_SUFFIXES:
        name, notes = melody.load_melody(source, top_voice)
        seconds = melody.end_time(notes) + TAIL_SECONDS
        triples = tuple((n.start, n.end, n.pitch) for n in notes)
        return Melody(name, pitch_track.from_notes(triples, seconds), triples, seconds)
    audio = sampling_inputs.read_input(source, sample_rate)
    track = pitch_track.estimate(audio, sample_rate)
    if not np.isfinite(track).any():
        raise WaveNetError(f"{source}: no pitch found in it (no voiced frame); give a "
                           f"melody as a MIDI file instead")
    return Melody(Path(source).stem, track, (), len(audio) / sample_rate)


def frames_of(model, target):
    """The model's frames that hold ``target``."""
    return math.ceil(target.seconds * model.config.sample_rate / model.hop)


def timbre_z(model, audio, target, mode="mean"):
    """z (bottleneck, frames) for the timbre of ``audio`` playing ``target``, by ``mode``."""
    if mode not in Z_MODES:
        raise WaveNetError(f"z mode must be one of {', '.join(Z_MODES)}, got {mode!r}")
    z = model.encode(audio)
    frames = frames_of(model, target)
    if mode == "stretch":
        positions = np.linspace(0, z.shape[1] - 1, frames)
        return np.stack([np.interp(positions, np.arange(z.shape[1]), row) for row in z]
                        ).astype(np.float32)
    hop = model.hop
    # encode pads the audio with silence to whole frames: so does the loudness here.
    framed = np.pad(audio, (0, z.shape[1] * hop - len(audio))).reshape(-1, hop)
    power = np.square(framed).mean(axis=1)
    loud = 10 * np.log10(np.maximum(power, 1e-12) / max(power.max(), 1e-12)) > -LOUD_DB
    sounding_z = z[:, loud].mean(axis=1)
    resting_z = z[:, ~loud].mean(axis=1) if (~loud).any() else sounding_z
    centres = ((np.arange(frames) + 0.5) * hop / model.config.sample_rate
               * pitch_track.FRAME_RATE).astype(int)
    sounding = np.isfinite(target.track[np.minimum(centres, len(target.track) - 1)])
    return np.where(sounding, sounding_z[:, None], resting_z[:, None]).astype(np.float32)


def decoder_track(model, target):
    """``target``'s pitch at every sample of its frames, rests filled."""
    samples = frames_of(model, target) * model.hop
    return pitch_track.decoder_track(target.track, pitch_track.FRAME_RATE, samples,
                                     model.config.sample_rate, target.name)


def transfer_all(model, audios, target, mode="mean", batch_size=1, temperature=1.0, seed=None,
                 progress=True, top_p=1.0, harmonic_filter=0):
    """Float32 audio of each timbre in ``audios`` playing ``target`` (``harmonic_filter``: as
    for :func:`synthesis.decode`)."""
    zs = [timbre_z(model, audio, target, mode) for audio in audios]
    track = decoder_track(model, target)
    return synthesis.decode_all(model, zs, [track] * len(zs), batch_size, temperature, seed,
                                progress, top_p=top_p, harmonic_filter=harmonic_filter)


def measure(audio, sample_rate, target):
    """How well ``audio`` follows ``target``: per note for a melody with notes, else per
    voiced frame of its track. Returns {"unit", "count", "within_50_cents",
    "median_abs_cents"}."""
    if target.notes:
        playable = [n for n in target.notes if n[1] <= len(audio) / sample_rate]
        measures = evaluations.measure_melody(audio, sample_rate, playable)
        cents = [m.cents for m in measures]
        within = [m.within for m in measures]
        unit = "notes"
    else:
        played = pitch_track.estimate(audio, sample_rate)
        frames = min(len(played), len(target.track))
        wanted = np.isfinite(target.track[:frames])
        errors = 100.0 * (played[:frames][wanted] - target.track[:frames][wanted])
        cents = [None if not np.isfinite(c) else float(c) for c in errors]
        within = [c is not None and abs(c) <= evaluations.TOLERANCE_CENTS for c in cents]
        unit = "frames"
    voiced = [abs(c) for c in cents if c is not None]
    return {"unit": unit, "count": len(within),
            "within_50_cents": float(np.mean(within)) if within else None,
            "median_abs_cents": float(np.median(voiced)) if voiced else None}
