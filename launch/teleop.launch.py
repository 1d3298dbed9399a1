"""The whole teleop graph on one machine: robot.launch.py and operator.launch.py included.

    ros2 launch sqgan_ros teleop.launch.py [source:=synthetic] [camera_topic:=camera/image_raw]
        [model:=/path/model.safetensors] [device:=auto] [target_kbps:=20.0] [rviz:=true]
        [video:=true] [robot_ns:=robot] [operator_ns:=operator] [params_file:=.../teleop.yaml]
        [class_weights:=.../class_weights/teleop_safety.yaml]

source:='' starts no camera_source (point camera_topic at your camera). Every argument of either
side is declared here (sqgan_ros.ros.launch_support.ARGUMENTS) and reaches both included files,
so the two sides agree by construction. The no-launch runner (python -m
sqgan_ros.ros.tools.run_graph) starts the same nodes from the same plan and YAML.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from sqgan_ros.ros.launch_support import ARGUMENTS

_HERE = os.path.dirname(os.path.abspath(__file__))


def generate_launch_description():
    """Every argument, then the robot and operator launch files."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=arg.default, description=arg.description)
         for name, arg in ARGUMENTS.items()]
        + [IncludeLaunchDescription(PythonLaunchDescriptionSource(os.path.join(_HERE, f"{side}.launch.py")))
           for side in ("robot", "operator")])
