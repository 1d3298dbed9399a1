"""Generated sqgan_ros messages over real DDS between two processes (byte-exact payload)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.ros

PUBLISHER = textwrap.dedent("""
    import sys, time
    import rclpy
    from sqgan_ros.msg import SemanticFrame

    payload = bytes.fromhex(sys.argv[1])
    rclpy.init()
    node = rclpy.create_node("test_semantic_frame_publisher")
    pub = node.create_publisher(SemanticFrame, "test_semantic_frames", 10)
    msg = SemanticFrame()
    msg.header.frame_id = "camera_optical"
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1234, 567890
    msg.model_id = "0123456789abcdef"
    msg.image_height, msg.image_width = 480, 640
    msg.model_height, msg.model_width = 256, 512
    msg.semantic_keep_ratio, msg.image_keep_ratio = 0.25, 0.5
    msg.frame_type = SemanticFrame.INTER
    msg.frame_id = 4294967295
    msg.payload = payload
    deadline = time.monotonic() + 30.0
    try:
        while time.monotonic() < deadline:
            pub.publish(msg)
            time.sleep(0.05)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
""")


def test_semantic_frame_crosses_dds_byte_exact(ros_subprocess_env: dict[str, str]) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from sqgan_ros.msg import SemanticFrame

    payload = os.urandom(5000) + b"\x00\x00\xff"  # zeros and 0xff included, not a text string
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, payload.hex()], env=ros_subprocess_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = rclpy.Context()
    rclpy.init(context=context)
    received: list[SemanticFrame] = []
    try:
        node = rclpy.create_node("test_semantic_frame_subscriber", context=context)
        node.create_subscription(SemanticFrame, "test_semantic_frames", received.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 30.0
        while not received and time.monotonic() < deadline and publisher.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
        publisher.terminate()
        output = publisher.communicate(timeout=10)[0].decode(errors="replace")
    assert received, f"no SemanticFrame received within 30 s; publisher output:\n{output}"
    msg = received[0]
    assert bytes(msg.payload) == payload
    assert msg.header.frame_id == "camera_optical"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1234, 567890)
    assert msg.model_id == "0123456789abcdef"
    assert (msg.image_height, msg.image_width, msg.model_height, msg.model_width) == (480, 640, 256, 512)
    assert (msg.semantic_keep_ratio, msg.image_keep_ratio) == (0.25, 0.5)
    assert msg.frame_type == SemanticFrame.INTER == 1 and SemanticFrame.INTRA == 0
    assert msg.frame_id == 2**32 - 1


def test_stats_and_ack_messages_have_the_documented_fields() -> None:
    from sqgan_ros.msg import CodecStats, FrameAck

    stats = CodecStats()
    for name in ("payload_bits", "message_bits", "bpp", "payload_kbps", "encode_ms", "decode_ms", "latency_ms",
                 "semantic_kept", "image_kept", "frames_dropped", "frames_lost", "frames_rejected"):
        assert hasattr(stats, name), name
    stats.frames_total = 2**64 - 1  # 64-bit counters
    assert (CodecStats.SIDE_ENCODER, CodecStats.SIDE_DECODER) == (0, 1)
    ack = FrameAck(last_decoded_frame_id=7, semantic_reference_id=5, image_reference_id=6)
    assert (ack.last_decoded_frame_id, ack.semantic_reference_id, ack.image_reference_id) == (7, 5, 6)
