"""The teleop graph as data: which nodes, in which namespaces, with which parameter overrides.

One plan serves launch_ros (``launch/teleop.launch.py`` builds its nodes from :func:`graph_plan`)
and the no-launch runner (``python -m sqgan_ros.ros.tools.run_graph``, which starts each node
with :func:`node_command`). Plain Python: no rclpy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqgan_ros.ros.frame_sources import synthetic_seed

__all__ = ["NodePlan", "GraphOptions", "graph_plan", "is_synthetic", "node_command", "absolute_namespace",
           "resolve_topic"]


@dataclass(frozen=True)
class NodePlan:
    """One node of the graph, independent of how it is started.

    Args:
        executable: installed executable name (lib/sqgan_ros/<executable>).
        module: Python module with ``main()`` (for the no-launch runner).
        name: node name.
        namespace: node namespace (absolute, e.g. ``/robot``).
        overrides: parameter values that override the params file(s).
    """

    executable: str
    module: str
    name: str
    namespace: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphOptions:
    """What the launch file and the runner let the user choose.

    Args:
        source: camera_source spec (``synthetic``, ``pattern``, a video file, ``/dev/video0``);
            empty = no camera_source node (use ``camera_topic`` from elsewhere).
        camera_topic: image topic the encoder subscribes to (relative names resolve in the robot
            namespace); its camera_info is the sibling ``camera_info`` topic.
        model: model file for both nodes (empty = the params file / bundled default).
        device: auto | cuda | cpu (empty = params file).
        target_kbps: rate-control budget (None = params file).
        segmenter: encoder segmenter (empty = params file).
        robot_ns: namespace of the camera and encoder.
        operator_ns: namespace of the decoder.
        fps: camera_source frame rate (None = its default).
        torch_threads: torch CPU threads of the encoder and decoder (None = params file;
            0 = auto, max(1, CPUs // 2)).
        synthetic_cache_frames: a synthetic camera replays a pre-rendered loop of this many
            frames when it is cached (the runner renders it first); 0 = render live.
        video: INTER frames with acknowledgements (None = params file).
    """

    source: str = "synthetic"
    camera_topic: str = "camera/image_raw"
    model: str = ""
    device: str = ""
    target_kbps: float | None = None
    segmenter: str = ""
    robot_ns: str = "robot"
    operator_ns: str = "operator"
    fps: float | None = None
    torch_threads: int | None = None
    synthetic_cache_frames: int = 200
    video: bool | None = None


def absolute_namespace(name: str) -> str:
    """``robot`` / ``/robot/`` -> ``/robot``; empty -> ``/``."""
    name = name.strip().strip("/")
    return "/" + name if name else "/"


def resolve_topic(ns: str, topic: str) -> str:
    """``topic`` resolved in namespace ``ns`` (absolute topics stay as they are)."""
    if topic.startswith("/"):
        return topic
    return (ns.rstrip("/") + "/" + topic) if ns != "/" else "/" + topic


def _sibling(topic: str, leaf: str) -> str:
    head, _, _ = topic.rpartition("/")
    return f"{head}/{leaf}" if head else leaf


def graph_plan(opts: GraphOptions) -> list[NodePlan]:
    """The nodes of the teleop graph and their parameter overrides.

    Args:
        opts: user choices.

    Returns:
        Camera source (if ``opts.source``), encoder and decoder plans, in start order.
    """
    robot, operator = absolute_namespace(opts.robot_ns), absolute_namespace(opts.operator_ns)
    image_topic = opts.camera_topic or "camera/image_raw"
    plans: list[NodePlan] = []
    if opts.source:
        cam: dict[str, Any] = {"source": opts.source, "image_topic": image_topic,
                               "camera_info_topic": _sibling(image_topic, "camera_info")}
        if opts.fps is not None:
            cam["rate_hz"] = float(opts.fps)
        if is_synthetic(opts.source):
            cam["synthetic_cache_frames"] = int(opts.synthetic_cache_frames)
        plans.append(NodePlan("camera_source", "sqgan_ros.ros.camera_source", "camera_source",
                              robot, cam))
    common: dict[str, Any] = {}
    if opts.model:
        common["model_file"] = str(Path(opts.model).expanduser().resolve())
    if opts.device:
        common["device"] = opts.device
    if opts.torch_threads is not None:
        common["torch_threads"] = int(opts.torch_threads)
    enc = dict(common, image_topic=image_topic,
               camera_info_topic=_sibling(image_topic, "camera_info"))
    if opts.target_kbps is not None:
        enc["target_kbps"] = float(opts.target_kbps)
    if opts.segmenter:
        enc["segmenter"] = opts.segmenter
    if opts.video is not None:
        enc["video"] = bool(opts.video)
    plans.append(NodePlan("encoder_node", "sqgan_ros.ros.encoder_node", "sqgan_encoder", robot, enc))
    dec = dict(common,
               frame_topic=resolve_topic(robot, "sqgan/frame"),
               camera_info_in_topic=resolve_topic(robot, "sqgan/camera_info"),
               ack_topic=resolve_topic(robot, "sqgan/ack"))  # acknowledgements go back to the robot
    plans.append(NodePlan("decoder_node", "sqgan_ros.ros.decoder_node", "sqgan_decoder",
                          operator, dec))
    return plans


def is_synthetic(source: str) -> bool:
    """True for the ``synthetic[:SEED]`` camera source spec."""
    return synthetic_seed(source) is not None


def _param_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # YAML-quoted: paths and "none" stay strings
    return str(value)


def node_command(plan: NodePlan, params_files: list[Path]) -> list[str]:
    """The command line that runs one planned node with this interpreter.

    Args:
        plan: the node.
        params_files: YAML parameter files, applied in order (later wins), then the overrides.
    """
    cmd = [sys.executable, "-m", plan.module, "--ros-args", "-r", f"__node:={plan.name}",
           "-r", f"__ns:={plan.namespace}"]
    for f in params_files:
        cmd += ["--params-file", str(f)]
    for key, value in plan.overrides.items():
        cmd += ["-p", f"{key}:={_param_literal(value)}"]
    return cmd
