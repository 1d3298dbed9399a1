"""ROS parameters of the nodes: one table per node, its validation and declaration.

Every node parameter comes from one table. For the encoder and decoder that is the sessions'
settings dataclasses (:mod:`sqgan_ros.sessions.settings`: defaults, ranges, descriptions, taken
from the library where it defines them) plus the ROS wiring below (topics, QoS depth); for the
camera source the table below. The descriptors, the on-set checks, ``--help``
(:func:`format_help`) and the check of ``config/teleop.yaml`` (test) are all built from it.
Rules (image_pipeline `disparity_node` / ros2 demos `set_parameters_callback` style):

* every parameter has a descriptor with a description and, for numbers, a range;
* types are checked by the node itself (descriptors use dynamic typing), so a wrong type is
  refused with the parameter's name and the allowed values, not rclpy's "Wrong parameter type";
* run-time changes are checked in an on-set callback that returns a reason when refused, and
  a name the node does not have is refused with that name (and the closest known one);
* read-only parameters (model, device, segmenter, topics, QoS) can be set at start only;
* ``class_weights.<class>`` exists for every class in :data:`sqgan_ros.labels.CLASS_NAMES`
  and nothing else: an unknown class name is refused (at run time and in parameter files).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqgan_ros.labels import CLASS_NAMES
from sqgan_ros.sessions.settings import (
    CLASS_WEIGHT_PREFIX,
    MAX_PIXELS,
    DecoderSettings,
    EncoderSettings,
    ModelSettings,
    ParamSpec,
    check_value,
    specs_of,
)

__all__ = [
    "ParamSpec", "CLASS_WEIGHT_PREFIX", "ENCODER_NODE_NAME", "DECODER_NODE_NAME",
    "CAMERA_NODE_NAME", "encoder_specs", "decoder_specs", "camera_specs", "check_value",
    "validate_changes", "unknown_parameters", "class_weights_from", "validate_params_file",
    "declare_parameters", "make_on_set_callback", "is_ros_parameter", "QOS_OVERRIDES_PREFIX",
    "format_help", "MAX_PIXELS",
]

#: Prefix of the QoS override parameters rclpy declares for overridable publishers/subscriptions.
QOS_OVERRIDES_PREFIX = "qos_overrides."
_ROS_OWN = frozenset({"use_sim_time", "start_type_description_service"})
ENCODER_NODE_NAME = "sqgan_encoder"
DECODER_NODE_NAME = "sqgan_decoder"
CAMERA_NODE_NAME = "camera_source"

Scalar = bool | int | float | str


def _topic(name: str, default: str, description: str) -> ParamSpec:
    return ParamSpec(name, default, description, read_only=True)


def _qos_depth(default: int, description: str) -> ParamSpec:
    return ParamSpec("qos_depth", default, description, read_only=True, low=1, high=1000)


def _table(*parts: Iterable[ParamSpec]) -> dict[str, ParamSpec]:
    specs: dict[str, ParamSpec] = {}
    for part in parts:
        for spec in part:
            if spec.name in specs:
                raise ValueError(f"parameter {spec.name} defined twice")
            specs[spec.name] = spec
    return specs


def encoder_specs() -> dict[str, ParamSpec]:
    """Parameters of the ``sqgan_encoder`` node, by name (settings, then ROS wiring)."""
    return _table(specs_of(ModelSettings).values(), [
        _qos_depth(1, "history depth of the input subscription(s)"),
        _topic("image_topic", "camera/image_raw", "input camera image (sensor_msgs/Image)"),
        _topic("camera_info_topic", "camera/camera_info", "input camera info"),
        _topic("labels_topic", "camera/labels",
               "input label maps (mono8 Image, class ids) when segmenter=topic"),
        _topic("frame_topic", "sqgan/frame", "output SemanticFrame (the thin link)"),
        _topic("stats_topic", "sqgan/encoder_stats", "output CodecStats: a summary at most every "
               "stats_period_s"),
        _topic("camera_info_out_topic", "sqgan/camera_info",
               "camera info republished for the receiver (latched: sent on change, and every "
               "camera_info_period_s if > 0)"),
        _topic("ack_topic", "sqgan/ack", "input FrameAck from the decoder (best effort, coalesced; video)"),
        _topic("roi_topic", "sqgan/roi", "input sensor_msgs/RegionOfInterest from the operator "
               "(camera pixels; its latents are sent first, see roi_timeout_s; empty = clear)"),
        ParamSpec("camera_info_period_s", 0.0,
                  "also re-send unchanged camera info this often (s); 0 = only on change (it is "
                  "latched: a late joiner still gets it); it crosses the thin link",
                  low=0.0, high=3600.0),
    ], specs_of(EncoderSettings).values())


def decoder_specs() -> dict[str, ParamSpec]:
    """Parameters of the ``sqgan_decoder`` node, by name (settings, then ROS wiring)."""
    return _table(specs_of(ModelSettings).values(), [
        _qos_depth(1, "history depth of the input subscription(s)"),
        _topic("frame_topic", "sqgan/frame", "input SemanticFrame"),
        _topic("camera_info_in_topic", "sqgan/camera_info", "camera info republished by the encoder side"),
        _topic("encoder_stats_topic", "", "encoder CodecStats summary (for encode_ms); empty = not "
               "subscribed, so the encoder's stats never cross the link"),
        _topic("image_topic", "sqgan/image", "output reconstruction (rgb8, reliable)"),
        _topic("semantic_topic", "sqgan/semantic", "output colourised semantic map (rgb8)"),
        _topic("camera_info_topic", "sqgan/camera_info_out", "output camera info matching the reconstruction"),
        _topic("stats_topic", "sqgan/decoder_stats", "output CodecStats"),
        _topic("ack_topic", "sqgan/ack", "output FrameAck: last decoded frame, so the encoder "
               "predicts only from frames this decoder holds (best effort, one per ack_period_s)"),
    ], specs_of(DecoderSettings).values())


def camera_specs() -> dict[str, ParamSpec]:
    """Parameters of the ``camera_source`` node, by name (all read-only)."""
    def ro(name: str, default: Scalar, description: str, **kw: Any) -> ParamSpec:
        return ParamSpec(name, default, description, read_only=True, **kw)

    return _table([
        ro("source", "synthetic", "pattern | synthetic[:SEED] | /dev/videoN | N | image folder | video file"),
        ro("rate_hz", 10.0, "publish rate in Hz", low=0.01, high=1000.0),
        ro("loop", True, "restart folders and video files at their end"),
        ro("width", 0, "output width in pixels; 0 = source size (set both or neither)", low=0, high=16384),
        ro("height", 0, "output height in pixels; 0 = source size", low=0, high=16384),
        ro("frame_id", "camera", "header.frame_id of published messages"),
        _topic("image_topic", "camera/image_raw", "sensor_msgs/Image rgb8 topic"),
        _topic("camera_info_topic", "camera/camera_info", "sensor_msgs/CameraInfo topic"),
        _topic("labels_topic", "camera/labels", "mono8 label map topic (labelled sources)"),
        ro("start_index", 0, "first frame of the source", low=0, high=2**31 - 1),
        ro("synthetic_cache_frames", 0, "synthetic source: replay a pre-rendered loop of this many "
           "frames when it is cached (python -m sqgan_ros.data.synthetic.sequence_cache --frames N); "
           "0 = render live", low=0, high=100_000),
        ro("cache_dir", "", "folder of pre-rendered sequences; empty = $SQGAN_CACHE_DIR or ~/.cache/sqgan_ros"),
        ro("max_frames", 0, "stop after this many frames; 0 = unlimited", low=0, high=2**31 - 1),
        ro("seed", 0, "synthetic scene seed", low=0, high=2**31 - 1),
        _qos_depth(5, "publisher queue depth"),
    ])


def format_help(program: str, node_name: str, summary: str, specs: Mapping[str, ParamSpec]) -> str:
    """The ``--help`` text of a node executable: usage and its parameters (from ``specs``)."""
    lines = [f"usage: {program} [--help] [--ros-args -p NAME:=VALUE ... --params-file FILE ...]",
             "", summary, "",
             f"Parameters of node '{node_name}' (name  type  default  allowed; "
             "[start] = settable at start only):"]
    weights = [s for s in specs.values() if s.name.startswith(CLASS_WEIGHT_PREFIX)]
    for spec in specs.values():
        if spec in weights:
            continue
        default = repr(spec.default) if spec.kind is str else str(spec.default).lower() \
            if spec.kind is bool else repr(spec.default)
        lines.append(f"  {spec.name}  {spec.type_name}  {default}  {spec.allowed()}"
                     f"{'  [start]' if spec.read_only else ''}")
        lines.append(f"      {spec.description}")
    if weights:
        w = weights[0]
        lines.append(f"  class_weights.<class>  float  {w.default:g}  {w.allowed()}")
        lines.append(f"      {w.description.replace(repr(CLASS_NAMES[0]), '<class>')}")
        lines.append(f"      classes: {', '.join(n[len(CLASS_WEIGHT_PREFIX):] for n in (s.name for s in weights))}")
    lines += ["", "Set at start: --ros-args -p NAME:=VALUE or --params-file FILE (e.g. "
              "config/teleop.yaml, config/class_weights/*.yaml); at run time: "
              f"ros2 param set /<ns>/{node_name} NAME VALUE, ros2 param load /<ns>/{node_name} FILE."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- validation
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
    nodes = {ENCODER_NODE_NAME: encoder_specs(), DECODER_NODE_NAME: decoder_specs(),
             CAMERA_NODE_NAME: camera_specs()}
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
    """The descriptor: description, range, read-only; dynamic typing (types checked by us)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    desc = ParameterDescriptor(name=spec.name, description=f"{spec.description} ({spec.allowed()})",
                               read_only=spec.read_only, dynamic_typing=True)
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
            override names an unknown class weight (only for a node that has class weights:
            a ``/**`` preset file given to every node is the encoder's business).
    """
    overrides = getattr(node, "_parameter_overrides", {}) or {}
    if any(n.startswith(CLASS_WEIGHT_PREFIX) for n in specs):
        unknown = [n for n in unknown_parameters(specs, overrides)
                   if n.startswith(CLASS_WEIGHT_PREFIX)]
        if unknown:
            raise ValueError(f"unknown class weight parameter(s) {', '.join(unknown)}; "
                             f"known classes: {', '.join(CLASS_NAMES)}")
    for name in mistyped_overrides(specs, overrides):
        close = difflib.get_close_matches(name, list(specs), n=1)
        node.get_logger().warning(f"parameter {name!r} given at start is not a parameter of "
                                  f"{node.get_name()} (did you mean {close[0]}?); ignored")
    values: dict[str, Scalar] = {}
    for spec in specs.values():
        try:
            param = node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        except Exception as exc:  # rclpy raises several types for range mismatches
            raise ValueError(f"parameter {spec.name} ({spec.allowed()}): {exc}") from exc
        value = param.value
        reason = check_value(spec, value)
        if reason is not None:
            raise ValueError(reason)
        values[spec.name] = float(value) if spec.kind is float else value
    return values


def mistyped_overrides(specs: Mapping[str, ParamSpec], names: Iterable[str]) -> list[str]:
    """Start-time names that look like a typo of one of ``specs`` (and name no node's parameter).

    A ``/**`` parameters file legitimately gives every node the others' parameters, so only a
    name close to one of this node's (``image_keep_ration``) and known to no node is reported.
    """
    known = set(encoder_specs()) | set(decoder_specs()) | set(camera_specs())
    return sorted(n for n in names if n not in known and not is_ros_parameter(n)
                  and not n.startswith(CLASS_WEIGHT_PREFIX)
                  and difflib.get_close_matches(n, list(specs), n=1))


def unknown_reason(specs: Mapping[str, ParamSpec], name: str, node_name: str) -> str:
    """Why ``name`` is refused: not a parameter of this node (with the closest known names)."""
    if name.startswith(CLASS_WEIGHT_PREFIX) and any(n.startswith(CLASS_WEIGHT_PREFIX) for n in specs):
        return (f"unknown class {name[len(CLASS_WEIGHT_PREFIX):]!r}; "
                f"known: {', '.join(CLASS_NAMES)}")
    close = difflib.get_close_matches(name, list(specs), n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return (f"{node_name} has no parameter {name!r}{hint} (its parameters: run the executable "
            "with --help, or ros2 param list)")


def make_on_set_callback(specs: Mapping[str, ParamSpec],
                         apply: Callable[[dict[str, Scalar]], None],
                         node_name: str = "this node") -> Callable[[list], Any]:
    """Build an on-set-parameters callback that validates, then applies accepted changes.

    Args:
        specs: the node's parameter specs.
        apply: called with ``{name: value}`` of an accepted batch (before it is stored); a
            ``ValueError`` it raises refuses the batch with its message.
        node_name: named in refusals.
    """
    from rcl_interfaces.msg import SetParametersResult

    def callback(params: list) -> SetParametersResult:
        changes: list[tuple[str, Any]] = []
        for p in params:
            if is_ros_parameter(p.name):
                continue  # rclpy's own (also while rclpy declares them), checked by rclpy
            if p.name not in specs:
                return SetParametersResult(successful=False,
                                           reason=unknown_reason(specs, p.name, node_name))
            changes.append((p.name, p.value))
        reason = validate_changes(specs, changes, running=True)
        if reason is None and changes:
            try:
                apply({k: float(v) if specs[k].kind is float else v for k, v in changes})
            except ValueError as exc:
                reason = str(exc)
        return SetParametersResult(successful=reason is None, reason=reason or "")

    return callback
