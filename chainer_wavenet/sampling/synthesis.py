"""From a trained model to audio: what the sample commands and training-time previews share.

WaveNet: free-running generation, primed and conditioned on a speaker if asked.
Autoencoder: z -> audio at its own or another pitch, and straight paths between two
notes' z, batched over notes of equal length.
"""


import numpy as np

from chainer_wavenet.audio import quantization
from chainer_wavenet.audio.harmonic_filter import harmonic_filter as filter_harmonics
from chainer_wavenet.errors import WaveNetError
from chainer_wavenet.models.config import MIDI_PITCHES
from chainer_wavenet.sampling.generate import GenerationInterrupted, generate


def sample_audio(wavenet, length, batch_size=1, temperature=1.0, speaker=None, prime=None,
                 seed=None, progress=True, features=None, top_p=1.0):
    """Float32 audio (batch, len(prime) + length): the prime (if any), then new samples.

    ``features``: local features (channels, frames) for every sequence, covering the
    prime and the new samples. ``temperature`` and ``top_p``: as for :func:`generate`.
    Ctrl-C raises :class:`GenerationInterrupted` with the audio made so far.
    """
    xp = wavenet.xp
    global_ids = None if speaker is None else xp.full(batch_size, speaker, np.int32)
    primes = None if prime is None else np.tile(np.asarray(prime, np.int32), (batch_size, 1))
    local_features = None if features is None else xp.asarray(
        np.broadcast_to(features, (batch_size,) + features.shape))
    config = wavenet.config

    def audio(classes):
        if primes is not None:
            classes = np.concatenate([primes, classes], axis=1)
        return quantization.decode(classes, config.n_classes, config.quantization)

    try:
        classes = generate(wavenet, length, batch_size, temperature, global_ids,
                           local_features, prime=primes, seed=seed, progress=progress,
                           top_p=top_p)
    except GenerationInterrupted as stop:
        stop.samples = list(audio(stop.samples))  # the prime and the samples made
        stop.primed = 0 if primes is None else primes.shape[1]
        raise
    return audio(classes)


def check_pitches(pitches, batch, samples):
    """``pitches`` as NumPy: one MIDI pitch per note (batch,) int64, or a track per note
    (batch, samples) float64; WaveNetError when they are neither or out of range."""
    pitches = np.asarray(pitches)
    if pitches.ndim == 2:
        if pitches.shape[0] != batch or pitches.shape[1] < samples:
            raise WaveNetError(f"pitch tracks of shape {pitches.shape} do not cover "
                               f"{batch} notes of {samples} samples")
        pitches = pitches[:, :samples].astype(np.float64)
    else:
        try:
            pitches = np.broadcast_to(pitches.astype(np.int64), (batch,))
        except ValueError:
            raise WaveNetError(f"need one pitch per note ({batch}), got {pitches}") from None
    if not np.isfinite(pitches).all() or pitches.min() < 0 or pitches.max() >= MIDI_PITCHES:
        raise WaveNetError(f"pitches must lie in 0..{MIDI_PITCHES - 1}, got values in "
                           f"[{pitches.min()}, {pitches.max()}]")
    return pitches


