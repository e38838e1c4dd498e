"""A model's evaluation on notes: likelihood, pitch accuracy and spectral distance.

Each note is encoded and resynthesized at its own pitch (and at pitch + each shift), a
melody along its pitch track; what is played is measured by :mod:`.pitch_accuracy` and
:mod:`.spectral_distance`, the notes themselves by :mod:`.likelihood`. A plain WaveNet or a
vocoder is summarized per recording (:func:`recording_summary`).
"""

import dataclasses

import numpy as np
from tqdm.auto import tqdm

from chainer_wavenet.audio.harmonic_filter import harmonic_filter as filter_harmonics
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.evaluations.harmonic_noise import harmonic_to_noise
from chainer_wavenet.evaluations.likelihood import nll_bits, spread_bits
from chainer_wavenet.evaluations.pitch_accuracy import measure_melody, measure_pitch
from chainer_wavenet.evaluations.spectral_distance import log_mel_distance
from chainer_wavenet.models.config import MIDI_PITCHES
from chainer_wavenet.sampling import synthesis
from chainer_wavenet.sampling.one_step import one_step_note


@dataclasses.dataclass(frozen=True)
class Note:
    """A note to evaluate: its name, instrument family, MIDI pitch and float32 audio
    (a whole number of the model's frames). A melody also has its ``track``, the pitch
    of every sample (rests filled), and its notes (start s, end s, MIDI pitch), each
    measured on its own."""

    name: str
    family: str
    pitch: int
    audio: np.ndarray
    track: np.ndarray | None = dataclasses.field(default=None, compare=False)
    melody_notes: tuple = ()

    def decoder_pitch(self, shift=0):
        """What the decoder is given to play this note ``shift`` semitones higher."""
        return self.pitch + shift if self.track is None else self.track + shift

    def in_range(self, shift):
        """True when every pitch of the note, moved by ``shift``, is a MIDI pitch."""
        pitches = [self.pitch] if self.track is None else [self.track.min(), self.track.max()]
        return 0 <= min(pitches) + shift and max(pitches) + shift < MIDI_PITCHES


def recording_summary(rows):
    """Bits per sample over recordings (weighted by their samples); mean log-mel distance
    where measured. ``rows``: dicts with ``samples``, ``nll_bits`` (and ``log_mel_db``)."""
    samples = sum(r["samples"] for r in rows)
    summary = {"files": len(rows), "samples": samples,
               "nll_bits": sum(r["nll_bits"] * r["samples"] for r in rows) / samples}
    if rows and "log_mel_db" in rows[0]:
        summary["log_mel_db"] = float(np.mean([r["log_mel_db"] for r in rows]))
    return summary


def recording_table(summary):
    """:func:`recording_summary` as a one-row Markdown table."""
    return ("| files | samples | bits per sample | log-mel distance (dB) |\n"
            "| ---: | ---: | ---: | ---: |\n"
            f"| {summary['files']} | {summary['samples']} | {summary['nll_bits']:.3f} | "
            f"{_cell(summary.get('log_mel_db'), '{:.1f}')} |")


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _summary(rows, with_distance, spreads=None):
    """Share within tolerance, median |cents| of voiced notes, share voiced, median
    harmonic-to-noise ratio (and its gap to the originals'), mean distance, mean spread
    (bits) of the clips ``spreads`` measured."""
    summary = {
        "notes": len(rows),
        "within_50_cents": float(np.mean([r["within"] for r in rows])) if rows else None,
        "median_abs_cents": _median([abs(r["cents"]) for r in rows
                                     if r["cents"] is not None]),
        "voiced": float(np.mean([r["cents"] is not None for r in rows])) if rows else None,
        "hnr_db": _median([r["hnr_db"] for r in rows]),
    }
    if rows and "hnr_gap_db" in rows[0]:
        summary["hnr_gap_db"] = _median([r["hnr_gap_db"] for r in rows])
    if with_distance:
        distances = [r["log_mel_db"] for r in rows]
        summary["log_mel_db"] = float(np.mean(distances)) if distances else None
    measured = [s for s in spreads or () if s is not None]
    summary["spread_bits"] = float(np.mean(measured)) if measured else None
    return summary


