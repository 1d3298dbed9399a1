"""What the three launch files share, so robot, operator and one-machine launches agree by construction.

::

    launch/robot.launch.py      camera_source (optional) + encoder       -> the robot
    launch/operator.launch.py   decoder + rviz2 (where installed) + view TF -> the operator's station
    launch/teleop.launch.py     includes both                            -> one machine

Every argument is declared from one table (:data:`ARGUMENTS`), each with the sides that use it;
the nodes come from :func:`sqgan_ros.ros.graph_plan.graph_plan`, the plan the no-launch runner
starts too, split by :func:`side_plan`. Namespaces and topics are arguments of both sides, so two
machines started with the same values meet on the same topics. ``launch`` and ``launch_ros`` are
imported inside the functions: this module imports on machines without them (its tests do).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqgan_ros.ros.graph_plan import GraphOptions, NodePlan, graph_plan

__all__ = ["ARGUMENTS", "SIDES", "Argument", "package_share", "side_plan", "graph_options", "flag",
           "ros_package_installed", "launch_description"]

SIDES: dict[str, tuple[str, ...]] = {
    "robot": ("camera_source", "encoder_node"),
    "operator": ("decoder_node",),
}


def package_share() -> str:
    """This package's share folder (installed), or the source checkout's root."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return get_package_share_directory("sqgan_ros")
    except Exception:  # a source checkout without an ament index entry
        return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Argument:
    """A launch argument: default, description, and the sides (robot / operator) that use it."""

    default: str
    description: str
    sides: tuple[str, ...]


_BOTH = ("robot", "operator")
ARGUMENTS: dict[str, Argument] = {
    "robot_ns": Argument("robot", "namespace of camera and encoder (both machines must agree)", _BOTH),
    "operator_ns": Argument("operator", "namespace of the decoder (both machines must agree)", _BOTH),
    "model": Argument("", "model file (empty = bundled default; both machines need the same weights)", _BOTH),
    "device": Argument("", "auto | cuda | cpu (empty = params file)", _BOTH),
    "video": Argument("", "true | false: INTER frames against acknowledged references (empty = params file)",
                      ("robot",)),
    "target_kbps": Argument("", "link budget in kbit/s (empty = params file, 0 = off)", ("robot",)),
    "source": Argument("synthetic", "camera_source spec (synthetic | pattern | video file | /dev/videoN); "
                                    "empty = no camera_source (point camera_topic at your camera)", ("robot",)),
    "camera_topic": Argument("camera/image_raw", "camera image topic (relative to robot_ns)", ("robot",)),
    "fps": Argument("", "camera_source frame rate (empty = its default)", ("robot",)),
    "segmenter": Argument("", "bundled | none | topic | path (empty = params file)", ("robot",)),
    "params_file": Argument("", "node parameters (empty = the installed config/teleop.yaml)", _BOTH),
    "class_weights": Argument("", "optional class-weight preset applied after params_file", ("robot",)),
    "rviz": Argument("true", "start rviz2 with config/operator.rviz where rviz2 is installed", ("operator",)),
    "rviz_config": Argument("", "rviz2 config (empty = the installed config/operator.rviz)", ("operator",)),
    "frame_id": Argument("camera", "the camera's frame id: the operator publishes a static TF from "
                                   "'sqgan_view' to it so rviz has a fixed frame", ("operator",)),
}


def flag(text: str) -> bool | None:
    """A boolean launch argument: None when empty (the params file decides)."""
    text = text.strip().lower()
    if not text:
        return None
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _number(name: str, text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"launch argument {name}:={text!r} is not a number") from None


def graph_options(value: Callable[[str], str]) -> GraphOptions:
    """GraphOptions from launch argument values (``value(name)`` returns the string given or default)."""
    return GraphOptions(
        source=value("source"), camera_topic=value("camera_topic"), model=value("model"),
        device=value("device"), target_kbps=_number("target_kbps", value("target_kbps")),
        segmenter=value("segmenter"), robot_ns=value("robot_ns"), operator_ns=value("operator_ns"),
        fps=_number("fps", value("fps")), video=flag(value("video")))


def side_plan(opts: GraphOptions, side: str) -> list[NodePlan]:
    """The nodes of one side (``robot`` or ``operator``) of the teleop graph."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {sorted(SIDES)}, got {side!r}")
    return [plan for plan in graph_plan(opts) if plan.executable in SIDES[side]]


def ros_package_installed(name: str) -> bool:
    """True when the ament index knows the ROS package ``name`` (e.g. rviz2, tf2_ros)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return False
    try:
        get_package_prefix(name)
    except (PackageNotFoundError, ValueError, KeyError, OSError):
        return False
    return True


def _params_files(value: Callable[[str], str], side: str) -> list[str]:
    files = [value("params_file") or os.path.join(package_share(), "config", "teleop.yaml")]
    if side == "robot" and value("class_weights"):
        files.append(value("class_weights"))
    return files


def _side_actions(context: Any, side: str) -> list[Any]:
    """The actions of one side, built once the launch arguments are known."""
    from launch.actions import LogInfo, Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def value(name: str) -> str:
        return LaunchConfiguration(name).perform(context).strip()

    opts = graph_options(value)
    files = _params_files(value, side)
    actions: list[Any] = [
        Node(package="sqgan_ros", executable=plan.executable, name=plan.name, namespace=plan.namespace,
             parameters=[*files, plan.overrides], output="screen", emulate_tty=True,
             on_exit=Shutdown(reason=f"{plan.name} exited"))
        for plan in side_plan(opts, side)
    ]
    if side == "operator" and flag(value("rviz")):
        if not ros_package_installed("rviz2"):
            actions.append(LogInfo(msg="rviz2 is not installed on this host: not starting it (the decoder "
                                       "runs; view its topics from a machine with rviz2, or rviz:=false)"))
        else:
            config = value("rviz_config") or os.path.join(package_share(), "config", "operator.rviz")
            actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", arguments=["-d", config],
                                output="screen"))
            if ros_package_installed("tf2_ros"):
                actions.append(Node(package="tf2_ros", executable="static_transform_publisher",
                                    name="sqgan_view_tf", namespace=opts.operator_ns,
                                    arguments=["--frame-id", "sqgan_view", "--child-frame-id", value("frame_id")]))
    return actions


def launch_description(side: str) -> Any:
    """The LaunchDescription of ``robot`` or ``operator``: its arguments, then its nodes."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    if side not in SIDES:
        raise ValueError(f"side must be one of {sorted(SIDES)}, got {side!r}")
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=arg.default, description=arg.description)
         for name, arg in ARGUMENTS.items() if side in arg.sides]
        + [OpaqueFunction(function=lambda context: _side_actions(context, side))])
