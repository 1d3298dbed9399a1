"""The robot's side of the teleop graph: camera source (optional) and SQ-GAN encoder.

    ros2 launch sqgan_ros robot.launch.py [source:=/dev/video0 | source:=''  camera_topic:=...]
        [model:=...] [target_kbps:=32] [video:=true] [robot_ns:=robot] [operator_ns:=operator]
        [params_file:=...] [class_weights:=.../teleop_safety.yaml] [device:=auto]

Start launch/operator.launch.py on the operator's station with the same robot_ns, operator_ns
and model. Arguments: sqgan_ros.ros.launch_support.ARGUMENTS (one table for all three files).
"""

from sqgan_ros.ros.launch_support import launch_description


def generate_launch_description():
    """Arguments of the robot side, then its nodes."""
    return launch_description("robot")
