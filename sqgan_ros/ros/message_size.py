"""The size of a serialised ``sqgan_ros/SemanticFrame``: what the message adds to the payload.

One place for the message's CDR layout (msg/SemanticFrame.msg). :func:`semantic_frame_overhead`
measures with rclpy's real serialiser when rclpy and the built messages are importable and
computes from the layout otherwise (a pip install without ROS); a test checks that both agree.
Plain Python: rclpy is imported only inside the function, so the library imports without it.
"""

from __future__ import annotations

__all__ = ["cdr_overhead", "semantic_frame_overhead"]


# CDR layout of sqgan_ros/msg/SemanticFrame.msg after the 4-byte encapsulation header:
# header (int32 sec, uint32 nanosec, string frame_id), uint8[] payload. Alignment is relative to
# the data start.
def cdr_overhead(payload_len: int, header_frame_id: str) -> int:
    """Bytes a serialised ``SemanticFrame`` adds to a ``payload_len``-byte payload, from the CDR layout.

    Args:
        payload_len: payload bytes (only its alignment could matter; the payload comes last).
        header_frame_id: the camera frame's ``header.frame_id``.
    """
    pos = 8                                                # stamp
    pos += 4 + len(header_frame_id.encode("utf-8")) + 1    # frame_id string with its NUL
    pos += (-pos) % 4                                      # the sequence length is 4-aligned
    pos += 4 + payload_len                                 # sequence length + bytes
    return 4 + pos - payload_len


def semantic_frame_overhead(payload: bytes, header_frame_id: str = "camera") -> tuple[int, str]:
    """Bytes a serialised ``sqgan_ros/SemanticFrame`` adds to ``payload``.

    Args:
        payload: the SQ-GAN frame.
        header_frame_id: the camera frame's ``header.frame_id`` (its length counts).

    Returns:
        ``(overhead bytes, method)``: method ``"rclpy serialize_message"`` when the built message
        and rclpy are importable, else ``"CDR layout (computed)"``.
    """
    try:
        from rclpy.serialization import serialize_message

        from sqgan_ros.msg import SemanticFrame
    except ImportError:
        return cdr_overhead(len(payload), header_frame_id), "CDR layout (computed)"
    msg = SemanticFrame()
    msg.header.frame_id = header_frame_id
    msg.payload = bytes(payload)
    return len(serialize_message(msg)) - len(payload), "rclpy serialize_message"