def _row(name, note, pitch, condition, target, measure, hnr, original_hnr, distance=None):
    row = {"note": name, "family": note.family, "pitch": int(pitch),
           "condition": condition, "target_pitch": int(target), "cents": measure.cents,
           "voiced_share": measure.voiced, "within": measure.within, "hnr_db": hnr}
    if condition != "original":
        row["original_hnr_db"] = original_hnr
        row["hnr_gap_db"] = (None if hnr is None or original_hnr is None
                             else original_hnr - hnr)
    if distance is not None:
        row["log_mel_db"] = distance
    return row


def _measured(note, condition, audio, sample_rate, shift=0, distance=None, after=0):
    """The rows of ``audio`` played for ``note`` moved by ``shift``, from sample ``after``
    on: one for a note, one per melody note starting there or later and ending in it.
    Each row's harmonic-to-noise ratio sits beside the original's over the same span."""
    if not note.melody_notes:
        target = note.pitch + shift
        return [_row(note.name, note, note.pitch, condition, target,
                     measure_pitch(audio[after:], sample_rate, target),
                     harmonic_to_noise(audio[after:], sample_rate, target),
                     harmonic_to_noise(note.audio[after:], sample_rate, note.pitch), distance)]
    seconds = len(audio) / sample_rate
    chosen = [(k, (start, end, pitch + shift))
              for k, (start, end, pitch) in enumerate(note.melody_notes)
              if start >= after / sample_rate and end <= seconds]
    measures = measure_melody(audio, sample_rate, [n for _, n in chosen])
    return [_row(f"{note.name}#{k}", note, target - shift, condition, target, measure,
                 harmonic_to_noise(audio, sample_rate, target, start, end),
                 harmonic_to_noise(note.audio, sample_rate, target - shift, start, end),
                 distance)
            for (k, (start, end, target)), measure in zip(chosen, measures, strict=True)]


def condition_name(shift):
    return "reconstruction" if shift == 0 else f"shift {shift:+d}"


