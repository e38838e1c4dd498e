"""Audio files in and WAV files out, with the checks that turn a bad file into a clear message.

Inside the project audio is float32, mono, 1-D, in [-1, 1]. Reading accepts what libsndfile
reads of WAV (8, 16, 24 and 32-bit PCM, 32/64-bit float), FLAC, OGG (Vorbis, Opus), MP3 and
AIFF, whatever the file is named; writing produces 16-bit PCM WAV.
"""

import os
import struct
from pathlib import Path

import numpy as np
import soundfile

from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.files import atomic_bytes

WAV_FORMATS = ("WAV", "WAVEX", "RF64", "W64")
# The formats read (libsndfile's names), and the suffixes a folder's audio files carry.
READ_FORMATS = WAV_FORMATS + ("FLAC", "OGG", "MP3", "AIFF")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")
FORMAT_NAMES = "WAV, FLAC, OGG, MP3 or AIFF"

# Float WAVs may overshoot full scale by rounding (resampling, gain); values within this
# margin are clipped to [-1, 1], values further out are refused.
CLIP_TOLERANCE = 1e-3

# The scale soundfile reads 16-bit PCM with, so writing what was read gives the same samples.
_PCM16_SCALE = 32768.0


def read_wav(path, sample_rate=None):
    """Read a mono audio file (WAV, FLAC, OGG, MP3, AIFF) as float32 samples in [-1, 1].

    If ``sample_rate`` is given, the file must have that rate. Every problem with the
    file (missing, not a WAV, truncated, empty, several channels, wrong rate, NaN or
    out-of-range float values) raises WaveNetError with a message that starts with
    the path.
    """
    return read_audio(path, sample_rate, mono=True)[0]


def read_audio(path, sample_rate=None, mono=False):
    """Read an audio file (WAV, FLAC, OGG, MP3, AIFF) as ``(samples, rate)``.

    Samples are float32 in [-1, 1], shaped (frames,) for one channel and (frames,
    channels) for more. ``sample_rate`` and ``mono`` make a file at another rate, or
    with several channels, an error; every other check is that of :func:`read_wav`.
    """
    path = Path(path)
    if not path.exists():
        raise WaveNetError(f"{path}: file not found")
    if path.is_dir():
        raise WaveNetError(f"{path}: is a folder, not an audio file")
    try:
        with soundfile.SoundFile(path) as wav:
            _check_header(path, wav, sample_rate, mono)
            dtype = "float64" if wav.subtype == "DOUBLE" else "float32"
            frames, rate = wav.frames, wav.samplerate
            audio = wav.read(frames, dtype=dtype, always_2d=False)
    except soundfile.LibsndfileError as error:
        raise WaveNetError(
            f"{path}: not a readable audio file ({error.error_string.strip()}); "
            f"check that it is a complete {FORMAT_NAMES} file, or export it again"
        ) from None
    except (soundfile.SoundFileError, RuntimeError, OSError, ValueError) as error:
        raise WaveNetError(f"{path}: cannot read the file ({error})") from None
    if len(audio) != frames:
        raise WaveNetError(
            f"{path}: truncated WAV: header promises {frames} frames, only {len(audio)} "
            "could be read; copy or export the file again"
        )
    return _checked_samples(path, audio), rate


def _check_header(path, wav, sample_rate, mono):
    if wav.format not in READ_FORMATS:
        raise WaveNetError(f"{path}: is a {wav.format} file; export it as {FORMAT_NAMES}")
    if mono and wav.channels != 1:
        raise WaveNetError(
            f"{path}: has {wav.channels} channels, only mono is supported; "
            "mix it down, e.g. `sox in.wav -c 1 out.wav`"
        )
    if sample_rate is not None and wav.samplerate != sample_rate:
        raise WaveNetError(
            f"{path}: sample rate is {wav.samplerate} Hz, expected {sample_rate} Hz; "
            f"resample it, e.g. `sox in.wav -r {sample_rate} out.wav`"
        )
    _check_not_truncated(path)
    if wav.frames == 0:
        raise WaveNetError(f"{path}: holds no audio (0 samples)")


def _check_not_truncated(path):
    """Compare the size the RIFF 'data' chunk declares with the bytes actually present.

    libsndfile quietly reads whatever is there, so a half-copied file would otherwise
    look like a shorter recording. Streamed WAVs (declared size 0 or 0xFFFFFFFF) and
    RF64/W64 files are not checked.
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as handle:
        riff = handle.read(12)
        if len(riff) < 12 or riff[8:12] != b"WAVE" or riff[:4] not in (b"RIFF", b"RIFX"):
            return
        order = "<" if riff[:4] == b"RIFF" else ">"
        offset = 12
        while offset + 8 <= file_size:
            handle.seek(offset)
            chunk_id, size = struct.unpack(order + "4sI", handle.read(8))
            if chunk_id == b"data":
                present = file_size - offset - 8
                if size not in (0, 0xFFFFFFFF) and present < size:
                    raise WaveNetError(
                        f"{path}: truncated WAV: header promises {size} bytes of audio, "
                        f"the file holds {present}; copy or export the file again"
                    )
                return
            offset += 8 + size + (size & 1)


def _checked_samples(path, audio):
    if not np.all(np.isfinite(audio)):
        raise WaveNetError(f"{path}: holds NaN or infinite sample values")
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0 + CLIP_TOLERANCE:
        raise WaveNetError(
            f"{path}: sample values reach {peak:.4g}, outside [-1, 1]; "
            "scale the audio into [-1, 1] (divide by its peak) and save it again"
        )
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)


def write_wav(path, audio, sample_rate, force=False):
    """Write 1-D float audio as a 16-bit PCM WAV file, atomically.

    Values are scaled by 32768 (the scale ``read_wav`` divides by), rounded and clipped
    to the 16-bit range, so 1.0 is stored as 32767. NaN or inf raise WaveNetError; an
    existing ``path`` is replaced only with ``force``.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise WaveNetError(f"{path}: audio to write must be 1-D, got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise WaveNetError(f"{path}: audio to write holds NaN or infinite values")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise WaveNetError(f"{path}: sample rate must be a positive integer, got {sample_rate}")
    pcm = np.clip(np.rint(audio.astype(np.float64) * _PCM16_SCALE), -32768, 32767).astype(np.int16)
    with atomic_bytes(path, force=force) as buffer:
        soundfile.write(buffer, pcm, int(sample_rate), subtype="PCM_16", format="WAV")


def check_length(audio, minimum, path):
    """Raise WaveNetError if ``audio`` has fewer than ``minimum`` samples (the receptive field)."""
    if len(audio) < minimum:
        raise WaveNetError(
            f"{path}: is shorter than the receptive field ({len(audio)} samples < {minimum}); "
            "use a longer file or a model with a smaller receptive field"
        )
