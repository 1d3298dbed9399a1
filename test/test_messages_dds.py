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



def test_semantic_frame_is_a_header_and_the_payload() -> None:
    # issue 15: the payload header is the one source of sizes, keep ratios, type and model id;
    # the message's own fields cost 28 B of CDR with frame_id "camera" (target <= 30 B)
    from rclpy.serialization import serialize_message

    from sqgan_ros.msg import SemanticFrame

    assert list(SemanticFrame.get_fields_and_field_types()) == ["header", "payload"]
    msg = SemanticFrame()
    msg.header.frame_id = "camera"
    msg.payload = bytes(333)
    assert len(serialize_message(msg)) - 333 == 28


def test_stats_and_ack_messages_have_the_documented_fields() -> None:
    from sqgan_ros.msg import CodecStats, FrameAck

    stats = CodecStats()
    for name in ("payload_bits", "message_bits", "link_bits", "bpp", "link_kbps", "payload_kbps", "encode_ms",
                 "decode_ms", "latency_ms", "semantic_kept", "image_kept", "frames_dropped", "frames_lost",
                 "frames_rejected"):
        assert hasattr(stats, name), name
    for gone in ("header_bits", "semantic_bits", "image_bits", "message_kbps"):  # were always 0 / renamed
        assert not hasattr(stats, gone), gone
    stats.frames_total = 2**64 - 1  # 64-bit counters
    assert (CodecStats.SIDE_ENCODER, CodecStats.SIDE_DECODER) == (0, 1)
    ack = FrameAck(last_decoded_frame_id=7, semantic_reference_id=5, image_reference_id=6)
    assert (ack.last_decoded_frame_id, ack.semantic_reference_id, ack.image_reference_id) == (7, 5, 6)
