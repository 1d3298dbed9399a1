"""The size of a serialised ``sqgan_ros/SemanticFrame``: what the message adds to the payload.

One place for the message's CDR layout (msg/SemanticFrame.msg). :func:`semantic_frame_overhead`
measures with rclpy's real serialiser when rclpy and the built messages are importable and
computes from the layout otherwise (a pip install without ROS); a test checks that both agree.
Plain Python: rclpy is imported only inside the function, so the library imports without it.
"""

from __future__ import annotations

__all__ = ["cdr_overhead", "semantic_frame_overhead"]


# CDR layout of sqgan_ros/msg/SemanticFrame.msg after the 4-byte encapsulation header:
# header (int32 sec, uint32 nanosec, string frame_id), string model_id, 4x uint16, 2x float32,
# uint8 frame_type, uint32 frame_id, uint8[] payload. Alignment is relative to the data start.
def cdr_overhead(payload_len: int, header_frame_id: str, model_id: str) -> int:
    """Bytes a serialised ``SemanticFrame`` adds to a ``payload_len``-byte payload, from the CDR layout.

    Args:
        payload_len: payload bytes (only its alignment could matter; the payload comes last).
        header_frame_id: the camera frame's ``header.frame_id``.
        model_id: the message's model id string.
    """
    pos = 0

    def align(n: int) -> None:
        nonlocal pos
        pos += (-pos) % n

    def string(s: str) -> None:
        nonlocal pos
        align(4)
        pos += 4 + len(s.encode("utf-8")) + 1

    align(4)
    pos += 8                 # stamp
    string(header_frame_id)
    string(model_id)
    align(2)
    pos += 8                 # image_height, image_width, model_height, model_width
    align(4)
    pos += 8                 # semantic_keep_ratio, image_keep_ratio
    pos += 1                 # frame_type
    align(4)
    pos += 4                 # frame_id
    align(4)
    pos += 4 + payload_len   # sequence length + bytes
    return 4 + pos - payload_len


def semantic_frame_overhead(payload: bytes, header_frame_id: str = "camera",
                            model_id: str = "0" * 16) -> tuple[int, str]:
    """Bytes a serialised ``sqgan_ros/SemanticFrame`` adds to ``payload``.

    Args:
        payload: the SQ-GAN frame.
        header_frame_id: the camera frame's ``header.frame_id`` (its length counts).
        model_id: short model id string (16 hex characters).

    Returns:
        ``(overhead bytes, method)``: method ``"rclpy serialize_message"`` when the built message
        and rclpy are importable, else ``"CDR layout (computed)"``.
    """
    try:
        from rclpy.serialization import serialize_message

        from sqgan_ros.msg import SemanticFrame
    except ImportError:
        return cdr_overhead(len(payload), header_frame_id, model_id), "CDR layout (computed)"
    msg = SemanticFrame()
    msg.header.frame_id = header_frame_id
    msg.model_id = model_id
    msg.payload = bytes(payload)
    return len(serialize_message(msg)) - len(payload), "rclpy serialize_message"
