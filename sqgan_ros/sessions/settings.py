"""The one table of the sessions' settings: defaults, ranges, descriptions (no ROS, no torch).

Each setting is a dataclass field carrying its :class:`ParamSpec` (description, range, whether
it may change at run time). Defaults that the library already defines are taken from it, never
written twice: the video settings from :class:`~sqgan_ros.video.policy.VideoConfig`, the
smallest rate-controlled keep ratio from :class:`~sqgan_ros.rate_control.RateControlConfig`, the
index-choice weights from :data:`~sqgan_ros.codec.index_rdo.DEFAULT_INDEX_RDO`'s class, the
output pixel limit from the API, the class weights from :mod:`sqgan_ros.labels`. The ROS
parameter descriptors, ``--help`` and the check of ``config/teleop.yaml`` are all built from
these tables (:mod:`sqgan_ros.ros.parameters`)::

    EncoderSettings / DecoderSettings / ModelSettings  --specs_of()-->  {name: ParamSpec}
        |                                                                   |
        +-- __post_init__: check_value() per field                          +--> ROS descriptors,
                                                                                 on-set checks, --help
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from sqgan_ros.labels import CLASS_NAMES, UNIFORM_RUNTIME_WEIGHTS
from sqgan_ros.rate_control import RateControlConfig
from sqgan_ros.video.policy import VideoConfig

__all__ = ["ParamSpec", "check_value", "specs_of", "ModelSettings", "EncoderSettings",
           "DecoderSettings", "CLASS_WEIGHT_PREFIX", "MAX_PIXELS", "DEFAULT_MAX_PIXELS"]

Scalar = bool | int | float | str
CLASS_WEIGHT_PREFIX = "class_weights."
#: Upper bound of the pixel-count limits: the bitstream's largest image (16384 x 16384).
MAX_PIXELS = 16384 * 16384
#: Largest camera image / decoded output by default (16 Mpx; 4K is 8.3 Mpx). The API's own
#: default limit (``sqgan_ros.api.DEFAULT_MAX_OUTPUT_PIXELS``, 4096 x 4096) is the same number;
#: a test keeps them equal (importing the API here would pull torch into ``--help``).
DEFAULT_MAX_PIXELS = 4096 * 4096
#: Upper bound of class weights (the selection only uses ratios of weights).
MAX_CLASS_WEIGHT = 1000.0
#: Upper bound of target_kbps (1 Gbit/s: far beyond any thin link).
MAX_TARGET_KBPS = 1.0e6
#: The index-choice weights' defaults (``sqgan_ros.codec.index_rdo.IndexRDO``'s; a test checks
#: they agree: that module imports torch).
_RDO_SEMANTIC, _RDO_IMAGE = 0.2, 0.4


@dataclass(frozen=True)
class ParamSpec:
    """One setting as a node parameter.

    Args:
        name: full name (dots allowed, e.g. ``class_weights.person``).
        default: default value; its Python type is the parameter type (bool, int, float, str).
        description: one line shown by ``ros2 param describe`` and ``--help``.
        read_only: True if it can only be set at start (params file / command line).
        low: inclusive lower bound for numbers (None: unbounded).
        high: inclusive upper bound for numbers (None: unbounded).
        low_exclusive: True if ``low`` itself is not allowed (e.g. keep ratios in (0, 1]).
        choices: allowed values for strings (None: any string).
        allow_other: for strings with choices, also allow other non-empty values
            (e.g. ``segmenter`` = a path to a user model).
    """

    name: str
    default: Scalar
    description: str
    read_only: bool = False
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    allow_other: bool = False

    @property
    def kind(self) -> type:
        """Python type of the parameter value."""
        return type(self.default)

    @property
    def type_name(self) -> str:
        """``bool``, ``int``, ``float`` or ``str``."""
        return self.kind.__name__

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``a number in (0, 1]`` or ``one of auto, cpu``."""
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            if self.choices is None:
                return "a string"
            return f"one of {', '.join(self.choices)}" + (" or a path" if self.allow_other else "")
        what = "a number" if self.kind is float else "an integer"
        if self.low is None and self.high is None:
            return what
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{what} in {'(' if self.low_exclusive else '['}{lo}, {hi}]"


