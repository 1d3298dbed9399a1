"""Bad camera images into one real encoder process over DDS.

Every supported encoding, at odd sizes, is encoded; unsupported encodings, zero sizes, a too
small ``step``, short data, images over ``max_input_pixels`` and float images with NaN/inf are
refused with the encoding named, logged once per cause (the warning throttle), counted in the
encoder's CodecStats ``frames_rejected``, and the next good frame is served as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_probe import ProbeNode, start_process, stop_process

from sqgan_ros.bitstream import peek_header

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]
MAX_INPUT_PIXELS = 100_000


def _image(encoding: str, height: int, width: int, step: int, data: bytes, stamp_ns: int) -> Any:
    from sensor_msgs.msg import Image

    msg = Image()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = "camera"
    msg.encoding, msg.height, msg.width, msg.step = encoding, height, width, step
    msg.data = data
    return msg


def _packed(array: np.ndarray) -> tuple[int, int, int, bytes]:
    h, w = array.shape[:2]
    return h, w, array.nbytes // h, array.tobytes()


GOOD: list[tuple[str, np.ndarray]] = [
    ("rgb8", np.full((1, 1, 3), 200, np.uint8)),
    ("bgr8", np.zeros((3, 5, 3), np.uint8)),
    ("rgba8", np.full((17, 33, 4), 7, np.uint8)),
    ("bgra8", np.zeros((40, 30, 4), np.uint8)),
    ("mono8", np.arange(9 * 11, dtype=np.uint8).reshape(9, 11)),
    ("mono16", np.full((31, 64), 40000, np.uint16)),
    ("8UC1", np.zeros((2, 2), np.uint8)),
    ("8UC3", np.zeros((64, 128, 3), np.uint8)),
    ("16UC1", np.zeros((5, 7), np.uint16)),
]


def _bad_cases() -> list[tuple[str, str, tuple[str, int, int, int, bytes]]]:
    """``(words that identify its log line, what, (encoding, h, w, step, data))``."""
    nan = np.full((8, 8), np.nan, np.float32)
    nan[0, 0] = np.inf
    cases = [
        ("unsupported image encoding", f"unsupported {e!r}", (e, 4, 4, 4 * n, bytes(4 * 4 * n)))
        for e, n in (("bayer_rggb8", 1), ("yuv422", 2), ("nv21", 1), ("32FC3", 12), ("64FC1", 8),
                     ("16SC1", 2), ("", 3))
    ]
    cases += [
        ("cannot convert", "float image with NaN/inf", ("32FC1",) + _packed(nan)),
        ("zero size", "zero height", ("rgb8", 0, 10, 30, b"")),
        ("zero size", "zero width", ("mono8", 10, 0, 0, b"")),
        ("is smaller than", "step too small", ("rgb8", 4, 4, 11, bytes(44))),
        ("is not a multiple", "odd step for 16 bit", ("mono16", 4, 4, 9, bytes(36))),
        ("fewer than", "data shorter than declared", ("rgb8", 8, 8, 24, bytes(24 * 7))),
        ("max_input_pixels", "over max_input_pixels", ("rgb8", 400, 300, 900, bytes(900 * 400))),
        ("exceeds max_input_pixels", "sides beyond the bitstream", ("bgr8", 20000, 20000, 60000, b"")),
    ]
    return cases


class _Probe(ProbeNode):
    def __init__(self) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        from sqgan_ros.msg import CodecStats, SemanticFrame

        super().__init__("robustness_image_probe")
        self.frames: list[Any] = []
        self.stats: list[Any] = []
        best = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.node.create_subscription(SemanticFrame, "/robot/sqgan/frame", self.append_to(self.frames), best)
        self.node.create_subscription(CodecStats, "/robot/sqgan/encoder_stats", self.append_to(self.stats), 50)
        self.pub = self.node.create_publisher(
            Image, "/robot/camera/image_raw", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.start()

    def wait_for(self, predicate: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
        return super().wait_for(predicate, timeout, poll)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory, tiny_model_file: Path):
    from conftest import own_domain, ros_problem

    if ros_problem() is not None:
        pytest.skip(ros_problem())
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, node_command

    tmp = tmp_path_factory.mktemp("robust_images")
    model = tiny_model_file
    plan = next(p for p in graph_plan(GraphOptions(source="", model=str(model), device="cpu",
                                                   segmenter="none", torch_threads=1))
                if p.name == "sqgan_encoder")
    cmd = node_command(plan, [REPO / "config" / "teleop.yaml"])
    cmd += ["-p", "qos_depth:=50", "-p", f"max_input_pixels:={MAX_INPUT_PIXELS}", "-p", "stats_period_s:=0.0"]
    with own_domain(57) as env:
        log = tmp / "encoder.log"
        proc = start_process(cmd, env, log)
        probe = _Probe()
        try:
            yield probe, proc, log
        finally:
            probe.close()
            stop_process(proc)


def _send_good(probe: _Probe, encoding: str, array: np.ndarray, stamp_ns: int,
               timeout: float = 120.0) -> Any:
    msg = _image(encoding, *_packed(array), stamp_ns)
    key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # re-send until the encoder has matched the subscription
        probe.pub.publish(msg)
        if probe.wait_for(lambda: any((f.header.stamp.sec, f.header.stamp.nanosec) == key
                                      for f in probe.frames), 2.0):
            with probe.lock:
                return next(f for f in probe.frames
                            if (f.header.stamp.sec, f.header.stamp.nanosec) == key)
    raise AssertionError(f"{encoding} {array.shape}: no SemanticFrame within {timeout} s")


def test_supported_encodings_at_odd_sizes_are_encoded(encoder) -> None:
    probe, proc, log = encoder
    for i, (encoding, array) in enumerate(GOOD):
        frame = _send_good(probe, encoding, array, stamp_ns=1_000_000_000 + i)
        assert peek_header(bytes(frame.payload)).image_size == array.shape[:2], encoding
        assert len(frame.payload) > 0
    assert proc.poll() is None, log.read_text()[-2000:]


def test_bad_images_are_refused_logged_once_counted_and_the_stream_goes_on(encoder) -> None:
    probe, proc, log = encoder
    with probe.lock:
        rejected_before = max((int(s.frames_rejected) for s in probe.stats), default=0)
    sent = 0
    for n, (_, what, fields) in enumerate(_bad_cases()):
        for repeat in range(4):  # repeats within the 5 s throttle period: one log line per cause
            probe.pub.publish(_image(*fields, stamp_ns=2_000_000_000 + 10 * n + repeat))
            sent += 1
            time.sleep(0.01)
        good = _send_good(probe, "rgb8", np.full((24, 40, 3), n, np.uint8),
                          stamp_ns=3_000_000_000 + n)
        assert peek_header(bytes(good.payload)).image_size[0] == 24, what
    assert proc.poll() is None, log.read_text()[-3000:]
    assert probe.wait_for(lambda: any(int(s.frames_rejected) - rejected_before == sent
                                      for s in probe.stats), 10.0), (
        f"frames_rejected never reached {sent}: "
        f"{[int(s.frames_rejected) for s in probe.stats][-5:]}")
    text = log.read_text()
    for words, what, fields in _bad_cases():
        encoding = fields[0]
        lines = [line for line in text.splitlines()
                 if "camera image refused" in line and f"({encoding!r}," in line and words in line]
        assert len(lines) == 1, (what, lines)  # 4 refusals, one log line (throttled per cause)
