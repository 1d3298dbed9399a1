"""ROS parameters of the teleop nodes: specs, validation and declaration helpers.

The specs and every validation rule are plain Python (testable without a node or rclpy);
only :func:`declare_parameters` and :func:`make_on_set_callback` touch rclpy types, and they
import them lazily. Rules (image_pipeline / ros2 demos style, STYLE.md #10):

* every parameter has a descriptor with a description and, for numbers, a range;
* run-time changes are checked in an on-set callback that returns a reason when refused;
* read-only parameters (model, device, segmenter, topics, QoS) can be set at start only;
* ``class_weights.<class>`` exists for every class in :data:`sqgan_ros.labels.CLASS_NAMES`
  and nothing else: an unknown class name is refused (at run time and in parameter files).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqgan_ros.labels import CLASS_NAMES, UNIFORM_RUNTIME_WEIGHTS

__all__ = [
    "ParamSpec", "CLASS_WEIGHT_PREFIX", "ENCODER_NODE_NAME", "DECODER_NODE_NAME",
    "encoder_specs", "decoder_specs", "check_value", "validate_changes", "unknown_parameters",
    "class_weights_from", "validate_params_file", "declare_parameters", "make_on_set_callback",
    "is_ros_parameter", "QOS_OVERRIDES_PREFIX",
]

CLASS_WEIGHT_PREFIX = "class_weights."
#: Prefix of the QoS override parameters rclpy declares for overridable publishers/subscriptions.
QOS_OVERRIDES_PREFIX = "qos_overrides."
_ROS_OWN = frozenset({"use_sim_time", "start_type_description_service"})
ENCODER_NODE_NAME = "sqgan_encoder"
DECODER_NODE_NAME = "sqgan_decoder"

#: Upper bound of class weights in the descriptor (the selection only uses ratios of weights).
MAX_CLASS_WEIGHT = 1000.0
#: Upper bound of target_kbps in the descriptor (1 Gbit/s: far beyond any thin link).
MAX_TARGET_KBPS = 1.0e6
#: Upper bound of the pixel-count limits: the bitstream's largest image (16384 x 16384).
MAX_PIXELS = 16384 * 16384

Scalar = bool | int | float | str


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter.

    Args:
        name: full parameter name (dots allowed, e.g. ``class_weights.person``).
        default: default value; its Python type is the parameter type (bool, int, float, str).
        description: one line shown by ``ros2 param describe``.
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


def _weight_specs() -> list[ParamSpec]:
    return [
        ParamSpec(f"{CLASS_WEIGHT_PREFIX}{name}", float(UNIFORM_RUNTIME_WEIGHTS[name]),
                  f"SAMM selection weight of class '{name}' (>= 0; 0 = send its latents last; "
                  "takes effect on the next frame)", low=0.0, high=MAX_CLASS_WEIGHT)
        for name in CLASS_NAMES
    ]


def _common_specs() -> list[ParamSpec]:
    return [
        ParamSpec("model_file", "", "SQ-GAN model (.safetensors); empty = the bundled default model",
                  read_only=True),
        ParamSpec("device", "auto", "torch device: auto (cuda if present) | cuda | cpu",
                  read_only=True, choices=("auto", "cuda", "cpu")),
        ParamSpec("precision", "auto",
                  "compute precision of the networks: auto (bfloat16 on CPUs with native bf16 "
                  "kernels and on CUDA, else float32) | float32 | bfloat16 | float16; never "
                  "changes the bitstream", read_only=True,
                  choices=("auto", "float32", "bfloat16", "float16")),
        ParamSpec("qos_depth", 1, "history depth of the input subscription(s)", read_only=True,
                  low=1, high=1000),
        ParamSpec("torch_threads", 0,
                  "torch intra-op CPU threads of this node; 0 = auto: max(1, usable CPUs // 2), "
                  "so the encoder and decoder (or camera) on one host do not oversubscribe the "
                  "cores (inter-op threads are always 1)", read_only=True, low=0, high=1024),
    ]


def encoder_specs() -> dict[str, ParamSpec]:
    """Parameters of the ``sqgan_encoder`` node, by name."""
    specs = _common_specs() + [
        ParamSpec("segmenter", "bundled",
                  "label source: bundled | none | topic (mono8 labels on labels_topic, matched by "
                  "stamp) | path to a TorchScript/ONNX segmenter", read_only=True,
                  choices=("bundled", "none", "topic"), allow_other=True),
        ParamSpec("image_topic", "camera/image_raw", "input camera image (sensor_msgs/Image)",
                  read_only=True),
        ParamSpec("camera_info_topic", "camera/camera_info", "input camera info", read_only=True),
        ParamSpec("labels_topic", "camera/labels",
                  "input label maps (mono8 Image, class ids) when segmenter=topic", read_only=True),
        ParamSpec("labels_buffer", 30, "label maps kept while waiting for their image",
                  read_only=True, low=1, high=1000),
        ParamSpec("frame_topic", "sqgan/frame", "output SemanticFrame (the thin link)",
                  read_only=True),
        ParamSpec("stats_topic", "sqgan/encoder_stats", "output CodecStats", read_only=True),
        ParamSpec("camera_info_out_topic", "sqgan/camera_info",
                  "camera info republished for the receiver (latched, sent on change and every "
                  "camera_info_period_s)", read_only=True),
        ParamSpec("camera_info_period_s", 5.0,
                  "re-send the camera info at most this often (s); it crosses the thin link",
                  low=0.1, high=3600.0),
        ParamSpec("semantic_keep_ratio", 0.25, "fraction of semantic latents sent, in (0, 1]",
                  low=0.0, high=1.0, low_exclusive=True),
        ParamSpec("image_keep_ratio", 0.4,
                  "fraction of image latents sent, in (0, 1]; with target_kbps > 0 the upper "
                  "bound of the rate controller's choice", low=0.0, high=1.0, low_exclusive=True),
        ParamSpec("min_image_keep_ratio", 0.02,
                  "lower bound of the rate controller's image keep ratio, in (0, 1]",
                  low=0.0, high=1.0, low_exclusive=True),
        ParamSpec("max_input_pixels", 16_777_216,
                  "camera images with more pixels (height * width) are refused before any "
                  "conversion, so a bad or hostile publisher cannot make the node allocate "
                  "gigabytes; 16 Mpx by default (4K is 8.3 Mpx)", low=1, high=MAX_PIXELS),
        ParamSpec("target_kbps", 0.0,
                  "bit budget in kbit/s of the SemanticFrame messages (what the link pays); "
                  "> 0 enables rate control, 0 = fixed keep ratios",
                  low=0.0, high=MAX_TARGET_KBPS),
        ParamSpec("rdo_lambda_semantic", 0.2,
                  "rate weight of the semantic index choice: a codeword slightly farther than "
                  "the nearest is sent when it saves enough bits (0 = nearest, the paper's "
                  "choice); see sqgan_ros.codec.index_rdo", low=0.0, high=100.0),
        ParamSpec("rdo_lambda_image", 0.4, "rate weight of the image index choice (as above)",
                  low=0.0, high=100.0),
        ParamSpec("encode_only_when_subscribed", False,
                  "skip camera frames (no segmentation, no encoding) while nothing subscribes "
                  "to frame_topic: the robot spends no CPU while no operator is connected"),
    ] + _encoder_video_specs() + _weight_specs()
    return {s.name: s for s in specs}


def _encoder_video_specs() -> list[ParamSpec]:
    """Video parameters of the encoder (INTER frames against acknowledged references)."""
    return [
        ParamSpec("video", False, "INTER frames against references the decoder acknowledged "
                  "on ack_topic (false: every frame INTRA)", read_only=True),
        ParamSpec("intra_interval", 50, "frames between periodic INTRA frames (0: only when "
                  "acknowledgements stop)", read_only=True, low=0, high=100000),
        ParamSpec("refresh_fraction", 0.02, "share of latents re-sent per frame in a rolling "
                  "window", read_only=True, low=0.0, high=1.0),
        ParamSpec("change_threshold", 0.4, "a held latent is re-sent only when keeping it costs "
                  "more than this fraction of the RMS codeword norm (0: on any index change)",
                  read_only=True, low=0.0, high=100.0),
        ParamSpec("ack_timeout_frames", 20, "an acknowledgement older than this many frames is "
                  "stale: resync with an INTRA frame", read_only=True, low=1, high=1000),
        ParamSpec("ack_topic", "sqgan/ack", "input FrameAck from the decoder (reliable)",
                  read_only=True),
        ParamSpec("intra_on_new_subscriber", True, "video: when another node subscribes to "
                  "frame_topic (a decoder joins late or restarts, a recorder starts), send the next "
                  "two frames INTRA so it has a full picture at once instead of after the rolling "
                  "refresh"),
    ]


def decoder_specs() -> dict[str, ParamSpec]:
    """Parameters of the ``sqgan_decoder`` node, by name."""
    specs = _common_specs() + [
        ParamSpec("frame_topic", "sqgan/frame", "input SemanticFrame", read_only=True),
        ParamSpec("camera_info_in_topic", "sqgan/camera_info",
                  "camera info republished by the encoder side", read_only=True),
        ParamSpec("encoder_stats_topic", "sqgan/encoder_stats",
                  "encoder CodecStats (for encode_ms); optional", read_only=True),
        ParamSpec("image_topic", "sqgan/image", "output reconstruction (rgb8, reliable)",
                  read_only=True),
        ParamSpec("semantic_topic", "sqgan/semantic", "output colourised semantic map (rgb8)",
                  read_only=True),
        ParamSpec("camera_info_topic", "sqgan/camera_info_out",
                  "output camera info matching the reconstruction", read_only=True),
        ParamSpec("stats_topic", "sqgan/decoder_stats", "output CodecStats", read_only=True),
        ParamSpec("output_size", "camera",
                  "reconstruction size: camera (original) | model (codec resolution)",
                  choices=("camera", "model")),
        ParamSpec("stats_window_s", 5.0, "sliding window of the kbit/s and fps statistics (s)",
                  low=0.1, high=3600.0),
        ParamSpec("max_output_pixels", 16_777_216,
                  "frames whose header declares a larger camera image (height * width) are "
                  "refused before decoding: a forged header cannot make the node allocate "
                  "gigabytes; 16 Mpx by default", low=1, high=MAX_PIXELS),
        ParamSpec("ack_topic", "sqgan/ack", "output FrameAck: last decoded frame, so the "
                  "encoder predicts only from frames this decoder holds", read_only=True),
    ]
    return {s.name: s for s in specs}


# ---------------------------------------------------------------------------------- validation
def check_value(spec: ParamSpec, value: Any) -> str | None:
    """Check one value against its spec.

    Args:
        spec: the parameter's spec.
        value: proposed value.

    Returns:
        None if acceptable, else a one-line reason.
    """
    kind = spec.kind
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{spec.name} must be a number, got {type(value).__name__}"
        value = float(value)
        if not math.isfinite(value):
            return f"{spec.name} must be finite, got {value}"
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{spec.name} must be an integer, got {type(value).__name__}"
    elif kind is bool:
        if not isinstance(value, bool):
            return f"{spec.name} must be a bool, got {type(value).__name__}"
        return None
    elif kind is str:
        if not isinstance(value, str):
            return f"{spec.name} must be a string, got {type(value).__name__}"
        if spec.choices is not None and value not in spec.choices:
            if not (spec.allow_other and value):
                return f"{spec.name} must be one of {', '.join(spec.choices)}, got {value!r}"
        return None
    if spec.low is not None:
        if spec.low_exclusive and value <= spec.low:
            return f"{spec.name} must be > {spec.low:g}, got {value}"
        if not spec.low_exclusive and value < spec.low:
            return f"{spec.name} must be >= {spec.low:g}, got {value}"
    if spec.high is not None and value > spec.high:
        return f"{spec.name} must be <= {spec.high:g}, got {value}"
    return None


def validate_changes(specs: Mapping[str, ParamSpec], changes: Iterable[tuple[str, Any]],
                     *, running: bool = True) -> str | None:
    """Check a batch of parameter changes (all or nothing).

    Args:
        specs: the node's parameter specs by name.
        changes: ``(name, value)`` pairs.
        running: True for changes while the node runs (read-only ones are refused).

    Returns:
        None if every change is acceptable, else the reason for the first refused one.
    """
    for name, value in changes:
        spec = specs.get(name)
        if spec is None:
            if name.startswith(CLASS_WEIGHT_PREFIX):
                return (f"unknown class {name[len(CLASS_WEIGHT_PREFIX):]!r}; "
                        f"known: {', '.join(CLASS_NAMES)}")
            return f"unknown parameter {name!r}"
        if running and spec.read_only:
            return f"{name} is read-only at run time; restart the node to change it"
        reason = check_value(spec, value)
        if reason is not None:
            return reason
    return None


def unknown_parameters(specs: Mapping[str, ParamSpec], names: Iterable[str]) -> list[str]:
    """Names that are not parameters of the node (ROS's own, e.g. ``use_sim_time``, excepted).

    Args:
        specs: the node's parameter specs by name.
        names: names found in a parameter file or the node's overrides.
    """
    return sorted(n for n in names if n not in specs and not is_ros_parameter(n))


def is_ros_parameter(name: str) -> bool:
    """True for parameters rclpy itself declares and checks (``use_sim_time``, QoS overrides)."""
    return name in _ROS_OWN or name.startswith(QOS_OVERRIDES_PREFIX)


def class_weights_from(values: Mapping[str, Any]) -> dict[str, float]:
    """Extract ``{class_name: weight}`` from ``{parameter_name: value}``.

    Args:
        values: parameter values by full name (other parameters are ignored).
    """
    n = len(CLASS_WEIGHT_PREFIX)
    return {k[n:]: float(v) for k, v in values.items() if k.startswith(CLASS_WEIGHT_PREFIX)}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _section_applies(key: str, node_name: str) -> bool:
    key = key.strip()
    if key in ("/**", "**"):
        return True
    parts = [p for p in key.split("/") if p]
    return bool(parts) and parts[-1] == node_name


def validate_params_file(path: str | Path) -> list[str]:
    """Check a ROS parameters YAML file for the teleop nodes.

    Sections are matched like rcl does for our two nodes: ``/**``, ``sqgan_encoder``,
    ``/<ns>/sqgan_encoder`` and ``/**/sqgan_encoder`` (likewise for the decoder). Parameters in
    a ``/**`` section apply to every node, so there only names known to at least one node are
    required.

    Args:
        path: the YAML file.

    Returns:
        A list of problems (empty if the file is fine). Unknown class names, unknown
        parameters of a named node, wrong types and out-of-range values are reported.
    """
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: cannot read parameters file: {exc}"]
    if not isinstance(data, Mapping):
        return [f"{path}: top level must be a mapping of node sections"]
    nodes = {ENCODER_NODE_NAME: encoder_specs(), DECODER_NODE_NAME: decoder_specs()}
    problems: list[str] = []
    for key, section in data.items():
        if not isinstance(section, Mapping) or "ros__parameters" not in section:
            problems.append(f"{path}: section {key!r} has no 'ros__parameters'")
            continue
        params = section["ros__parameters"] or {}
        if not isinstance(params, Mapping):
            problems.append(f"{path}: {key}.ros__parameters must be a mapping")
            continue
        flat = _flatten(params)
        targets = [n for n in nodes if _section_applies(str(key), n)]
        for name, value in flat.items():
            owners = [nodes[n][name] for n in targets if name in nodes[n]]
            if not owners:
                if name.startswith(CLASS_WEIGHT_PREFIX):
                    problems.append(f"{path}: [{key}] unknown class "
                                    f"{name[len(CLASS_WEIGHT_PREFIX):]!r} in {name}")
                elif targets and unknown_parameters({}, [name]):
                    problems.append(f"{path}: [{key}] unknown parameter {name!r}")
                continue
            for spec in owners:
                if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
                    problems.append(f"{path}: [{key}] {name} must be written as a float "
                                    f"(e.g. {value}.0): ROS parameters are typed")
                    break
                reason = check_value(spec, value)
                if reason is not None:
                    problems.append(f"{path}: [{key}] {reason}")
                    break
    return problems


# ------------------------------------------------------------------------------ rclpy helpers
def _descriptor(spec: ParamSpec):
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

    types = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}
    description = spec.description
    if spec.choices:
        description += f" [{'|'.join(spec.choices)}{'|...' if spec.allow_other else ''}]"
    desc = ParameterDescriptor(name=spec.name, type=types[spec.kind], description=description,
                               read_only=spec.read_only)
    if spec.kind is float and spec.low is not None and spec.high is not None:
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.low), to_value=float(spec.high), step=0.0)]
    elif spec.kind is int and spec.low is not None and spec.high is not None:
        desc.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high),
                                           step=1)]
    return desc


def declare_parameters(node: Any, specs: Mapping[str, ParamSpec]) -> dict[str, Scalar]:
    """Declare every spec on ``node`` with its descriptor and check the start values.

    Args:
        node: an ``rclpy.node.Node``.
        specs: parameter specs by name.

    Returns:
        The start values by name.

    Raises:
        ValueError: a start value (from a params file or the command line) is invalid, or an
            override names an unknown class weight.
    """
    overrides = getattr(node, "_parameter_overrides", {}) or {}
    unknown = [n for n in unknown_parameters(specs, overrides)
               if n.startswith(CLASS_WEIGHT_PREFIX)]
    if unknown:
        raise ValueError(f"unknown class weight parameter(s) {', '.join(unknown)}; "
                         f"known classes: {', '.join(CLASS_NAMES)}")
    values: dict[str, Scalar] = {}
    for spec in specs.values():
        try:
            param = node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        except Exception as exc:  # rclpy raises several types for type/range mismatches
            raise ValueError(f"parameter {spec.name}: {exc}") from exc
        value = param.value
        reason = check_value(spec, value)
        if reason is not None:
            raise ValueError(reason)
        values[spec.name] = value
    return values


def make_on_set_callback(specs: Mapping[str, ParamSpec],
                         apply: Callable[[dict[str, Scalar]], None]) -> Callable[[list], Any]:
    """Build an on-set-parameters callback that validates, then applies accepted changes.

    Args:
        specs: the node's parameter specs.
        apply: called with ``{name: value}`` of an accepted batch (before it is stored).
    """
    from rcl_interfaces.msg import SetParametersResult

    def callback(params: list) -> SetParametersResult:
        # rclpy's own parameters (QoS overrides declared with a publisher, use_sim_time) are
        # rclpy's to check; the node's are validated here, all or nothing
        changes = [(p.name, p.value) for p in params if not is_ros_parameter(p.name)]
        reason = validate_changes(specs, changes, running=True)
        if reason is not None:
            return SetParametersResult(successful=False, reason=reason)
        if changes:
            apply(dict(changes))
        return SetParametersResult(successful=True, reason="")

    return callback