def decode(model, z, pitches, temperature=1.0, seed=None, progress=True, prime=None,
           top_p=1.0, harmonic_filter=0):
    """Float32 audio (batch, frames * hop) decoded from z (batch, bottleneck, frames).

    ``pitches``: one MIDI pitch per note, one for all, or a pitch track per note
    (batch, >= frames * hop), the pitch of every sample (see
    :class:`chainer_wavenet.models.autoencoder.WaveNetAutoencoder`). The first sample of each note
    is the silence the decoder starts from, or the ``prime`` (int classes (batch, P),
    fed as they are); the other samples are generated at ``temperature`` from the nucleus
    holding ``top_p`` of the probability (see :func:`generate`). ``harmonic_filter``: pitch
    periods each way of :func:`~chainer_wavenet.audio.harmonic_filter.harmonic_filter`
    applied to what is played (0: none). A 2-D z (one note) gives 1-D audio. Ctrl-C
    raises :class:`GenerationInterrupted` with each note's audio made so far.
    """
    decoder = model.decoder
    xp = model.xp
    single = z.ndim == 2
    z = xp.asarray(z, np.float32).reshape((-1,) + z.shape[-2:])
    batch, channels, frames = z.shape
    if channels != decoder.config.local_channels:
        raise WaveNetError(f"z has {channels} channels; this model's bottleneck has "
                           f"{decoder.config.local_channels}")
    classes = np.full((batch, frames * model.hop), decoder.config.n_classes // 2, np.int32)
    pitches = check_pitches(pitches, batch, classes.shape[1])
    if prime is not None:
        prime = np.asarray(prime, np.int32).reshape(batch, -1)
        if not 1 <= prime.shape[1] < classes.shape[1]:
            raise WaveNetError(f"a prime of {prime.shape[1]} samples leaves none of the "
                               f"{classes.shape[1]} to generate")
        classes[:, :prime.shape[1]] = prime
    fed = 1 if prime is None else prime.shape[1]
    if classes.shape[1] > fed:
        ids = xp.asarray(pitches, np.int32 if pitches.ndim == 1 else np.float64)
        try:
            classes[:, fed:] = generate(
                decoder, classes.shape[1] - fed, batch, temperature, model.pitch_ids(ids), z,
                prime=classes[:, :fed], seed=seed, progress=progress,
                source=model.pitch_source(pitches, classes.shape[1] - 1),
                periods=model.pitch_periods(pitches), top_p=top_p)
        except GenerationInterrupted as stop:
            made = fed + stop.generated
            classes[:, fed:made] = stop.samples
            stop.samples = list(model.waveform(classes[:, :made]))
            raise
    audio = model.waveform(classes)
    if harmonic_filter:
        audio = np.stack([filter_harmonics(a, model.config.sample_rate, p, harmonic_filter)
                          for a, p in zip(audio, pitches, strict=True)])
    return audio[0] if single else audio


def interpolate(z_a, z_b, steps):
    """``steps`` z (steps, bottleneck, frames) on the straight line from z_a to z_b, ends included.

    When the notes differ in length, the longer z is cut to the frames of the shorter.
    """
    if steps < 2:
        raise WaveNetError(f"--steps must be at least 2 (both ends are included), got {steps}")
    frames = min(z_a.shape[-1], z_b.shape[-1])
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None]
    return (1 - weights) * z_a[..., :frames] + weights * z_b[..., :frames]


def chunks(items, batch_size, key):
    """Consecutive runs of ``items`` with equal ``key``, at most ``batch_size`` long."""
    chunk = []
    for item in items:
        if chunk and (len(chunk) == batch_size or key(item) != key(chunk[0])):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def encode_all(model, audios, batch_size=1):
    """Yield z (bottleneck, frames) per 1-D audio, encoding up to ``batch_size`` at once.

    Only consecutive notes of equal length share a batch.
    """
    for chunk in chunks(audios, batch_size, len):
        yield from model.encode(np.stack(chunk))


def decode_all(model, zs, pitches, batch_size=1, temperature=1.0, seed=None, progress=True,
               primes=None, top_p=1.0, harmonic_filter=0):
    """Audio per (z, pitch) pair, decoding up to ``batch_size`` equal-length notes at once;
    ``primes``: one prime (int classes) per note, all of one length, or None. Ctrl-C
    raises :class:`GenerationInterrupted` with the notes decoded and those cut short."""
    audio = []
    primes = [None] * len(zs) if primes is None else primes
    notes = list(zip(zs, pitches, primes, strict=True))
    for i, chunk in enumerate(chunks(notes, batch_size, lambda note: note[0].shape)):
        z = np.stack([note[0] for note in chunk])
        prime = None if chunk[0][2] is None else np.stack([note[2] for note in chunk])
        chunk_seed = None if seed is None else seed + i
        try:
            audio.extend(decode(model, z, [note[1] for note in chunk], temperature,
                                chunk_seed, progress, prime, top_p, harmonic_filter))
        except GenerationInterrupted as stop:
            stop.samples, stop.finished = audio + stop.samples, len(audio)
            raise
    return audio
