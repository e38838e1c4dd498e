"""Model settings as dataclasses, with presets and a JSON round trip."""

import dataclasses
import json
import math

from chainer_wavenet.audio.quantization import QUANTIZATIONS
from chainer_wavenet.errors import WaveNetError

MIDI_PITCHES = 128
OUTPUTS = ("softmax", "logistic_mixture")
LOCAL_UPSAMPLINGS = ("repeat", "transposed")
PCM16_CLASSES = 65536


def dilation_stacks(stacks, layers_per_stack):
    """Dilations 1, 2, 4, ... 2**(layers_per_stack - 1), repeated ``stacks`` times."""
    return tuple(2 ** i for _ in range(stacks) for i in range(layers_per_stack))


def _from_dict(cls, values, what):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise WaveNetError(f"{what}: unknown settings {unknown}; known: {sorted(names)}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise WaveNetError(f"{what}: {error}") from None


@dataclasses.dataclass(frozen=True)
class WaveNetConfig:
    """A WaveNet: dilated causal gated layers, skip head, an output distribution.

    ``n_global`` ids (0: none), ``local_channels`` frame-rate features at
    ``local_hop`` samples per frame (0: none), ``source_channels`` features given
    at every sample (0: none; e.g. a pitch signal) and the input ``pitch_lags``
    pitch periods back (0: none; see :mod:`chainer_wavenet.audio.pitch_signal`) bias
    every gated unit.

    Samples are ``n_classes`` classes of a ``quantization`` (``mu_law`` or
    ``linear``, see :mod:`chainer_wavenet.audio.quantization`); the ``output`` is a
    ``softmax`` over them or a ``logistic_mixture`` of ``mixture_components``
    discretized logistics (linear quantization only; see
    :mod:`chainer_wavenet.links.output_distribution`). Local features reach the samples
    by ``repeat``-ing each frame, or through ``transposed`` convolutions of
    ``upsampling_strides`` (their product is ``local_hop``; see
    :mod:`chainer_wavenet.links.upsampling`).
    """

    n_classes: int = 256
    input_mode: str = "embedding"
    residual_channels: int = 32
    dilation_channels: int = 32
    skip_channels: int = 64
    filter_width: int = 2
    dilations: tuple = dilation_stacks(2, 8)
    n_global: int = 0
    local_channels: int = 0
    local_hop: int = 1
    source_channels: int = 0
    pitch_lags: int = 0
    quantization: str = "mu_law"
    output: str = "softmax"
    mixture_components: int = 10
    local_upsampling: str = "repeat"
    upsampling_strides: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        object.__setattr__(self, "upsampling_strides",
                           tuple(int(s) for s in self.upsampling_strides))
        checks = [
            (self.n_classes >= 2, "n_classes must be at least 2"),
            (self.input_mode in ("embedding", "scalar"),
             "input_mode must be 'embedding' or 'scalar'"),
            (min(self.residual_channels, self.dilation_channels, self.skip_channels) >= 1,
             "channel counts must be positive"),
            (self.filter_width >= 2, "filter_width must be at least 2"),
            (len(self.dilations) >= 1 and min(self.dilations) >= 1,
             "dilations must be a non-empty list of positive integers"),
            (min(self.n_global, self.local_channels, self.source_channels,
                 self.pitch_lags) >= 0,
             "n_global, local_channels, source_channels and pitch_lags must be >= 0"),
            (self.local_hop >= 1, "local_hop must be at least 1"),
            (self.quantization in QUANTIZATIONS,
             f"quantization must be one of {', '.join(QUANTIZATIONS)}"),
            (self.output in OUTPUTS, f"output must be one of {', '.join(OUTPUTS)}"),
            (self.mixture_components >= 1, "mixture_components must be at least 1"),
            (self.output != "logistic_mixture" or self.quantization == "linear",
             "a logistic_mixture output models linear amplitudes: it needs "
             f"quantization='linear' (n_classes={PCM16_CLASSES} for 16-bit audio)"),
            (self.local_upsampling in LOCAL_UPSAMPLINGS,
             f"local_upsampling must be one of {', '.join(LOCAL_UPSAMPLINGS)}"),
            (self.local_upsampling == "repeat" or self.local_channels >= 1,
             "transposed local upsampling needs local features (local_channels >= 1)"),
            (self.local_upsampling == "transposed" or not self.upsampling_strides,
             "upsampling_strides are for local_upsampling='transposed' only"),
            (self.local_upsampling == "repeat" or (
                min(self.upsampling_strides, default=0) >= 1
                and math.prod(self.upsampling_strides) == self.local_hop),
             f"upsampling_strides {list(self.upsampling_strides)} must be positive and "
             f"multiply to local_hop ({self.local_hop})"),
        ]
        for ok, message in checks:
            if not ok:
                raise WaveNetError(f"WaveNet config: {message}")

    @property
    def receptive_field(self):
        """Samples of input that one output sees (the current one included)."""
        return 1 + (self.filter_width - 1) * sum(self.dilations)

    def to_dict(self):
        values = dataclasses.asdict(self)
        values["dilations"] = list(self.dilations)
        values["upsampling_strides"] = list(self.upsampling_strides)
        return values

    @classmethod
    def from_dict(cls, values):
        return _from_dict(cls, values, "WaveNet config")


def with_output(config, output, components=10):
    """``config`` predicting with ``output``. The softmax keeps the config's classes; the
    logistic mixture of ``components`` models 16-bit linear audio (65536 classes), read as
    a scalar input (an embedding of 65536 classes would be most of the model)."""
    if output not in OUTPUTS:
        raise WaveNetError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if output == "softmax":
        return dataclasses.replace(config, output=output)
    return dataclasses.replace(config, output=output, mixture_components=components,
                               n_classes=PCM16_CLASSES, quantization="linear",
                               input_mode="scalar")


def upsampling_strides_for(hop):
    """Two strides as near each other as the hop allows (256: 16 x 16), or (hop,) when it
    is prime."""
    first = max(d for d in range(1, math.isqrt(hop) + 1) if hop % d == 0)
    return (hop,) if first == 1 else (first, hop // first)


def with_local_upsampling(config, upsampling, strides=None):
    """``config`` whose local features reach the samples by ``repeat`` or by ``transposed``
    convolutions of ``strides`` (default: :func:`upsampling_strides_for` its hop)."""
    if upsampling not in LOCAL_UPSAMPLINGS:
        raise WaveNetError(f"local upsampling must be one of {', '.join(LOCAL_UPSAMPLINGS)}, "
                           f"got {upsampling!r}")
    if upsampling == "repeat":
        return dataclasses.replace(config, local_upsampling=upsampling, upsampling_strides=())
    strides = upsampling_strides_for(config.local_hop) if strides is None else strides
    return dataclasses.replace(config, local_upsampling=upsampling, upsampling_strides=strides)


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """The NSynth encoder: non-causal dilated residual layers, pooled into z."""

    channels: int = 32
    filter_width: int = 3
    dilations: tuple = dilation_stacks(2, 7)
    bottleneck: int = 16
    hop: int = 512

    def __post_init__(self):
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        if self.filter_width < 1 or self.filter_width % 2 == 0:
            raise WaveNetError("encoder config: filter_width must be odd (non-causal, centred)")
        if (min(self.channels, self.bottleneck, self.hop) < 1 or not self.dilations
                or min(self.dilations) < 1):
            raise WaveNetError("encoder config: channels, bottleneck, hop and dilations "
                               "must be positive")

    def to_dict(self):
        values = dataclasses.asdict(self)
        values["dilations"] = list(self.dilations)
        return values

    @classmethod
    def from_dict(cls, values):
        return _from_dict(cls, values, "encoder config")


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig:
    """An encoder and a WaveNet decoder conditioned on z (local) and the note's pitch.

    The decoder hears the pitch as an id (``decoder.n_global`` = 128, NSynth's way),
    as signals (see :mod:`chainer_wavenet.audio.pitch_signal`): ``pitch_harmonics``
    harmonics at ``sample_rate`` (``decoder.source_channels`` = 2 per harmonic) and
    its own input ``decoder.pitch_lags`` periods back, or as both.
    """

    encoder: EncoderConfig = EncoderConfig()
    decoder: WaveNetConfig = WaveNetConfig(n_global=MIDI_PITCHES, local_channels=16,
                                           local_hop=512)
    pitch_harmonics: int = 0
    sample_rate: int = 16000
    pre_emphasis: float = 0.0

    def __post_init__(self):
        decoder = self.decoder
        if (decoder.local_channels != self.encoder.bottleneck
                or decoder.local_hop != self.encoder.hop):
            raise WaveNetError(
                "autoencoder config: the decoder's local_channels and local_hop must equal "
                "the encoder's bottleneck and hop"
            )
        if decoder.n_global not in (0, MIDI_PITCHES):
            raise WaveNetError(f"autoencoder config: the decoder's n_global must be "
                               f"{MIDI_PITCHES} (one id per MIDI pitch) or 0 (no pitch id)")
        if self.pitch_harmonics < 0 or decoder.source_channels != 2 * self.pitch_harmonics:
            raise WaveNetError("autoencoder config: the decoder's source_channels must be "
                               "twice pitch_harmonics (a sine and a cosine per harmonic)")
        if not (decoder.n_global or self.pitch_harmonics or decoder.pitch_lags):
            raise WaveNetError("autoencoder config: the decoder needs the pitch, as an id "
                               f"(n_global={MIDI_PITCHES}), as signals (pitch_harmonics or "
                               "pitch_lags >= 1), or both")
        if self.sample_rate < 1:
            raise WaveNetError("autoencoder config: sample_rate must be positive")
        if not 0 <= self.pre_emphasis < 1:
            raise WaveNetError(f"autoencoder config: pre_emphasis must lie in [0, 1) (0: none, "
                               f"0.85 as in LPCNet), got {self.pre_emphasis}")
        if decoder.quantization != "mu_law":
            raise WaveNetError("autoencoder config: the decoder's quantization must be "
                               "mu_law (the encoder reads mu-law classes), so its output "
                               "a softmax")

    @property
    def receptive_field(self):
        return self.decoder.receptive_field

    def to_dict(self):
        return {"encoder": self.encoder.to_dict(), "decoder": self.decoder.to_dict(),
                "pitch_harmonics": self.pitch_harmonics, "sample_rate": self.sample_rate,
                "pre_emphasis": self.pre_emphasis}

    @classmethod
    def from_dict(cls, values):
        sections = {"encoder", "decoder"}
        if not isinstance(values, dict) or not sections <= set(values) <= sections | {
                "pitch_harmonics", "sample_rate", "pre_emphasis"}:
            raise WaveNetError("autoencoder config: needs 'encoder' and 'decoder' sections "
                               "(and optionally 'pitch_harmonics', 'sample_rate' and "
                               "'pre_emphasis')")
        settings = {k: v for k, v in values.items() if k not in sections}
        try:
            return cls(EncoderConfig.from_dict(values["encoder"]),
                       WaveNetConfig.from_dict(values["decoder"]), **settings)
        except TypeError as error:
            raise WaveNetError(f"autoencoder config: {error}") from None


def autoencoder_config(encoder, decoder_settings, pitch_id=True, pitch_harmonics=0):
    """An AutoencoderConfig whose decoder is conditioned by ``encoder``'s z and the pitch
    (as one of 128 ids, as a signal of ``pitch_harmonics`` harmonics, or both)."""
    decoder = WaveNetConfig(n_global=MIDI_PITCHES if pitch_id else 0,
                            local_channels=encoder.bottleneck, local_hop=encoder.hop,
                            source_channels=2 * pitch_harmonics, **decoder_settings)
    return AutoencoderConfig(encoder, decoder, pitch_harmonics)


PITCH_INPUTS = ("id", "signal", "both")


def with_pitch_input(config, pitch_input, harmonics, lags=0):
    """``config`` whose decoder hears the pitch as an ``id``, as a ``signal`` of
    ``harmonics`` harmonics, or ``both``; with any of them, it may also read its own
    input ``lags`` pitch periods back."""
    if pitch_input not in PITCH_INPUTS:
        raise WaveNetError(f"pitch input must be one of {', '.join(PITCH_INPUTS)}, "
                           f"got {pitch_input!r}")
    if min(harmonics, lags) < 0 or (pitch_input != "id" and harmonics + lags < 1):
        raise WaveNetError(f"pitch signals need harmonics >= 0 and lags >= 0, not both 0; "
                           f"got {harmonics} and {lags}")
    if pitch_input == "id":
        harmonics = 0
    decoder = dataclasses.replace(config.decoder, source_channels=2 * harmonics,
                                  pitch_lags=lags,
                                  n_global=0 if pitch_input == "signal" else MIDI_PITCHES)
    return dataclasses.replace(config, decoder=decoder, pitch_harmonics=harmonics)


def with_embedding(config, hop=None, bottleneck=None):
    """Autoencoder ``config`` whose z has one frame every ``hop`` samples and ``bottleneck``
    channels (None: as it is), the decoder reading it so."""
    encoder = dataclasses.replace(
        config.encoder, hop=config.encoder.hop if hop is None else hop,
        bottleneck=config.encoder.bottleneck if bottleneck is None else bottleneck)
    decoder = dataclasses.replace(config.decoder, local_hop=encoder.hop,
                                  local_channels=encoder.bottleneck)
    return dataclasses.replace(config, encoder=encoder, decoder=decoder)


def with_decoder_width(config, channels=None):
    """Autoencoder ``config`` whose decoder has ``channels`` residual and gate channels and
    twice as many skip channels (None: as it is)."""
    if channels is None:
        return config
    decoder = dataclasses.replace(config.decoder, residual_channels=channels,
                                  dilation_channels=channels, skip_channels=2 * channels)
    return dataclasses.replace(config, decoder=decoder)


@dataclasses.dataclass(frozen=True)
class StudentConfig:
    """A Parallel WaveNet student: inverse autoregressive flows over logistic noise.

    One flow per entry of ``flow_layers``, each a stack of that many gated layers of
    dilations 1, 2, 4, ... restarting after ``dilation_cycle`` layers, reading its input
    noise causally and giving every sample a shift and a log-scale (see
    :mod:`chainer_wavenet.models.student`). Conditioning as for a WaveNet: ``n_global`` ids and
    ``local_channels`` frame-rate features at ``local_hop`` samples per frame, repeated
    or upsampled by ``transposed`` convolutions of ``upsampling_strides``.

    Its samples are continuous; read and written as 16-bit linear audio
    (``n_classes``, ``quantization``), as its mixture-of-logistics teacher hears them.
    """

    flow_layers: tuple = (5, 5, 5, 5)
    dilation_cycle: int = 10
    residual_channels: int = 32
    dilation_channels: int = 32
    skip_channels: int = 32
    filter_width: int = 2
    n_global: int = 0
    local_channels: int = 0
    local_hop: int = 1
    local_upsampling: str = "repeat"
    upsampling_strides: tuple = ()

    n_classes = PCM16_CLASSES
    quantization = "linear"

    def __post_init__(self):
        object.__setattr__(self, "flow_layers", tuple(int(n) for n in self.flow_layers))
        object.__setattr__(self, "upsampling_strides",
                           tuple(int(s) for s in self.upsampling_strides))
        checks = [
            (len(self.flow_layers) >= 1 and min(self.flow_layers) >= 1,
             "flow_layers must list at least one flow of at least one layer"),
            (self.dilation_cycle >= 1, "dilation_cycle must be at least 1"),
            (min(self.residual_channels, self.dilation_channels, self.skip_channels) >= 1,
             "channel counts must be positive"),
            (self.filter_width >= 2, "filter_width must be at least 2"),
            (min(self.n_global, self.local_channels) >= 0,
             "n_global and local_channels must be >= 0"),
            (self.local_hop >= 1, "local_hop must be at least 1"),
            (self.local_upsampling in LOCAL_UPSAMPLINGS,
             f"local_upsampling must be one of {', '.join(LOCAL_UPSAMPLINGS)}"),
            (self.local_upsampling == "repeat" or (
                self.local_channels >= 1
                and min(self.upsampling_strides, default=0) >= 1
                and math.prod(self.upsampling_strides) == self.local_hop),
             f"transposed upsampling needs local features and upsampling_strides "
             f"multiplying to local_hop ({self.local_hop}), got "
             f"{list(self.upsampling_strides)}"),
            (self.local_upsampling == "transposed" or not self.upsampling_strides,
             "upsampling_strides are for local_upsampling='transposed' only"),
        ]
        for ok, message in checks:
            if not ok:
                raise WaveNetError(f"student config: {message}")

    def dilations(self, flow):
        """The dilations of flow ``flow``'s layers."""
        return tuple(2 ** (i % self.dilation_cycle) for i in range(self.flow_layers[flow]))

    @property
    def receptive_field(self):
        """Past noise samples that one flow's output reads, the widest flow's."""
        return max(1 + (self.filter_width - 1) * sum(self.dilations(k))
                   for k in range(len(self.flow_layers)))

    def to_dict(self):
        values = dataclasses.asdict(self)
        values["flow_layers"] = list(self.flow_layers)
        values["upsampling_strides"] = list(self.upsampling_strides)
        return values

    @classmethod
    def from_dict(cls, values):
        return _from_dict(cls, values, "student config")


STUDENT_PRESETS = {
    "small": StudentConfig(),
    "S": StudentConfig(residual_channels=64, dilation_channels=64, skip_channels=64),
    "paper": StudentConfig(flow_layers=(10, 10, 10, 30), residual_channels=64,
                           dilation_channels=64, skip_channels=64),
}


def student_for(teacher, preset="small"):
    """The student ``preset`` conditioned as ``teacher`` (a WaveNetConfig) is."""
    return dataclasses.replace(STUDENT_PRESETS[preset], n_global=teacher.n_global,
                               local_channels=teacher.local_channels,
                               local_hop=teacher.local_hop,
                               local_upsampling=teacher.local_upsampling,
                               upsampling_strides=teacher.upsampling_strides)


WAVENET_PRESETS = {
    "small": WaveNetConfig(),
    "S": WaveNetConfig(residual_channels=64, dilation_channels=64, skip_channels=128,
                       dilations=dilation_stacks(2, 10)),
    "paper": WaveNetConfig(residual_channels=64, dilation_channels=64, skip_channels=256,
                           dilations=dilation_stacks(4, 10)),
}

AUTOENCODER_PRESETS = {
    "small": autoencoder_config(
        EncoderConfig(channels=32, dilations=dilation_stacks(2, 6), bottleneck=16, hop=256),
        dict(residual_channels=32, dilation_channels=32, skip_channels=64,
             dilations=dilation_stacks(2, 8))),
    "nsynth": autoencoder_config(
        EncoderConfig(channels=128, dilations=dilation_stacks(3, 10), bottleneck=16, hop=512),
        dict(residual_channels=512, dilation_channels=512, skip_channels=256, filter_width=3,
             dilations=dilation_stacks(3, 10))),
}


CONFIG_KINDS = {"wavenet": WaveNetConfig, "autoencoder": AutoencoderConfig,
                "student": StudentConfig}


def config_from_json(text, what="config"):
    """A WaveNetConfig, AutoencoderConfig or StudentConfig from its JSON form
    ``{"kind": ..., ...}``."""
    try:
        values = json.loads(text)
        kind = values.pop("kind")
    except (ValueError, AttributeError, KeyError, TypeError):
        raise WaveNetError(f"{what}: not a chainer-wavenet model config") from None
    if kind not in CONFIG_KINDS:
        raise WaveNetError(f"{what}: unknown model kind {kind!r}")
    return CONFIG_KINDS[kind].from_dict(values)


def config_to_json(config):
    kind = next(name for name, cls in CONFIG_KINDS.items() if isinstance(config, cls))
    return json.dumps({"kind": kind, **config.to_dict()}, sort_keys=True)