def check_value(spec: ParamSpec, value: Any) -> str | None:
    """Check one value against its spec.

    Returns:
        None if acceptable, else a one-line reason naming the parameter and what it allows.
    """
    kind = spec.kind
    got = f"got {value!r}" if isinstance(value, (bool, int, float, str)) else \
        f"got {type(value).__name__}"
    if value is None:
        return f"{spec.name} cannot be unset or deleted; it must be {spec.allowed()}"
    if kind is bool:
        return None if isinstance(value, bool) else f"{spec.name} must be {spec.allowed()}, {got}"
    if kind is str:
        if not isinstance(value, str):
            return f"{spec.name} must be {spec.allowed()}, {got}"
        if spec.choices is not None and value not in spec.choices and not (spec.allow_other and value):
            return f"{spec.name} must be {spec.allowed()}, {got}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (kind is int and not isinstance(value, int)):
        return f"{spec.name} must be {spec.allowed()}, {got}"
    if not math.isfinite(value):
        return f"{spec.name} must be finite ({spec.allowed()}), {got}"
    low_bad = spec.low is not None and (value <= spec.low if spec.low_exclusive else value < spec.low)
    if low_bad or (spec.high is not None and value > spec.high):
        return f"{spec.name} must be {spec.allowed()}, {got}"
    return None


def setting(default: Scalar, description: str, *, runtime: bool = True, low: float | None = None,
            high: float | None = None, low_exclusive: bool = False,
            choices: tuple[str, ...] | None = None, allow_other: bool = False) -> Any:
    """A dataclass field with its spec (the name is filled in by :func:`specs_of`)."""
    spec = ParamSpec("", default, description, read_only=not runtime, low=low, high=high,
                     low_exclusive=low_exclusive, choices=choices, allow_other=allow_other)
    return field(default=default, metadata={"spec": spec})


def _class_weight_specs() -> list[ParamSpec]:
    return [ParamSpec(f"{CLASS_WEIGHT_PREFIX}{name}", float(UNIFORM_RUNTIME_WEIGHTS[name]),
                      f"SAMM selection weight of class '{name}' (0 = send its latents last; "
                      "takes effect on the next frame)", low=0.0, high=MAX_CLASS_WEIGHT)
            for name in CLASS_NAMES]


def specs_of(cls: type) -> dict[str, ParamSpec]:
    """The parameter specs of a settings dataclass, by name (class weights one per class)."""
    specs: dict[str, ParamSpec] = {}
    for f in fields(cls):
        if f.name == "class_weights":
            specs.update((s.name, s) for s in _class_weight_specs())
        elif "spec" in f.metadata:
            specs[f.name] = replace(f.metadata["spec"], name=f.name)
    return specs


class _Settings:
    """Validation and construction shared by the settings dataclasses."""

    def __post_init__(self) -> None:
        specs = specs_of(type(self))
        for name, spec in specs.items():
            if name.startswith(CLASS_WEIGHT_PREFIX):
                continue
            reason = check_value(spec, getattr(self, name))
            if reason is not None:
                raise ValueError(reason)
        weights = getattr(self, "class_weights", None)
        if weights is not None:
            unknown = sorted(set(weights) - set(CLASS_NAMES))
            if unknown:
                raise ValueError(f"unknown class(es) {', '.join(unknown)}; known: {', '.join(CLASS_NAMES)}")
            for name, value in weights.items():
                reason = check_value(specs[CLASS_WEIGHT_PREFIX + name], value)
                if reason is not None:
                    raise ValueError(reason)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Any:
        """Build from ``{parameter name: value}`` (others ignored; missing ones take defaults)."""
        return cls().updated(values)

    def updated(self, changes: Mapping[str, Any]) -> Any:
        """A copy with ``{parameter name: value}`` applied (names of other settings ignored)."""
        own = {f.name for f in fields(self)}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in changes.items() if k in own and k != "class_weights"}
        if "class_weights" in own:
            n = len(CLASS_WEIGHT_PREFIX)
            weights = {k[n:]: v for k, v in changes.items() if k.startswith(CLASS_WEIGHT_PREFIX)}
            if weights:
                kwargs["class_weights"] = {**self.class_weights, **weights}
        return replace(self, **kwargs) if kwargs else self  # type: ignore[type-var]


def _default(cls: type, name: str) -> Any:
    value = {f.name: f for f in fields(cls)}[name].default
    assert value is not MISSING
    return value


