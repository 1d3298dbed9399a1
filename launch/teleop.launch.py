"""Teleop graph for ROS 2 installs with launch_ros (Jazzy, Kilted).

    ros2 launch sqgan_ros teleop.launch.py [source:=synthetic] [camera_topic:=camera/image_raw]
        [model:=/path/model.safetensors] [device:=auto] [target_kbps:=20.0] [rviz:=true]
        [video:=true] [robot_ns:=robot] [operator_ns:=operator] [params_file:=.../teleop.yaml]
        [class_weights:=.../class_weights/teleop_safety.yaml]

source:='' starts no camera_source (point camera_topic at your camera). The nodes and their
parameter overrides come from sqgan_ros.ros.graph_plan.graph_plan, the same plan the no-launch
runner (python -m sqgan_ros.ros.tools.run_graph) uses, with the same YAML file.
"""

from __future__ import annotations

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan

try:
    from ament_index_python.packages import get_package_share_directory
    _SHARE = get_package_share_directory("sqgan_ros")
except Exception:  # running from a source checkout
    _SHARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

_ARGS = {
    "source": ("synthetic", "camera_source spec (synthetic | pattern | video file | /dev/videoN); "
                            "empty = no camera_source"),
    "camera_topic": ("camera/image_raw", "camera image topic (relative to robot_ns)"),
    "fps": ("", "camera_source frame rate (empty = its default)"),
    "model": ("", "model file (empty = bundled default)"),
    "device": ("", "auto | cuda | cpu (empty = params file)"),
    "target_kbps": ("", "rate-control budget in kbit/s (empty = params file, 0 = off)"),
    "segmenter": ("", "bundled | none | topic | path (empty = params file)"),
    "video": ("", "true | false: INTER frames against acknowledged references (empty = params file)"),
    "rviz": ("true", "start rviz2 with config/teleop.rviz"),
    "robot_ns": ("robot", "namespace of camera and encoder"),
    "operator_ns": ("operator", "namespace of the decoder"),
    "params_file": (os.path.join(_SHARE, "config", "teleop.yaml"), "node parameters"),
    "class_weights": ("", "optional class-weight preset applied after params_file"),
}


def _flag(text: str) -> bool | None:
    """A boolean launch argument: None when empty (the params file decides)."""
    if not text:
        return None
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _setup(context, *_args, **_kwargs):
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context).strip()

    opts = GraphOptions(
        source=arg("source"), camera_topic=arg("camera_topic"), model=arg("model"),
        device=arg("device"),
        target_kbps=float(arg("target_kbps")) if arg("target_kbps") else None,
        segmenter=arg("segmenter"), robot_ns=arg("robot_ns"), operator_ns=arg("operator_ns"),
        fps=float(arg("fps")) if arg("fps") else None,
        video=_flag(arg("video")))
    files = [arg("params_file")] + ([arg("class_weights")] if arg("class_weights") else [])
    actions = [
        Node(package="sqgan_ros", executable=plan.executable, name=plan.name,
             namespace=plan.namespace, parameters=[*files, plan.overrides], output="screen",
             emulate_tty=True)
        for plan in graph_plan(opts)
    ]
    if arg("rviz").lower() in ("true", "1", "yes"):
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                            arguments=["-d", os.path.join(_SHARE, "config", "teleop.rviz")],
                            output="screen"))
    return actions


def generate_launch_description() -> LaunchDescription:
    """Launch arguments, then the nodes (built once the arguments are known)."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=doc)
         for name, (default, doc) in _ARGS.items()]
        + [OpaqueFunction(function=_setup)])
