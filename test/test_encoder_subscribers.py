"""The encoder follows its audience over real DDS: it idles while nobody subscribes to its frames
(``encode_only_when_subscribed``), and in video mode a new subscriber gets an INTRA frame at once
(``intra_on_new_subscriber``) instead of waiting for the rolling refresh. Its frame publisher's QoS
can be overridden at start (``qos_overrides.<topic>.publisher.reliability``).

Graph: camera_source -> sqgan_encoder (video, no decoder, so no acknowledgements: without a new
subscriber every frame after the first INTRA is INTER, ``intra_interval`` being far away).
"""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from ros_probe import ProbeNode, start_process, stop_process

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]
FRAME_TOPIC = "/robot/sqgan/frame"


class _Probe(ProbeNode):
    """Watches the camera and the encoder's stats; subscribes to the frames only when told."""

    def __init__(self) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from sqgan_ros.msg import CodecStats

        super().__init__("encoder_subscribers_probe")
        self.camera: list[Any] = []
        self.stats: list[Any] = []
        self.frames: dict[str, list[tuple[float, Any]]] = {}
        self.node.create_subscription(Image, "/robot/camera/image_raw", self.append_to(self.camera),
                                      qos_profile_sensor_data)
        self.node.create_subscription(CodecStats, "/robot/sqgan/encoder_stats", self.append_to(self.stats), 10)
        self.start()

    def subscribe_frames(self, name: str) -> None:
        """Start receiving SemanticFrames into ``self.frames[name]`` (a new subscriber of the topic)."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        from sqgan_ros.msg import SemanticFrame

        store: list[tuple[float, Any]] = []
        with self.lock:
            self.frames[name] = store

        def cb(msg: Any) -> None:
            with self.lock:
                store.append((time.monotonic(), msg))

        self.node.create_subscription(SemanticFrame, FRAME_TOPIC, cb,
                                      QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))


@pytest.fixture(scope="module")
def audience_graph(tmp_path_factory: pytest.TempPathFactory, tiny_model_file: Path):
    from conftest import own_domain, ros_problem

    if ros_problem() is not None:
        pytest.skip(ros_problem())
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, node_command

    tmp = tmp_path_factory.mktemp("encoder_subscribers")
    plans = {p.name: p for p in graph_plan(GraphOptions(
        source="synthetic", model=str(tiny_model_file), device="cpu", segmenter="topic", fps=8.0,
        torch_threads=1, video=True))}
    config = [REPO / "config" / "teleop.yaml"]
    commands = {name: node_command(plans[name], config) for name in ("camera_source", "sqgan_encoder")}
    commands["camera_source"] += ["-p", "height:=64", "-p", "width:=96"]
    commands["sqgan_encoder"] += ["-p", "encode_only_when_subscribed:=true", "-p", "intra_interval:=1000",
                                  "-p", "stats_period_s:=0.0",  # stats of every frame (robot-local probe)
                                  "-p", f"qos_overrides.{FRAME_TOPIC}.publisher.reliability:=reliable"]
    with own_domain(129) as env:
        probe = _Probe()
        procs: dict[str, subprocess.Popen] = {}
        logs = {name: tmp / f"{name}.log" for name in ("sqgan_encoder", "camera_source")}
        try:
            for name, log in logs.items():
                procs[name] = start_process(commands[name], env, log)
            yield probe, procs, logs
        finally:
            probe.close()
            for proc in procs.values():
                stop_process(proc)


def _wait_for_log(path: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def test_encoder_idles_without_subscribers_and_a_new_one_gets_intra(audience_graph) -> None:
    from sqgan_ros.bitstream import FrameType, peek_header

    intra, inter = int(FrameType.INTRA), int(FrameType.INTER)
    probe, procs, logs = audience_graph
    log = logs["sqgan_encoder"]
    assert _wait_for_log(log, "camera frames are skipped", 90.0), log.read_text()[-3000:]
    # a few more camera frames while nobody listens: none is encoded (the encoder's stats topic,
    # reliable and here published for every encoded frame, stays silent)
    with probe.lock:
        seen = len(probe.camera)
    assert probe.wait_for(lambda: len(probe.camera) >= seen + 8, timeout=30.0), "camera_source stopped"
    with probe.lock:
        assert probe.stats == [], "the encoder encoded frames nobody subscribed to"

    probe.subscribe_frames("first")
    assert probe.wait_for(lambda: len(probe.stats) >= 10 and len(probe.frames["first"]) >= 3, timeout=60.0), \
        log.read_text()[-3000:]
    assert _wait_for_log(log, "encoding resumed", 5.0), log.read_text()[-3000:]
    with probe.lock:
        types = [int(m.frame_type) for m in probe.stats]
    lead = len(types) - len(list(itertools.dropwhile(lambda t: t == intra, types)))
    # the resumed stream opens with its INTRA frames (two, more if the matched event came late),
    # then only INTER: no acknowledgements, the periodic INTRA is 1000 frames away
    assert 1 <= lead <= 4 and set(types[lead:]) == {inter}, types

    with probe.lock:
        before = len(probe.stats)
    probe.subscribe_frames("second")
    assert probe.wait_for(lambda: len(probe.frames["second"]) >= 6 and len(probe.stats) >= before + 8,
                          timeout=60.0), log.read_text()[-3000:]
    with probe.lock:
        after = [int(m.frame_type) for m in probe.stats[before:]]
        second = [int(peek_header(bytes(m.payload)).frame_type) for _, m in probe.frames["second"]]
    assert intra in after, f"no INTRA frame after a subscriber joined: {after}"
    assert intra in second, f"the late subscriber received no INTRA frame: {second}"
    assert procs["sqgan_encoder"].poll() is None


def test_frame_publisher_qos_is_overridable(audience_graph) -> None:
    from rclpy.qos import ReliabilityPolicy

    probe, procs, logs = audience_graph
    assert _wait_for_log(logs["sqgan_encoder"], "model ", 90.0), logs["sqgan_encoder"].read_text()[-3000:]
    deadline = time.monotonic() + 20.0
    infos = []
    while time.monotonic() < deadline and not infos:
        infos = probe.node.get_publishers_info_by_topic(FRAME_TOPIC)
        time.sleep(0.1)
    assert len(infos) == 1, infos
    # the node's default for the thin link is best effort; the command line asked for reliable
    assert infos[0].qos_profile.reliability == ReliabilityPolicy.RELIABLE
