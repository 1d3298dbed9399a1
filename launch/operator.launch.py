"""The operator's side of the teleop graph: SQ-GAN decoder and rviz2 (where installed).

    ros2 launch sqgan_ros operator.launch.py [rviz:=true] [model:=...] [device:=cuda]
        [robot_ns:=robot] [operator_ns:=operator] [params_file:=...] [frame_id:=camera]

rviz2 shows only what crossed the link (config/operator.rviz: reconstruction and decoded
semantic map); a host without rviz2 logs one line and runs the decoder. Start
launch/robot.launch.py on the robot with the same robot_ns, operator_ns and model.
"""

from sqgan_ros.ros.launch_support import launch_description


def generate_launch_description():
    """Arguments of the operator side, then its nodes."""
    return launch_description("operator")