def evaluate(model, notes, sample_rate, shifts=(), temperature=1.0, batch_size=1, seed=0,
             progress=True, likelihood=True, originals=True, prime_seconds=0.0, top_p=1.0,
             one_step=False, harmonic_filter=0):
    """Everything the module measures, for ``notes`` (a list of :class:`Note`).

    Returns the results, ``{"nll_bits", "summary": {condition: {...}}, "notes": [rows]}``
    for the originals themselves, their reconstructions and each shift of pitch, and
    the audio played, a list of (condition, note, float32 audio). A melody plays its
    track and gives a row per melody note (named ``<name>#<k>``). Re-pitched notes
    whose target lies outside MIDI 0..127 are skipped. ``likelihood`` and
    ``originals`` (the pitch of the notes themselves) can be left out. With
    ``prime_seconds``, the condition "primed" also plays each note's first seconds
    as they are and measures only what the decoder makes of the rest. With ``one_step``,
    the condition "one step" draws every sample given the note's true past
    (:mod:`.one_step`): the model's spread without its errors feeding back. With
    ``harmonic_filter`` (pitch periods), the condition "filtered" measures each
    reconstruction through :func:`~chainer_wavenet.audio.harmonic_filter.harmonic_filter`.
    Notes are played at ``temperature`` from the nucleus holding ``top_p`` of the
    probability. With ``likelihood``, the originals and every condition the decoder
    played also have their spread: how sure the decoder was along them
    (:func:`~chainer_wavenet.evaluations.likelihood.spread_bits`).
    """
    if not notes:
        raise WaveNetError("nothing to evaluate: no notes")
    rows = []
    played = []
    spreads = {}

    def spread(condition, i, audio, shift=0):
        if likelihood:
            spreads.setdefault(condition, []).append(
                spread_bits(model, zs[i], audio, notes[i].decoder_pitch(shift)))
    primed = round(prime_seconds * sample_rate)
    if primed and not all(primed < len(note.audio) for note in notes):
        raise WaveNetError(f"a prime of {prime_seconds} s leaves nothing to play of the "
                           f"shortest note")
    bar = tqdm(total=len(notes) * (1 + originals + len(shifts) + bool(primed) + one_step
                                   + bool(harmonic_filter)),
               desc="evaluating", unit="clip", disable=not progress)
    zs = list(synthesis.encode_all(model, [n.audio for n in notes], batch_size))
    for i, note in enumerate(notes if originals else ()):
        rows.extend(_measured(note, "original", note.audio, sample_rate))
        spread("original", i, note.audio)
        bar.update()
    for shift in (0, *shifts):
        chosen = [i for i, n in enumerate(notes) if n.in_range(shift)]
        outputs = synthesis.decode_all(
            model, [zs[i] for i in chosen], [notes[i].decoder_pitch(shift) for i in chosen],
            batch_size, temperature, seed, progress=False, top_p=top_p)
        for i, audio in zip(chosen, outputs, strict=True):
            note = notes[i]
            distance = log_mel_distance(audio, note.audio, sample_rate) if shift == 0 else None
            rows.extend(_measured(note, condition_name(shift), audio, sample_rate, shift,
                                  distance))
            played.append((condition_name(shift), note, audio))
            spread(condition_name(shift), i, audio, shift)
            bar.update()
            if shift == 0 and harmonic_filter:
                filtered = filter_harmonics(audio, sample_rate, note.decoder_pitch(),
                                            harmonic_filter)
                rows.extend(_measured(note, "filtered", filtered, sample_rate, distance=(
                    log_mel_distance(filtered, note.audio, sample_rate))))
                played.append(("filtered", note, filtered))
                bar.update()
    if primed:
        outputs = synthesis.decode_all(
            model, zs, [n.decoder_pitch() for n in notes], batch_size, temperature, seed,
            progress=False, primes=[model.classes(n.audio[:primed]) for n in notes],
            top_p=top_p)
        for i, (note, audio) in enumerate(zip(notes, outputs, strict=True)):
            distance = log_mel_distance(audio[primed:], note.audio[primed:], sample_rate)
            rows.extend(_measured(note, "primed", audio, sample_rate, distance=distance,
                                  after=primed))
            played.append(("primed", note, audio))
            spread("primed", i, audio)
            bar.update()
    for i, note in enumerate(notes if one_step else ()):
        audio = one_step_note(model, note.audio, note.decoder_pitch(), temperature,
                              None if seed is None else [seed, i], top_p)
        rows.extend(_measured(note, "one step", audio, sample_rate,
                              distance=log_mel_distance(audio, note.audio, sample_rate)))
        played.append(("one step", note, audio))
        spread("one step", i, audio)
        bar.update()
    bar.close()
    conditions = (["original"] * originals + ["reconstruction"]
                  + ["filtered"] * bool(harmonic_filter)
                  + [condition_name(s) for s in shifts]
                  + ["primed"] * bool(primed) + ["one step"] * one_step)
    results = {
        "nll_bits": (float(np.mean(nll_bits(model, notes))) if likelihood
                     else None),
        "summary": {c: _summary([r for r in rows if r["condition"] == c],
                                c in ("reconstruction", "filtered", "primed", "one step"),
                                spreads.get(c))
                    for c in conditions},
        "notes": rows,
    }
    return results, played


def _cell(value, form):
    return "-" if value is None else form.format(value)


def markdown_table(results):
    """The summary as a Markdown table, one row per condition, NLL underneath."""
    lines = ["| condition | notes | within 50 cents | median abs cents | voiced | "
             "log-mel distance (dB) | HNR (dB) | HNR gap (dB) | spread (bits) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for condition, s in results["summary"].items():
        lines.append(f"| {condition} | {s['notes']} | {_cell(s['within_50_cents'], '{:.0%}')} "
                     f"| {_cell(s['median_abs_cents'], '{:.0f}')} | "
                     f"{_cell(s['voiced'], '{:.0%}')} | {_cell(s.get('log_mel_db'), '{:.1f}')} "
                     f"| {_cell(s.get('hnr_db'), '{:.1f}')} "
                     f"| {_cell(s.get('hnr_gap_db'), '{:.1f}')} "
                     f"| {_cell(s.get('spread_bits'), '{:.2f}')} |")
    if results["nll_bits"] is not None:
        lines.append(f"\nteacher-forced NLL: {results['nll_bits']:.3f} bits per sample")
    return "\n".join(lines)
