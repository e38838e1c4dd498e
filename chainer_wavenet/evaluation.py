"""How good a model's audio is: likelihood, pitch accuracy and spectral distance.

- Likelihood: teacher-forced negative log-likelihood of each note in bits per sample
  (no sampling; the samples after the first receptive field carry it).
- Pitch: each note is encoded and resynthesized at its own pitch (and at pitch + each
  shift); the f0 of what the model plays is tracked with librosa's pYIN, searched
  within ``SEARCH_SEMITONES`` of the pitch asked for, and its median over the voiced
  frames between ``PITCH_START`` and ``PITCH_STOP`` seconds is compared with that
  pitch in cents. A note with no voiced frame has no pitch: it counts as a miss.
  A melody is resynthesized along its pitch track, and each of its notes is measured
  the same way over the note's own time (:func:`measure_melody`).
- Spectrum: the mean absolute difference in dB between the log-mel spectrogram of a
  reconstruction (or a vocoder's resynthesis) and that of its original.
- A plain WaveNet or a vocoder: the likelihood of each recording
  (:func:`recording_nll_bits`); for a vocoder also the spectral distance of what it
  plays from a recording's own spectrogram.
"""

import dataclasses
import math

import chainer
import numpy as np
from tqdm.auto import tqdm

from chainer_wavenet import mel, mu_law, pitch_track, synthesis
from chainer_wavenet.config import MIDI_PITCHES
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.pitch_signal import hz_to_midi, midi_to_hz

TOLERANCE_CENTS = 50.0
SEARCH_SEMITONES = 13
PITCH_START = 0.1
PITCH_STOP = 2.0
# Mel analysis for the spectral distance, and the floor under each spectrogram's peak.
DISTANCE_MEL = mel.MelSettings(n_mels=80, hop=256, n_fft=1024, fmin=40.0)
DISTANCE_RANGE_DB = 80.0


@dataclasses.dataclass(frozen=True)
class PitchMeasure:
    """The f0 measured in a clip against the pitch asked for."""

    cents: float | None  # median f0's error; None when no frame is voiced
    voiced: float  # share of the analysed frames that are voiced

    @property
    def within(self):
        return self.cents is not None and abs(self.cents) <= TOLERANCE_CENTS


def _median_f0(audio, sample_rate, fmin, fmax):
    """pYIN between ``fmin`` and ``fmax`` Hz: the median f0 of the voiced frames (None when
    none is voiced, or the clip holds fewer than two periods of ``fmin``) and the share of
    frames voiced."""
    import librosa  # imported here: its first use compiles with numba (seconds)

    # Long enough for two periods of the lowest frequency searched, as YIN needs.
    frame_length = max(1024, 2 ** math.ceil(math.log2(2.2 * sample_rate / fmin)))
    if len(audio) < frame_length:
        return None, 0.0
    f0, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=fmax, sr=sample_rate,
                                 frame_length=frame_length, hop_length=frame_length // 4,
                                 center=False)
    voiced = voiced & np.isfinite(f0)
    if not voiced.any():
        return None, 0.0
    return float(np.median(f0[voiced])), float(voiced.mean())


def measure_pitch(audio, sample_rate, pitch):
    """The median f0 of ``audio`` between PITCH_START and PITCH_STOP s against MIDI ``pitch``.

    Clips shorter than that window are measured from PITCH_START (or from their start if
    even that is too short) to their end.
    """
    audio = np.asarray(audio, np.float32).reshape(-1)
    start = round(PITCH_START * sample_rate)
    if len(audio) - start < sample_rate // 4:
        start = 0
    clip = audio[start:round(PITCH_STOP * sample_rate)]
    nyquist = sample_rate / 2
    fmin = float(midi_to_hz(pitch - SEARCH_SEMITONES))
    fmax = float(min(midi_to_hz(pitch + SEARCH_SEMITONES), 0.95 * nyquist))
    if fmin >= fmax:
        raise WaveNetError(f"pitch {pitch} is above what {sample_rate} Hz audio can hold")
    f0, voiced = _median_f0(clip, sample_rate, fmin, fmax)
    if f0 is None:
        return PitchMeasure(None, 0.0)
    return PitchMeasure(100.0 * (float(hz_to_midi(f0)) - pitch), voiced)


def measure_melody(audio, sample_rate, notes, settle=0.05):
    """A PitchMeasure per melody note (start s, end s, MIDI pitch) of ``audio``: the median
    f0 of the voiced frames from ``settle`` s after its start to its end, by one pYIN pass
    over the melody's range (widened by SEARCH_SEMITONES)."""
    if not notes:
        return []
    pitches = [pitch for _, _, pitch in notes]
    lowest = max(0, min(pitches) - SEARCH_SEMITONES)
    highest = min(float(hz_to_midi(0.45 * sample_rate)), max(pitches) + SEARCH_SEMITONES)
    track = pitch_track.estimate(audio, sample_rate, lowest=lowest, highest=highest)
    rate = pitch_track.FRAME_RATE
    measures = []
    for start, end, pitch in notes:
        frames = track[math.ceil((start + settle) * rate):math.floor(end * rate)]
        voiced = frames[np.isfinite(frames)]
        measures.append(PitchMeasure(100.0 * (float(np.median(voiced)) - pitch),
                                     voiced.size / frames.size) if voiced.size
                        else PitchMeasure(None, 0.0))
    return measures


