"""What the sampling commands are given: checked and turned into values.

Model kind and sample rate, durations, MIDI pitches, speakers, priming audio, mel
features to condition on, and the input notes (WAV files or notes of an NSynth split),
cut to whole frames of the hop.
"""

import dataclasses
import fnmatch
import functools
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from chainer_wavenet import snapshot
from chainer_wavenet.audio import pitch_track, quantization
from chainer_wavenet.audio.mel import MelSettings, log_mel
from chainer_wavenet.datasets import nsynth
from chainer_wavenet.datasets.conversion import Conversion
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.autoencoder import WaveNetAutoencoder
from chainer_wavenet.models.student import Student

DEFAULT_SAMPLE_RATE = 16000
MIDI_PITCHES = 128


def sample_rate(model):
    """The sample rate a model was trained at (its snapshot's metadata; 16 kHz if unknown)."""
    return int(getattr(model, "metadata", {}).get("sample_rate", DEFAULT_SAMPLE_RATE))


def add_ema_argument(parser):
    """``--no-ema``: sample with the raw weights of a model trained with ``--ema``."""
    parser.add_argument("--no-ema", action="store_true",
                        help="use the optimizer's own weights, not their moving average "
                             "(for models trained with --ema; others have only those)")


def load_model(path, device, autoencoder, raw=False):
    """The model in snapshot ``path`` on ``device``, checked to be the kind a command needs;
    its weights averaged where training kept an average, unless ``raw``."""
    model = snapshot.load(path, device, raw=raw)
    check_model(model, path, autoencoder)
    return model


def note_length(seconds, rate):
    """Samples in ``--seconds`` of a note (None: the whole note)."""
    if seconds is None:
        return None
    if not seconds > 0:
        raise WaveNetError(f"--seconds must be > 0, got {seconds}")
    return round(seconds * rate)


def check_model(model, path, autoencoder):
    """WaveNetError unless ``model`` (loaded from ``path``) is the kind a command needs."""
    if autoencoder and not isinstance(model, WaveNetAutoencoder):
        raise WaveNetError(f"{path}: is {model_kind(model)} snapshot, not an autoencoder; "
                           f"use sample/wavenet.py")
    if not autoencoder and isinstance(model, WaveNetAutoencoder):
        raise WaveNetError(f"{path}: is an autoencoder snapshot; use sample/autoencoder.py")
    if not autoencoder and model.config.local_channels and mel_settings(model) is None:
        raise WaveNetError(f"{path}: this WaveNet needs local features at every step, and "
                           f"its snapshot does not say how to compute them (only mel "
                           f"features, from train/wavenet.py --mel, are known)")


def model_kind(model):
    """What a snapshot holds, in words: a Parallel WaveNet student, a mel vocoder, ..."""
    if isinstance(model, WaveNetAutoencoder):
        return "an autoencoder"
    if isinstance(model, Student):
        return "a Parallel WaveNet student"
    return "a vocoder (a WaveNet on mel frames)" if model.config.local_channels else "a WaveNet"


def parse_duration(text, rate, flag):
    """Samples meant by ``text``: a count ("16000") or seconds with an s suffix ("2.5s")."""
    text = str(text).strip()
    try:
        samples = round(float(text[:-1]) * rate) if text.endswith("s") else int(text)
    except (ValueError, OverflowError):
        raise WaveNetError(f"{flag}: expected samples (16000) or seconds with an s suffix "
                           f"(2.5s), got {text!r}") from None
    if samples < 1:
        raise WaveNetError(f"{flag}: must be at least one sample, got {text!r}")
    return samples


def speaker_id(model, speaker):
    """The global id of ``speaker`` (a name from the snapshot's metadata, or an id).

    None for a model without global conditioning, which must then get no speaker; a model
    with a single speaker needs none named.
    """
    n_global = model.config.n_global
    names = list(getattr(model, "metadata", {}).get("speakers", []))
    if not n_global:
        if speaker is not None:
            raise WaveNetError("--speaker: this model is not conditioned on speakers; "
                               "leave --speaker out")
        return None
    if speaker is None and n_global == 1:
        return 0
    known = ", ".join(f"{i} = {name}" for i, name in enumerate(names[:20]))
    known = (known + (", ..." if len(names) > 20 else "")) if names else f"ids 0..{n_global - 1}"
    if speaker is None:
        raise WaveNetError(f"--speaker: this model is conditioned on {n_global} speakers; "
                           f"choose one ({known})")
    speaker = str(speaker)
    if speaker in names:
        return names.index(speaker)
    if speaker.isdigit() and int(speaker) < n_global:
        return int(speaker)
    raise WaveNetError(f"--speaker: unknown speaker {speaker!r}; known: {known}")


