"""A melody's pitch over time: one MIDI number per frame, NaN where nothing plays.

Tracks are kept at ``FRAME_RATE`` frames per second; frame ``f`` describes the time
``(f + 0.5) / FRAME_RATE``. They come from a melody's notes (:func:`from_notes`) or
from a recording by pYIN (:func:`estimate`). A decoder needs a pitch at every sample:
:func:`fill_rests` holds the last note through each rest (the first note before it),
and :func:`per_sample` holds each frame's pitch for its samples.
"""

import numpy as np

from chainer_wavenet.errors import WaveNetError

FRAME_RATE = 100
LOWEST_MIDI = 24  # pYIN's search range: C1 to C8
HIGHEST_MIDI = 108


def frames_for(seconds, frame_rate=FRAME_RATE):
    """The number of frames that cover ``seconds``."""
    return int(np.ceil(seconds * frame_rate))


def from_notes(notes, seconds, frame_rate=FRAME_RATE):
    """float32 track of ``seconds`` for ``notes`` (start s, end s, MIDI pitch): each frame
    takes the pitch of the note sounding at its centre (the later one where two do), NaN
    between notes."""
    track = np.full(frames_for(seconds, frame_rate), np.nan, np.float32)
    centres = (np.arange(len(track)) + 0.5) / frame_rate
    for start, end, pitch in sorted(notes):
        track[(centres >= start) & (centres < end)] = pitch
    return track


def fill_rests(track, what="pitch track"):
    """``track`` with every NaN frame given the pitch before it (or, before the first
    note, after it); WaveNetError when no frame has a pitch."""
    track = np.asarray(track, np.float64)
    known = np.isfinite(track)
    if not known.any():
        raise WaveNetError(f"{what}: no frame has a pitch (all rests or unvoiced)")
    last_known = np.maximum.accumulate(np.where(known, np.arange(len(track)), -1))
    first = np.argmax(known)
    return track[np.where(last_known < 0, first, last_known)]


def per_sample(track, samples, sample_rate, frame_rate=FRAME_RATE):
    """float64 (samples,): each frame's pitch held for its samples, the last one held to
    the end; rests must be filled first."""
    track = np.asarray(track, np.float64)
    if not np.isfinite(track).all():
        raise WaveNetError("a per-sample pitch needs a track without rests; fill them first")
    frame = np.arange(samples) * frame_rate // sample_rate
    return track[np.minimum(frame, len(track) - 1)]


def decoder_track(track, frame_rate, samples, sample_rate, what="pitch track"):
    """float32 (samples,): a frame track's pitch at every sample, rests filled."""
    return per_sample(fill_rests(track, what), samples, sample_rate,
                      frame_rate).astype(np.float32)


def estimate(audio, sample_rate, frame_rate=FRAME_RATE, lowest=LOWEST_MIDI,
             highest=HIGHEST_MIDI):
    """float32 track of a recording by librosa's pYIN, searched between MIDI ``lowest``
    and ``highest``, NaN where unvoiced."""
    import librosa  # imported here: its first use compiles with numba (seconds)

    audio = np.asarray(audio, np.float32)
    hop = sample_rate // frame_rate
    if hop * frame_rate != sample_rate:
        raise WaveNetError(f"a {frame_rate} Hz pitch track needs a sample rate that is a "
                           f"multiple of it, got {sample_rate}")
    frames = frames_for(len(audio) / sample_rate, frame_rate)
    f0, voiced, _ = librosa.pyin(
        audio, fmin=librosa.midi_to_hz(lowest), fmax=librosa.midi_to_hz(highest),
        sr=sample_rate, frame_length=2048, hop_length=hop, center=True)
    midi = np.where(voiced, librosa.hz_to_midi(np.where(voiced, f0, 1.0)), np.nan)
    # pYIN's frame f is centred on sample f * hop, half a frame before ours.
    track = np.full(frames, np.nan, np.float32)
    track[:min(frames, len(midi))] = midi[:frames]
    return track
