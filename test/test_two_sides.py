"""Robot and operator as two process groups (run_graph --side), as two machines would run them; ROI over DDS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import own_domain

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]


def test_robot_and_operator_sides_meet_and_the_operator_can_point(tmp_path: Path, tiny_model_file: Path) -> None:
    from sqgan_ros.tools.processes import stop_processes

    common = [sys.executable, "-m", "sqgan_ros.ros.tools.run_graph", "--model", str(tiny_model_file),
              "--source", "pattern", "--fps", "5", "--device", "cpu", "--torch-threads", "1", "--quiet",
              "--duration", "40"]
    with own_domain(171) as env:
        robot = subprocess.Popen(common + ["--side", "robot", "--output", str(tmp_path / "robot")], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        operator = subprocess.Popen(common + ["--side", "operator", "--output", str(tmp_path / "op")], env=env,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            import rclpy
            from sensor_msgs.msg import RegionOfInterest

            rclpy.init()
            node = rclpy.create_node("roi_pointer")
            pub = node.create_publisher(RegionOfInterest, "/robot/sqgan/roi", 1)
            deadline = time.monotonic() + 30.0
            while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert pub.get_subscription_count() == 1, "the encoder never subscribed to /robot/sqgan/roi"
            pub.publish(RegionOfInterest(x_offset=10, y_offset=8, width=40, height=30))
            time.sleep(1.0)
            node.destroy_node()
            rclpy.try_shutdown()
            operator.wait(timeout=90)
            robot.wait(timeout=90)
        finally:
            stop_processes([robot, operator], grace_s=5.0)
    robot_log = robot.stdout.read()
    summary = json.loads((tmp_path / "op" / "summary.json").read_text())
    assert summary["frames_decoded"] > 0, operator.stderr.read()[-2000:]
    assert summary["frames_camera"] == 0  # the operator's side never pulls the raw camera
    assert "started /robot/sqgan_encoder" in robot_log and "sqgan_decoder" not in robot_log
    assert "region of interest (10, 8, 40, 30)" in robot_log