def mel_settings(model):
    """The mel settings a WaveNet was trained with (snapshot metadata), or None."""
    values = getattr(model, "metadata", {}).get("mel")
    return None if values is None else MelSettings.from_dict(values)


def read_input(path, rate):
    """A WAV (or FLAC) input of a sample command as float32 mono at the model's ``rate``:
    another rate is resampled and several channels mixed down, as in training folders,
    and a line says so."""
    audio, record = Conversion(rate).load(path)
    done = []
    if record["channels"] > 1:
        done.append(f"{record['channels']} channels mixed down to mono")
    if record["rate"] != rate:
        done.append(f"resampled from {record['rate']} Hz to the model's {rate} Hz")
    if done:
        print(f"{path}: {'; '.join(done)}")
    return audio


def read_condition(path, model):
    """Log-mel features (n_mels, frames) of WAV ``path``, and its audio as the model's
    classes hear it (quantized, then decoded).

    The features are computed, like the training features, from that audio.
    """
    config = model.config
    classes = quantization.encode(read_input(path, sample_rate(model)), config.n_classes,
                                  config.quantization)
    audio = quantization.decode(classes, config.n_classes, config.quantization)
    return log_mel(audio, sample_rate(model), mel_settings(model)), audio


def read_prime(path, model, length):
    """The model's classes of the first ``length`` samples of WAV ``path`` (all if shorter)."""
    audio = read_input(path, sample_rate(model))[:length]
    return quantization.encode(audio, model.config.n_classes, model.config.quantization)


def check_pitch(pitch, flag="--pitch"):
    """``pitch`` as an int; WaveNetError unless it is a MIDI pitch 0..127."""
    if not 0 <= int(pitch) < MIDI_PITCHES:
        raise WaveNetError(f"{flag}: MIDI pitch must be in 0..{MIDI_PITCHES - 1}, got {pitch}")
    return int(pitch)


def parse_pitches(text):
    """MIDI pitches from a comma-separated list such as "48,55,60"."""
    try:
        pitches = [int(p) for p in text.split(",")]
    except ValueError:
        raise WaveNetError(f"--pitches: expected MIDI pitches separated by commas "
                           f"(48,55,60), got {text!r}") from None
    return [check_pitch(p, "--pitches") for p in pitches]


def parse_shifts(text):
    """Semitone shifts from a comma-separated list such as "-5,5" ("" for none)."""
    try:
        shifts = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise WaveNetError(f"--shift: expected semitones separated by commas (-5,5), "
                           f"got {text!r}") from None
    if any(not -MIDI_PITCHES < s < MIDI_PITCHES or s == 0 for s in shifts):
        raise WaveNetError(f"--shift: each shift must be a non-zero number of semitones "
                           f"between -127 and 127, got {text!r}")
    return shifts


@dataclasses.dataclass(frozen=True)
class NoteInput:
    """A note named on a command line: its output name, MIDI pitch (None: unknown),
    where it comes from (for messages), a reader of its audio, and its NSynth record."""

    name: str
    pitch: int | None
    where: str
    read: Callable[[], np.ndarray]
    record: nsynth.Note | None = None

    @property
    def melody_notes(self):
        """A dataset melody's notes (start s, end s, MIDI pitch); () for a note."""
        return () if self.record is None else self.record.melody_notes

    def decoder_pitch(self, samples, rate):
        """What the decoder plays this note at: its pitch, or a dataset melody's pitch at
        every one of ``samples`` samples (rests filled)."""
        record = self.record
        if record is None or record.pitch_track is None:
            return self.pitch
        return pitch_track.decoder_track(record.pitch_track, record.track_rate, samples, rate,
                                         f"{self.where}: pitch track")


def select_notes(wavs=(), dataset=None, split=None, names=None, limit=None, pitch=None,
                 rate=DEFAULT_SAMPLE_RATE, count=None):
    """The notes a command line asks for: WAV files, or notes of an NSynth split.

    ``names`` picks dataset notes by note_str (default: all, or the first ``count``);
    ``limit`` keeps the first N; ``pitch`` replaces every note's pitch; ``count``
    demands exactly that many notes. A WAV file's pitch is ``pitch`` (None: unknown).
    """
    if wavs and dataset is not None:
        raise WaveNetError("give WAV files or --dataset, not both")
    if limit is not None and limit < 1:
        raise WaveNetError(f"--limit must be at least 1, got {limit}")
    if pitch is not None:
        pitch = check_pitch(pitch)
    if dataset is not None:
        notes = _dataset_notes(dataset, split, names, pitch, rate)
        if count is not None and not names:
            notes = notes[:count]
    elif wavs:
        if names:
            raise WaveNetError("--note picks notes from --dataset; with WAV files, leave it out")
        notes = [NoteInput(Path(w).stem, pitch, str(w), functools.partial(read_input, w, rate))
                 for w in wavs]
    else:
        raise WaveNetError("no input notes: give WAV files or --dataset DIR")
    notes = notes[:limit]
    if count is not None and len(notes) != count:
        raise WaveNetError(f"this command takes {count} note(s), got {len(notes)}: give "
                           f"{count} WAV file(s) or --dataset with {count} --note NAME")
    seen = set()
    for note in notes:
        if note.name in seen:
            raise WaveNetError(f"{note.where}: two inputs are named {note.name!r}; their "
                               f"outputs would collide, so rename one")
        seen.add(note.name)
    return notes


