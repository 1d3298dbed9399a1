"""``sqgan_decoder``: SemanticFrame -> reconstructed Image (operator side of the teleop link).

::

    SemanticFrame (best effort, taken serialized: its size is what the link carried)
        --> DecoderSession: model id, header screened by the API, decode (INTRA on its own,
            INTER against an acknowledged reference), output at camera or model size
        --> Image rgb8 (reliable; camera header)      --> colourised semantic map rgb8
        --> CameraInfo (the encoder's latched republish, scaled to the output size)
        --> FrameAck (what this decoder holds: best effort, at most one per ack_period_s)
        --> CodecStats (link and payload kbit/s, frame id and type, latency, ...; operator side)

A lost or refused frame costs that frame (an INTER frame whose reference was lost waits for the
next decodable one; the encoder resyncs when the acknowledgements go stale). Refusals are logged
at most once per second. The node declares parameters, wires topics and converts messages; the
per-frame policy is :class:`~sqgan_ros.sessions.DecoderSession` (plain Python, tested without DDS).
Run ``ros2 run sqgan_ros decoder_node --help`` for the parameters.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image

from sqgan_ros.labels import colourise
from sqgan_ros.ros import qos
from sqgan_ros.ros.camera_info import camera_info_for
from sqgan_ros.ros.cause_log import CauseLog
from sqgan_ros.ros.image_conversion import numpy_to_image
from sqgan_ros.ros.node_main import run_node
from sqgan_ros.ros.parameters import DECODER_NODE_NAME, declare_parameters, decoder_specs, format_help, make_on_set_callback
from sqgan_ros.sessions import Decoded, DecoderSession, DecoderSettings, ModelSettings

__all__ = ["DecoderNode", "main"]

_WARN_PERIOD_S = 1.0


class DecoderNode(Node):
    """The operator-side node.

    Raises (from the constructor):
        ValueError / FileNotFoundError / ModelFileError: bad parameters or model file.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DECODER_NODE_NAME, allow_undeclared_parameters=True, **kwargs)
        self._specs = decoder_specs()
        v = self._values = declare_parameters(self, self._specs)
        self.session = DecoderSession.open(ModelSettings.from_values(v), DecoderSettings.from_values(v),
                                           clock=lambda: self.get_clock().now().nanoseconds * 1e-9)
        self.add_on_set_parameters_callback(make_on_set_callback(
            self._specs, self.session.update, DECODER_NODE_NAME))
        self._camera_info: CameraInfo | None = None
        self._warn = CauseLog(self.get_logger(), _WARN_PERIOD_S)

        from sqgan_ros.msg import CodecStats, FrameAck, SemanticFrame
        self._frame_cls, self._stats_cls, self._ack_cls = SemanticFrame, CodecStats, FrameAck
        self._image_pub = self.create_publisher(Image, str(v["image_topic"]), qos.reliable(2),
                                                 qos_overriding_options=qos.overridable_qos())
        self._semantic_pub = self.create_publisher(Image, str(v["semantic_topic"]), qos.reliable(2),
                                                    qos_overriding_options=qos.overridable_qos())
        self._info_pub = self.create_publisher(CameraInfo, str(v["camera_info_topic"]), qos.reliable(2))
        self._stats_pub = self.create_publisher(CodecStats, str(v["stats_topic"]), 10)
        # Acks are cumulative: best effort (no heartbeats, no acknacks), coalesced by the session;
        # a timer sends the one kept back when no frame arrives.
        self._ack_pub = self.create_publisher(FrameAck, str(v["ack_topic"]), qos.link(1))
        self._ack_header: Any = None
        period = self.session.settings.ack_period_s
        self.create_timer(max(period, 0.05), self._flush_ack)
        if str(v["encoder_stats_topic"]):  # opt-in: the encoder's summary then crosses the link
            self.create_subscription(CodecStats, str(v["encoder_stats_topic"]), self._on_encoder_stats,
                                     qos.link(1))
        self.create_subscription(CameraInfo, str(v["camera_info_in_topic"]), self._on_info, qos.latched())
        self.create_subscription(SemanticFrame, str(v["frame_topic"]), self._on_frame,
                                 qos.link(int(v["qos_depth"])), qos_overriding_options=qos.overridable_qos(),
                                 raw=True)
        s, codec = self.session, self.session.codec
        self.get_logger().info(
            f"model {s.model_path.name} (id {s.model_id}) on {codec.device} "
            f"({str(codec.dtype).removeprefix('torch.')}) ({s.torch_threads} torch threads); "
            f"decodes INTRA and INTER (video) frames; output at {s.settings.output_size} size; "
            f"{self.resolve_topic_name(str(v['frame_topic']))} -> {self._image_pub.topic_name}")

    def _on_info(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    def _on_encoder_stats(self, msg: Any) -> None:
        if msg.side == msg.SIDE_ENCODER:
            self.session.encoder_stats(int(msg.frame_id), float(msg.encode_ms))

    def _on_frame(self, raw: bytes) -> None:
        try:
            msg = deserialize_message(raw, self._frame_cls)
        except Exception as exc:  # a message that is not a SemanticFrame's CDR: this one only
            self._warn.warn("cdr", f"undecodable message on the frame topic: {exc}")
            return
        stamp = msg.header.stamp
        result = self.session.receive(bytes(msg.payload), message_bytes=len(raw),
                                      stamp=stamp.sec + 1e-9 * stamp.nanosec)
        self._ack_header = msg.header
        self._publish_ack(self.session.ack_due(result.ack))  # first: the encoder may predict from it
        if not isinstance(result, Decoded):
            self._warn.warn(result.cause, result.message)
            return
        if result.notice:
            self._warn.warn("ids", result.notice)
        self._image_pub.publish(numpy_to_image(result.image, "rgb8", msg.header))
        self._semantic_pub.publish(numpy_to_image(colourise(result.labels), "rgb8", msg.header))
        self._info_pub.publish(camera_info_for(self._camera_info, msg.header, result.size))
        stats = self._stats_cls(header=msg.header, side=self._stats_cls.SIDE_DECODER,
                                model_id=self.session.model_id)
        for key, value in asdict(result.stats).items():
            setattr(stats, key, value)
        self._stats_pub.publish(stats)

    def _flush_ack(self) -> None:
        self._publish_ack(self.session.ack_pending())

    def _publish_ack(self, ack: Any) -> None:
        """Tell the encoder which frame this decoder last decoded (nothing before the first)."""
        if ack is None or self._ack_header is None:
            return
        out = self._ack_cls()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id = self._ack_header.frame_id
        out.last_decoded_frame_id = ack.last_decoded_frame_id
        out.semantic_reference_id = ack.semantic_reference_id
        out.image_reference_id = ack.image_reference_id
        self._ack_pub.publish(out)

    @property
    def frame_counts(self) -> dict[str, int]:
        """Link statistics since start (see ``DecoderSession.frame_counts``)."""
        return self.session.frame_counts


def main(args: list[str] | None = None) -> int:
    """Entry point of ``decoder_node``: returns the process exit status."""
    return run_node(DecoderNode, DECODER_NODE_NAME, lambda: format_help(
        "decoder_node", DECODER_NODE_NAME, "Operator side of the SQ-GAN teleop link: SemanticFrame "
        "-> reconstructed Image, semantic map, camera info, CodecStats, FrameAck.", decoder_specs()), args)


if __name__ == "__main__":
    sys.exit(main())