def estimate_pitch(audio, sample_rate, lowest=24, highest=108):
    """The MIDI pitch nearest the median f0 of ``audio`` (pYIN over MIDI ``lowest`` to
    ``highest``, or the Nyquist frequency), and the f0's offset from it in cents; None
    when no frame is voiced."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    fmax = min(midi_to_hz(highest), 0.45 * sample_rate)
    f0, _ = _median_f0(audio, sample_rate, float(midi_to_hz(lowest)), float(fmax))
    if f0 is None:
        return None
    midi = float(hz_to_midi(f0))
    return round(midi), 100.0 * (midi - round(midi))


def _mel_db(audio, sample_rate):
    power = mel.mel_power(np.asarray(audio, np.float64), sample_rate, DISTANCE_MEL)
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def log_mel_distance(audio, reference, sample_rate):
    """Mean |difference| in dB between two clips' log-mel spectrograms.

    Both are cut to the shorter clip and floored ``DISTANCE_RANGE_DB`` under the
    reference's peak, so that silence below the floor counts as equal.
    """
    length = min(len(audio), len(reference))
    if length < 1:
        raise WaveNetError("log-mel distance needs two non-empty clips")
    mine, theirs = (_mel_db(a[:length], sample_rate) for a in (audio, reference))
    floor = theirs.max() - DISTANCE_RANGE_DB
    return float(np.mean(np.abs(np.maximum(mine, floor) - np.maximum(theirs, floor))))


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


def nll_bits(model, notes):
    """Teacher-forced negative log-likelihood of each note in bits per sample (a list)."""
    n_classes = model.config.decoder.n_classes
    result = []
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for note in notes:
            classes = model.xp.asarray(mu_law.encode(note.audio[None], n_classes))
            pitch = (np.array([note.pitch], np.int32) if note.track is None
                     else note.track[None, :classes.shape[1]])
            nats = model.loss(classes, model.xp.asarray(pitch)).array
            result.append(float(nats) / math.log(2))
    return result


def recording_nll_bits(wavenet, classes, global_id=None, features=None, chunk=16384):
    """Teacher-forced NLL in bits per sample of a WaveNet on one recording: its mu-law
    ``classes`` after the first receptive field, with its speaker ``global_id`` and its
    local ``features`` (channels, frames), taken ``chunk`` predicted samples at a time."""
    field = wavenet.receptive_field
    if len(classes) <= field:
        raise WaveNetError(f"a recording of {len(classes)} samples is not longer than the "
                           f"receptive field ({field})")
    hop = max(wavenet.config.local_hop, 1)
    chunk = hop * max(1, chunk // hop)  # every chunk starts on a frame
    xp = wavenet.xp
    ids = None if global_id is None else xp.asarray([global_id], np.int32)
    nats = 0.0
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for start in range(0, len(classes) - field, chunk):
            x = xp.asarray(classes[None, start:start + field + chunk], np.int32)
            local = None if features is None else xp.ascontiguousarray(xp.asarray(
                features[None, :, start // hop:], np.float32))
            nats += float(wavenet.loss(x, ids, local).array) * (x.shape[1] - field)
    return nats / (len(classes) - field) / math.log(2)


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


def _summary(rows, with_distance):
    """Share within tolerance, median |cents| of voiced notes, share voiced, mean distance."""
    cents = [abs(r["cents"]) for r in rows if r["cents"] is not None]
    summary = {
        "notes": len(rows),
        "within_50_cents": float(np.mean([r["within"] for r in rows])) if rows else None,
        "median_abs_cents": float(np.median(cents)) if cents else None,
        "voiced": float(np.mean([r["cents"] is not None for r in rows])) if rows else None,
    }
    if with_distance:
        distances = [r["log_mel_db"] for r in rows]
        summary["log_mel_db"] = float(np.mean(distances)) if distances else None
    return summary


def _row(name, note, pitch, condition, target, measure, distance=None):
    row = {"note": name, "family": note.family, "pitch": int(pitch),
           "condition": condition, "target_pitch": int(target), "cents": measure.cents,
           "voiced_share": measure.voiced, "within": measure.within}
    if distance is not None:
        row["log_mel_db"] = distance
    return row


def _measured(note, condition, audio, sample_rate, shift=0, distance=None, after=0):
    """The rows of ``audio`` played for ``note`` moved by ``shift``, from sample ``after``
    on: one for a note, one per melody note starting there or later and ending in it."""
    if not note.melody_notes:
        target = note.pitch + shift
        return [_row(note.name, note, note.pitch, condition, target,
                     measure_pitch(audio[after:], sample_rate, target), distance)]
    seconds = len(audio) / sample_rate
    chosen = [(k, (start, end, pitch + shift))
              for k, (start, end, pitch) in enumerate(note.melody_notes)
              if start >= after / sample_rate and end <= seconds]
    measures = measure_melody(audio, sample_rate, [n for _, n in chosen])
    return [_row(f"{note.name}#{k}", note, target - shift, condition, target, measure, distance)
            for (k, (_, _, target)), measure in zip(chosen, measures, strict=True)]


def condition_name(shift):
    return "reconstruction" if shift == 0 else f"shift {shift:+d}"


def evaluate(model, notes, sample_rate, shifts=(), temperature=1.0, batch_size=1, seed=0,
             progress=True, likelihood=True, originals=True, prime_seconds=0.0):
    """Everything the module measures, for ``notes`` (a list of :class:`Note`).

    Returns the results, ``{"nll_bits", "summary": {condition: {...}}, "notes": [rows]}``
    for the originals themselves, their reconstructions and each shift of pitch, and
    the audio played, a list of (condition, note, float32 audio). A melody plays its
    track and gives a row per melody note (named ``<name>#<k>``). Re-pitched notes
    whose target lies outside MIDI 0..127 are skipped. ``likelihood`` and
    ``originals`` (the pitch of the notes themselves) can be left out. With
    ``prime_seconds``, the condition "primed" also plays each note's first seconds
    as they are and measures only what the decoder makes of the rest.
    """
    if not notes:
        raise WaveNetError("nothing to evaluate: no notes")
    rows = []
    played = []
    primed = round(prime_seconds * sample_rate)
    if primed and not all(primed < len(note.audio) for note in notes):
        raise WaveNetError(f"a prime of {prime_seconds} s leaves nothing to play of the "
                           f"shortest note")
    bar = tqdm(total=len(notes) * (1 + originals + len(shifts) + bool(primed)),
               desc="evaluating", unit="clip", disable=not progress)
    for note in notes if originals else ():
        rows.extend(_measured(note, "original", note.audio, sample_rate))
        bar.update()
    zs = list(synthesis.encode_all(model, [n.audio for n in notes], batch_size))
    for shift in (0, *shifts):
        chosen = [i for i, n in enumerate(notes) if n.in_range(shift)]
        outputs = synthesis.decode_all(
            model, [zs[i] for i in chosen], [notes[i].decoder_pitch(shift) for i in chosen],
            batch_size, temperature, seed, progress=False)
        for i, audio in zip(chosen, outputs, strict=True):
            note = notes[i]
            distance = log_mel_distance(audio, note.audio, sample_rate) if shift == 0 else None
            rows.extend(_measured(note, condition_name(shift), audio, sample_rate, shift,
                                  distance))
            played.append((condition_name(shift), note, audio))
            bar.update()
    if primed:
        n_classes = model.config.decoder.n_classes
        outputs = synthesis.decode_all(
            model, zs, [n.decoder_pitch() for n in notes], batch_size, temperature, seed,
            progress=False,
            primes=[mu_law.encode(n.audio[:primed], n_classes) for n in notes])
        for note, audio in zip(notes, outputs, strict=True):
            distance = log_mel_distance(audio[primed:], note.audio[primed:], sample_rate)
            rows.extend(_measured(note, "primed", audio, sample_rate, distance=distance,
                                  after=primed))
            played.append(("primed", note, audio))
            bar.update()
    bar.close()
    conditions = (["original"] * originals + [condition_name(s) for s in (0, *shifts)]
                  + ["primed"] * bool(primed))
    results = {
        "nll_bits": (float(np.mean(nll_bits(model, notes))) if likelihood
                     else None),
        "summary": {c: _summary([r for r in rows if r["condition"] == c],
                                c in ("reconstruction", "primed")) for c in conditions},
        "notes": rows,
    }
    return results, played


def _cell(value, form):
    return "-" if value is None else form.format(value)


def markdown_table(results):
    """The summary as a Markdown table, one row per condition, NLL underneath."""
    lines = ["| condition | notes | within 50 cents | median abs cents | voiced | "
             "log-mel distance (dB) |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for condition, s in results["summary"].items():
        lines.append(f"| {condition} | {s['notes']} | {_cell(s['within_50_cents'], '{:.0%}')} "
                     f"| {_cell(s['median_abs_cents'], '{:.0f}')} | "
                     f"{_cell(s['voiced'], '{:.0%}')} | {_cell(s.get('log_mel_db'), '{:.1f}')} |")
    if results["nll_bits"] is not None:
        lines.append(f"\nteacher-forced NLL: {results['nll_bits']:.3f} bits per sample")
    return "\n".join(lines)