def _dataset_notes(dataset, split, names, pitch, rate):
    if rate != nsynth.SAMPLE_RATE:
        raise WaveNetError(f"--dataset: NSynth notes are {nsynth.SAMPLE_RATE} Hz but the "
                           f"model was trained at {rate} Hz")
    data = nsynth.load_nsynth(dataset, split)
    index = {note.note_str: i for i, note in enumerate(data.notes)}
    chosen = []
    for name in names or ():
        matches = ([i for note, i in index.items() if fnmatch.fnmatchcase(note, name)]
                   if any(c in name for c in "*?[") else [index[name]] if name in index else [])
        if not matches:
            examples = ", ".join(list(index)[:3])
            raise WaveNetError(f"--note: {data.folder} has no note {name!r} "
                               f"(its notes are named like {examples})")
        chosen.extend(i for i in matches if i not in chosen)
    chosen = chosen or range(len(data))
    # A --pitch replaces a melody's pitch track too.
    records = [data.notes[i] if pitch is None else dataclasses.replace(
        data.notes[i], pitch=pitch, pitch_track=None, melody_notes=()) for i in chosen]
    return [NoteInput(record.note_str, record.pitch,
                      f"{data.folder}: note {record.note_str!r}",
                      functools.partial(data.audio, i), record)
            for i, record in zip(chosen, records, strict=True)]


def read_note(note, hop, max_samples=None):
    """The note's audio, cut to ``max_samples`` and to whole frames of ``hop`` samples."""
    audio = note.read()[:max_samples]
    frames = len(audio) // hop
    if frames < 1:
        raise WaveNetError(f"{note.where}: {len(audio)} samples is shorter than one frame of "
                           f"the model ({hop} samples); use a longer note")
    return audio[:frames * hop]


@dataclasses.dataclass(frozen=True)
class Embeddings:
    """Notes' z to decode: names, z (bottleneck, frames) each, and MIDI pitches (None:
    not stored)."""

    names: list
    zs: list
    pitches: list


def read_embeddings(path, model, flag="--z"):
    """What ``encode`` wrote, checked against ``model``: an embeddings.h5 (datasets ``z``
    (notes, bottleneck, frames), ``names``, ``pitches`` with -1 for unknown; attributes
    ``hop`` and ``sample_rate``) or one note's z (bottleneck, frames) as .npy."""
    path = Path(path)
    if not path.is_file():
        raise WaveNetError(f"{flag} {path}: file not found")
    try:
        if path.suffix.lower() == ".npy":
            z = np.load(path, allow_pickle=False)
            embeddings = Embeddings([path.stem], [z], [None])
            hop, rate = model.hop, sample_rate(model)
        else:
            with h5py.File(path, "r") as f:
                zs = f["z"][:]
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["names"][:]]
                pitches = [None if p < 0 else int(p) for p in f["pitches"][:]]
                hop, rate = int(f.attrs["hop"]), int(f.attrs["sample_rate"])
            embeddings = Embeddings(names, list(zs), pitches)
    except (OSError, KeyError, ValueError) as error:
        raise WaveNetError(f"{flag} {path}: not an embeddings.h5 or a .npy of z written by "
                           f"`sample/autoencoder.py encode` ({error})") from None
    bottleneck = model.decoder.config.local_channels
    for name, z in zip(embeddings.names, embeddings.zs, strict=True):
        if z.ndim != 2 or z.shape[0] != bottleneck or not np.all(np.isfinite(z)):
            raise WaveNetError(f"{flag} {path}: z of {name!r} has shape {z.shape}; this "
                               f"model decodes finite z of shape ({bottleneck}, frames)")
    if (hop, rate) != (model.hop, sample_rate(model)):
        raise WaveNetError(f"{flag} {path}: written by a model of hop {hop} at {rate} Hz; "
                           f"this one has hop {model.hop} at {sample_rate(model)} Hz")
    return embeddings