@dataclass(frozen=True)
class ModelSettings(_Settings):
    """How a session loads its model (start-time only)."""

    model_file: str = setting("", "SQ-GAN model (.safetensors); empty = the bundled default "
                              "model", runtime=False)
    device: str = setting("auto", "torch device: auto (cuda if present) | cuda | cpu",
                          runtime=False, choices=("auto", "cuda", "cpu"))
    precision: str = setting(
        "auto", "compute precision of the networks: auto (bfloat16 on CPUs with native bf16 "
        "kernels and on CUDA, else float32) | float32 | bfloat16 | float16; never changes the "
        "bitstream", runtime=False, choices=("auto", "float32", "bfloat16", "float16"))
    torch_threads: int = setting(
        0, "torch intra-op CPU threads of this node; 0 = auto: max(1, usable CPUs // 2), so the "
        "encoder and decoder (or camera) on one host do not oversubscribe the cores (inter-op "
        "threads are always 1)", runtime=False, low=0, high=1024)


@dataclass(frozen=True)
class EncoderSettings(_Settings):
    """Per-frame policy of :class:`~sqgan_ros.sessions.EncoderSession`."""

    segmenter: str = setting(
        "bundled", "label source: bundled | none | topic (mono8 labels on labels_topic, matched "
        "by stamp) | path to a TorchScript/ONNX segmenter", runtime=False,
        choices=("bundled", "none", "topic"), allow_other=True)
    segmenter_min_confidence: float = setting(
        0.0, "pixels whose top class probability from the segmenter is below this are sent as "
        "'unlabelled' (no class weight, no class texture where the guess is unsure, e.g. faces, "
        "indoor or grey footage the bundled segmenter never saw); 0 = keep every guess; applies "
        "to segmenters that output class scores (bundled, TorchScript/ONNX logits)",
        low=0.0, high=0.99)
    labels_buffer: int = setting(30, "label maps kept while waiting for their image",
                                 runtime=False, low=1, high=1000)
    semantic_keep_ratio: float = setting(
        RateControlConfig.semantic_keep_ratio, "fraction of semantic latents sent, in (0, 1]",
        low=0.0, high=1.0, low_exclusive=True)
    image_keep_ratio: float = setting(
        0.4, "fraction of image latents sent, in (0, 1], with fixed keep ratios (target_kbps 0); "
        "rate control chooses in [min_image_keep_ratio, max_image_keep_ratio]",
        low=0.0, high=1.0, low_exclusive=True)
    min_image_keep_ratio: float = setting(
        RateControlConfig.min_keep, "lower bound of the rate controller's image keep ratio, "
        "in (0, 1]", low=0.0, high=1.0, low_exclusive=True)
    max_image_keep_ratio: float = setting(
        RateControlConfig.max_keep, "upper bound of the rate controller's image keep ratio, in "
        "(0, 1] (at least min_image_keep_ratio); once reached, a generous budget raises the "
        "semantic keep ratio up to 1", low=0.0, high=1.0, low_exclusive=True)
    min_semantic_keep_ratio: float = setting(
        RateControlConfig.min_semantic_keep, "rate control on a budget too thin for min_fps: the "
        "semantic keep ratio is lowered down to this, in (0, 1]", low=0.0, high=1.0, low_exclusive=True)
    min_fps: float = setting(
        RateControlConfig.min_fps, "rate control on a budget too thin for the camera's frame rate "
        "at the lowest keep ratios: frames are skipped down to this rate before the semantic keep "
        "ratio is lowered (frames per second)", low=0.0, high=1000.0)
    max_input_pixels: int = setting(
        DEFAULT_MAX_PIXELS, "camera images with more pixels (height * width) are refused before "
        "any conversion, so a bad or hostile publisher cannot make the node allocate gigabytes; "
        "16 Mpx by default (4K is 8.3 Mpx)", low=1, high=MAX_PIXELS)
    target_kbps: float = setting(
        0.0, "link budget in kbit/s (IP level, what the link carries robot -> operator: frames "
        "with their RTPS/UDP/IP headers, the stats summary, camera info; discovery excluded); > 0 "
        "enables rate control, which never plans above it, 0 = fixed keep ratios",
        low=0.0, high=MAX_TARGET_KBPS)
    stats_period_s: float = setting(
        1.0, "the encoder's CodecStats is a summary published at most this often (s), not per "
        "frame: it crosses the link only if an operator-side node subscribes (0 = every frame, "
        "for robot-local tools)", low=0.0, high=3600.0)
    rdo_lambda_semantic: float = setting(
        _RDO_SEMANTIC, "rate weight of the semantic index choice: a codeword slightly farther "
        "than the nearest is sent when it saves enough bits (0 = nearest, the paper's choice); "
        "see sqgan_ros.codec.index_rdo", low=0.0, high=100.0)
    rdo_lambda_image: float = setting(_RDO_IMAGE, "rate weight of the image index choice "
                                      "(as above)", low=0.0, high=100.0)
    encode_only_when_subscribed: bool = setting(
        False, "skip camera frames (no segmentation, no encoding) while nothing subscribes to "
        "frame_topic: the robot spends no CPU while no operator is connected")
    video: bool = setting(False, "INTER frames against references the decoder acknowledged on "
                          "ack_topic (false: every frame INTRA)", runtime=False)
    intra_interval: int = setting(
        _default(VideoConfig, "intra_interval"), "video: frames between periodic INTRA frames "
        "(0: only when acknowledgements stop)", runtime=False, low=0, high=100000)
    refresh_fraction: float = setting(
        _default(VideoConfig, "refresh_fraction"), "video: share of latents re-sent per frame in "
        "a rolling window", runtime=False, low=0.0, high=1.0)
    change_threshold: float = setting(
        _default(VideoConfig, "change_threshold"), "video: a held latent is re-sent only when "
        "keeping it costs more than this fraction of the RMS codeword norm (0: on any index "
        "change)", runtime=False, low=0.0, high=100.0)
    ack_timeout_frames: int = setting(
        _default(VideoConfig, "max_reference_age"), "video: an acknowledgement older than this "
        "many frames is stale: resync with an INTRA frame", runtime=False, low=1, high=1000)
    intra_on_new_subscriber: bool = setting(
        True, "video: when another node subscribes to frame_topic (a decoder joins late or "
        "restarts, a recorder starts), send the next two frames INTRA so it has a full picture "
        "at once instead of after the rolling refresh")
    roi_timeout_s: float = setting(
        2.0, "an operator's region of interest (sensor_msgs/RegionOfInterest on roi_topic) is "
        "sent first for this many seconds after its last message; an empty region clears it; "
        "0 = until cleared", low=0.0, high=3600.0)
    class_weights: Mapping[str, float] = field(default_factory=lambda: dict(UNIFORM_RUNTIME_WEIGHTS))

    def video_config(self) -> VideoConfig:
        """The video encoder's configuration (the reference history outlives the ack timeout)."""
        age = self.ack_timeout_frames
        return VideoConfig(intra_interval=self.intra_interval, refresh_fraction=self.refresh_fraction,
                           change_threshold=self.change_threshold, max_reference_age=age,
                           history=max(_default(VideoConfig, "history"), age + 1))

    def rate_control(self) -> RateControlConfig | None:
        """Rate-control settings when ``target_kbps > 0``, else None (fixed keep ratios)."""
        if self.target_kbps <= 0.0:
            return None
        return RateControlConfig(target_kbps=self.target_kbps,
                                 min_keep=min(self.min_image_keep_ratio, self.max_image_keep_ratio),
                                 max_keep=self.max_image_keep_ratio,
                                 semantic_keep_ratio=self.semantic_keep_ratio,
                                 min_semantic_keep=self.min_semantic_keep_ratio,
                                 min_fps=self.min_fps)


@dataclass(frozen=True)
class DecoderSettings(_Settings):
    """Per-frame policy of :class:`~sqgan_ros.sessions.DecoderSession`."""

    output_size: str = setting("camera", "reconstruction size: camera (original) | model (codec "
                               "resolution)", choices=("camera", "model"))
    stats_window_s: float = setting(5.0, "sliding window of the kbit/s and fps statistics (s)",
                                    low=0.1, high=3600.0)
    ack_period_s: float = setting(
        0.5, "video: acknowledgements (cumulative: the newest frame held) are coalesced to at most "
        "one per this many seconds, sent best effort: their reverse-path cost stays ~190 B per "
        "period whatever the frame rate", low=0.0, high=60.0)
    max_output_pixels: int = setting(
        DEFAULT_MAX_PIXELS, "frames whose header declares a larger camera image (height * width) "
        "are refused before decoding: a forged header cannot make the node allocate gigabytes; "
        "16 Mpx by default", low=1, high=MAX_PIXELS)
