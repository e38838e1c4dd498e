"""A small multi-speaker speech set in VCTK's layout, spoken offline by espeak-ng.

::

    OUT/wav48/p001/p001_001.wav   one folder per voice (espeak-ng voice, pitch and speed)
    OUT/txt/p001/p001_001.txt     the sentence it speaks
    OUT/speaker-info.txt          which voice each speaker is

Files are written at 22,050 Hz (espeak-ng's own rate) or resampled to 48,000 Hz, so training
at 16 kHz goes through the resampling path as VCTK does.
"""

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.datasets.vctk import TRANSCRIPTS
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_path, ensure_output_dir

ESPEAK_RATE = 22050
RATES = (22050, 48000)


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (with its variant), pitch (0-99) and speed (words per minute)."""

    voice: str
    pitch: int
    speed: int


VOICES = (
    Voice("en-us", 20, 165),
    Voice("en-gb+f3", 75, 150),
    Voice("en-gb-scotland", 45, 175),
    Voice("en-029+f2", 60, 160),
    Voice("en-gb-x-rp+m3", 30, 145),
    Voice("en-us+f4", 90, 170),
    Voice("en-gb-x-gbclan", 10, 155),
    Voice("en-us-nyc+f1", 50, 180),
)

# Harvard sentences (IEEE 1969): lists 1 and 2.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
)


def speaker_name(index):
    """VCTK-style speaker id of the ``index``-th voice: p001, p002, ..."""
    return f"p{index + 1:03d}"


def make_speech_set(out, n_voices=4, n_sentences=10, sample_rate=ESPEAK_RATE):
    """Speak ``n_sentences`` sentences in each of ``n_voices`` voices into ``out`` (VCTK's
    layout); return the number of files written. Everything is spoken before anything is
    written; each file is written atomically, and none that is there is replaced."""
    if not 1 <= n_voices <= len(VOICES):
        raise WaveNetError(f"--voices must lie in 1..{len(VOICES)}, got {n_voices}")
    if not 1 <= n_sentences <= len(SENTENCES):
        raise WaveNetError(f"--sentences must lie in 1..{len(SENTENCES)}, got {n_sentences}")
    if sample_rate not in RATES:
        raise WaveNetError(f"--sample-rate must be one of {RATES}, got {sample_rate}")
    out = Path(out)
    for part in ("wav48", TRANSCRIPTS, "speaker-info.txt"):
        if (out / part).exists():
            raise WaveNetError(f"{out / part}: already exists; choose another --out, or "
                               "delete the old set first")
    recordings = {}
    for index, voice in enumerate(VOICES[:n_voices]):
        for number, sentence in enumerate(SENTENCES[:n_sentences], start=1):
            audio = speak(sentence, voice)
            if sample_rate != ESPEAK_RATE:
                audio = np.clip(soxr.resample(audio, ESPEAK_RATE, sample_rate), -1.0, 1.0)
            recordings[speaker_name(index), f"{speaker_name(index)}_{number:03d}"] = (
                audio, sentence)
    for (speaker, name), (audio, sentence) in recordings.items():
        ensure_output_dir(out / "wav48" / speaker)
        write_wav(out / "wav48" / speaker / f"{name}.wav", audio, sample_rate)
        _write_text(ensure_output_dir(out / TRANSCRIPTS / speaker) / f"{name}.txt",
                    sentence + "\n")
    info = ["ID    VOICE             PITCH  SPEED"] + [
        f"{speaker_name(i):5} {v.voice:17} {v.pitch:5}  {v.speed}"
        for i, v in enumerate(VOICES[:n_voices])]
    _write_text(out / "speaker-info.txt", "\n".join(info) + "\n")
    return len(recordings)


def speak(text, voice):
    """float32 samples of ``text`` spoken by espeak-ng at 22,050 Hz."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise WaveNetError("espeak-ng: not found; install it (Debian/Ubuntu: "
                           "`apt-get install espeak-ng`)")
    result = subprocess.run(
        [program, "-v", voice.voice, "-p", str(voice.pitch), "-s", str(voice.speed),
         "--stdout", text], capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip() or "no audio"
        raise WaveNetError(f"espeak-ng -v {voice.voice}: {reason}; check `espeak-ng --voices`")
    audio, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    if rate != ESPEAK_RATE:
        raise WaveNetError(f"espeak-ng: spoke at {rate} Hz, expected {ESPEAK_RATE} Hz")
    return audio


def _write_text(path, text):
    with atomic_path(path) as temporary:
        Path(temporary).write_text(text, encoding="utf-8")
