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

_missing = [m for m in ("launch", "launch_ros") if importlib.util.find_spec(m) is None]
needs_launch = pytest.mark.skipif(
    bool(_missing), reason=f"{' and '.join(_missing)} not importable (no ROS 2 launch install here); "
                           "the no-launch runner is tested in test_teleop_pipeline.py")


LAUNCH_FILES = {side: REPO / "launch" / f"{side}.launch.py" for side in ("robot", "operator", "teleop")}


def test_launch_files_compile_and_share_one_argument_table() -> None:
    # Runs everywhere: the files compile; robot and operator build from launch_support, teleop
    # declares the whole table and includes both.
    for side, path in LAUNCH_FILES.items():
        source = path.read_text()
        compile(source, str(path), "exec")
        assert "sqgan_ros.ros.launch_support" in source, side
    teleop = LAUNCH_FILES["teleop"].read_text()
    assert '"robot", "operator"' in teleop and "IncludeLaunchDescription" in teleop


def test_argument_table_gives_both_sides_what_must_agree() -> None:
    from sqgan_ros.ros.launch_support import ARGUMENTS, SIDES

    for name in ("robot_ns", "operator_ns", "model", "params_file"):
        assert set(ARGUMENTS[name].sides) == set(SIDES), name
    for name in ("source", "camera_topic", "target_kbps", "video", "class_weights"):
        assert ARGUMENTS[name].sides == ("robot",), name
    assert ARGUMENTS["rviz"].sides == ("operator",)


def test_side_plans_split_the_runner_plan_without_loss() -> None:
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan
    from sqgan_ros.ros.launch_support import ARGUMENTS, graph_options, side_plan

    values = {name: arg.default for name, arg in ARGUMENTS.items()}
    values.update(robot_ns="bot7", operator_ns="desk", target_kbps="24", video="true")
    opts = graph_options(values.__getitem__)
    robot, operator = side_plan(opts, "robot"), side_plan(opts, "operator")
    assert [p.name for p in robot] == ["camera_source", "sqgan_encoder"]
    assert [p.name for p in operator] == ["sqgan_decoder"]
    assert robot + operator == graph_plan(opts)
    assert operator[0].overrides["frame_topic"] == "/bot7/sqgan/frame"  # agrees with the robot side
    assert robot[1].overrides["target_kbps"] == 24.0 and robot[1].overrides["video"] is True
    assert opts == GraphOptions(robot_ns="bot7", operator_ns="desk", target_kbps=24.0, video=True)
    with pytest.raises(ValueError, match="not a number"):
        graph_options({**values, "fps": "fast"}.__getitem__)
    with pytest.raises(ValueError, match="expected true or false"):
        graph_options({**values, "video": "maybe"}.__getitem__)


def _rviz_topics(path: Path) -> list[tuple[str, str]]:
    import yaml

    def walk(node):
        if isinstance(node, dict):
            topic = node.get("Topic")
            if isinstance(topic, dict) and "Value" in topic:
                yield topic["Value"], topic.get("Reliability Policy", "")
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return list(walk(yaml.safe_load(path.read_text())))


def test_operator_rviz_shows_only_what_crossed_the_link() -> None:
    """config/operator.rviz subscribes to no robot-side topic, with the decoder's QoS."""
    import yaml

    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, resolve_topic

    topics = _rviz_topics(REPO / "config" / "operator.rviz")
    assert topics, "no displays"
    decoder = [p for p in graph_plan(GraphOptions()) if p.name == "sqgan_decoder"][0]
    params = yaml.safe_load((REPO / "config" / "teleop.yaml").read_text())
    dec_params = next(v["ros__parameters"] for k, v in params.items() if k.endswith("sqgan_decoder"))
    published = {resolve_topic(decoder.namespace, dec_params[k]) for k in ("image_topic", "semantic_topic")}
    for topic, reliability in topics:
        assert topic.startswith(decoder.namespace + "/"), f"{topic} is not an operator-side topic"
        assert topic in published, topic
        assert reliability == "Reliable", topic  # the decoder publishes reliable (qos.reliable)
    rviz = yaml.safe_load((REPO / "config" / "operator.rviz").read_text())
    assert rviz["Visualization Manager"]["Global Options"]["Fixed Frame"] == "sqgan_view"
    assert "sqgan_view" in (REPO / "sqgan_ros" / "ros" / "launch_support.py").read_text()
    robot = _rviz_topics(REPO / "config" / "robot.rviz")
    assert ("/robot/camera/image_raw", "Best Effort") in robot


@needs_launch
def test_launch_descriptions_declare_their_sides_arguments() -> None:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument

    from sqgan_ros.ros.launch_support import ARGUMENTS

    for side, path in LAUNCH_FILES.items():
        spec = importlib.util.spec_from_file_location(f"{side}_launch", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ld: LaunchDescription = module.generate_launch_description()
        declared = {a.name for a in ld.entities if isinstance(a, DeclareLaunchArgument)}
        expected = {n for n, a in ARGUMENTS.items() if side == "teleop" or side in a.sides}
        assert declared == expected, side


@needs_launch
def test_operator_side_without_rviz2_logs_and_starts_the_decoder(monkeypatch) -> None:
    from launch import LaunchContext
    from launch.actions import LogInfo

    from sqgan_ros.ros import launch_support

    monkeypatch.setattr(launch_support, "ros_package_installed", lambda name: False)
    context = LaunchContext()
    context.launch_configurations.update({n: a.default for n, a in launch_support.ARGUMENTS.items()})
    actions = launch_support._side_actions(context, "operator")
    assert sum(isinstance(a, LogInfo) for a in actions) == 1
    assert len(actions) == 2  # the decoder and the log line, no rviz2
    robot = launch_support._side_actions(context, "robot")
    assert len(robot) == 2  # camera_source and encoder


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
