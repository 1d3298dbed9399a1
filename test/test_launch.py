"""Launch test of launch/teleop.launch.py (needs launch_ros; skipped with the reason where absent).

Where launch_ros is importable (a real ROS 2 Jazzy/Kilted install with this package built), the
launch description is loaded, its arguments are checked, and the graph it would start is
compared with the no-launch runner's plan. Starting nodes through launch is covered by the
``launch``-marked test, which needs the package installed in the ament index.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqgan_ros.tools.processes import stop_process

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "launch" / "teleop.launch.py"

_missing = [m for m in ("launch", "launch_ros") if importlib.util.find_spec(m) is None]
needs_launch = pytest.mark.skipif(
    bool(_missing), reason=f"{' and '.join(_missing)} not importable (no ROS 2 launch install here); "
                           "the no-launch runner is tested in test_teleop_pipeline.py")


def test_launch_file_is_valid_python_and_documents_its_arguments() -> None:
    # Runs everywhere: the file compiles and names every argument the runner offers.
    source = LAUNCH_FILE.read_text()
    compile(source, str(LAUNCH_FILE), "exec")
    for arg in ("source", "camera_topic", "model", "device", "target_kbps", "video", "rviz", "robot_ns",
                "operator_ns", "params_file"):
        assert f'"{arg}"' in source, arg


@needs_launch
def test_launch_description_arguments_and_nodes() -> None:
    from launch import LaunchContext, LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    spec = importlib.util.spec_from_file_location("teleop_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ld: LaunchDescription = module.generate_launch_description()
    declared = {a.name for a in ld.entities if isinstance(a, DeclareLaunchArgument)}
    assert {"source", "model", "device", "target_kbps", "rviz", "robot_ns", "operator_ns"} <= declared
    context = LaunchContext()
    context.launch_configurations.update(
        {a.name: a.default_value[0].text if a.default_value else "" for a in ld.entities
         if isinstance(a, DeclareLaunchArgument)})
    context.launch_configurations["rviz"] = "false"
    opaque = [a for a in ld.entities if isinstance(a, OpaqueFunction)][0]
    nodes = opaque.execute(context)
    names = sorted(n.node_name.split("/")[-1] if hasattr(n, "node_name") else "" for n in nodes)
    assert len(nodes) == 3, names


@needs_launch
@pytest.mark.launch
@pytest.mark.ros
def test_ros2_launch_starts_the_graph(tmp_path: Path) -> None:
    model = REPO / "models" / "default.safetensors"
    if not model.is_file():
        pytest.skip("models/default.safetensors not trained yet")
    proc = subprocess.Popen(
        ["ros2", "launch", "sqgan_ros", "teleop.launch.py", "rviz:=false", "device:=cpu",
         f"model:={model}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ), start_new_session=True)
    try:
        time.sleep(20.0)
        assert proc.poll() is None, "launch exited early"
        import rclpy
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        got: list = []
        ctx = rclpy.Context()
        rclpy.init(context=ctx)
        try:
            node = rclpy.create_node("launch_probe", context=ctx)
            node.create_subscription(Image, "/operator/sqgan/image", got.append,
                                     QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
            deadline = time.monotonic() + 20.0
            while not got and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.2, executor=None)
            assert got, "no reconstruction published through ros2 launch"
        finally:
            rclpy.try_shutdown(context=ctx)
    finally:
        stop_process(proc, timeout=15)


# ----------------------------------------------------------------- the no-launch runner's plan
def test_graph_plan_wires_robot_and_operator_namespaces() -> None:
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, node_command

    plans = {p.name: p for p in graph_plan(GraphOptions(model="", target_kbps=20.0, fps=5.0))}
    assert set(plans) == {"camera_source", "sqgan_encoder", "sqgan_decoder"}
    assert plans["sqgan_encoder"].namespace == "/robot"
    assert plans["sqgan_encoder"].overrides["target_kbps"] == 20.0
    assert plans["camera_source"].overrides["rate_hz"] == 5.0
    dec = plans["sqgan_decoder"]
    assert dec.namespace == "/operator"
    assert dec.overrides["frame_topic"] == "/robot/sqgan/frame"
    assert dec.overrides["camera_info_in_topic"] == "/robot/sqgan/camera_info"
    cmd = node_command(plans["sqgan_encoder"], [Path("a.yaml")])
    assert cmd[1:3] == ["-m", "sqgan_ros.ros.encoder_node"]
    assert "__ns:=/robot" in cmd and "a.yaml" in cmd and "target_kbps:=20.0" in cmd
    # An external camera: no camera_source, encoder on the given topic and its camera_info.
    ext = {p.name: p for p in graph_plan(GraphOptions(source="", camera_topic="/cam/image_raw"))}
    assert "camera_source" not in ext
    assert ext["sqgan_encoder"].overrides["camera_info_topic"] == "/cam/camera_info"


def test_runner_refuses_bad_config_and_missing_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**/sqgan_encoder:\n  ros__parameters:\n    class_weights:\n      dragon: 1.0\n")
    run = [sys.executable, "-m", "sqgan_ros.ros.tools.run_graph", "--duration", "1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run(run + ["--config", str(bad)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2 and "dragon" in res.stderr
    res = subprocess.run(run + ["--model", str(tmp_path / "none.safetensors")], capture_output=True,
                         text=True, env=env, timeout=60)
    assert res.returncode == 2 and "model file not found" in res.stderr


def test_graph_plan_sends_acknowledgements_back_to_the_robot_and_passes_video() -> None:
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan
    from sqgan_ros.ros.parameters import encoder_specs

    plans = {p.name: p for p in graph_plan(GraphOptions(video=True))}
    assert plans["sqgan_decoder"].overrides["ack_topic"] == "/robot/sqgan/ack"
    # the encoder resolves its relative ack_topic in its own (robot) namespace
    assert plans["sqgan_encoder"].namespace == "/robot" and encoder_specs()["ack_topic"].default == "sqgan/ack"
    assert plans["sqgan_encoder"].overrides["video"] is True
    assert "video" not in {p.name: p for p in graph_plan(GraphOptions())}["sqgan_encoder"].overrides
