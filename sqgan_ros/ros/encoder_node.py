"""``sqgan_encoder``: camera Image -> SemanticFrame (robot side of the SQ-GAN teleop link).

::

    camera Image (sensor QoS) --> convert (rgb8) --+--> EncoderSession: stamp matching, newest wins,
    labels Image (segmenter=topic, by stamp) ------+    pause/resume, INTRA policy, rate control
    FrameAck (video, best effort, coalesced) ----------> acknowledge         |
    frame publisher matched event --------------------> subscriber_matched    v
                     worker thread: rate control (may skip) -> encode -> SemanticFrame{header, payload}
                     CodecStats: a summary at most every stats_period_s (not per frame)
    CameraInfo --> republished latched, on change (and every camera_info_period_s if > 0)

target_kbps is a link budget: the session's rate control counts each frame's link bytes
(sqgan_ros.link_cost) and this node reserves what the stats summary (per subscriber) and the
camera info cost on the link.

The node declares parameters, wires topics and converts messages; the per-frame policy is
:class:`~sqgan_ros.sessions.EncoderSession` (plain Python, tested without DDS).
Run ``ros2 run sqgan_ros encoder_node --help`` for the parameters.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from rclpy.node import Node
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest

from sqgan_ros.link_cost import periodic_kbps
from sqgan_ros.ros import qos
from sqgan_ros.ros.cause_log import CauseLog
from sqgan_ros.ros.image_conversion import ImageConversionError, image_to_numpy
from sqgan_ros.ros.node_main import run_node
from sqgan_ros.ros.parameters import ENCODER_NODE_NAME, declare_parameters, encoder_specs, format_help, make_on_set_callback
from sqgan_ros.ros.presets import describe_weights
from sqgan_ros.sessions import CameraFrame, EncoderSession, EncoderSettings, ModelSettings
from sqgan_ros.sessions.stamps import stamp_key

__all__ = ["EncoderNode", "main"]

_MAX_ENCODING_CHARS = 32
_WARN_PERIOD_S = 5.0


class EncoderNode(Node):
    """The robot-side node. Construct, then spin; ``close()`` stops the worker.

    Raises (from the constructor):
        ValueError / FileNotFoundError / ModelFileError: bad parameters or model file.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ENCODER_NODE_NAME, allow_undeclared_parameters=True, **kwargs)
        self._specs = encoder_specs()
        v = self._values = declare_parameters(self, self._specs)
        log = self.get_logger()
        self.session = EncoderSession.open(ModelSettings.from_values(v), EncoderSettings.from_values(v),
                                           log=log.info)
        self.add_on_set_parameters_callback(make_on_set_callback(
            self._specs, self._on_params, ENCODER_NODE_NAME))
        self._warn = CauseLog(log, _WARN_PERIOD_S)
        self._info_period = float(v["camera_info_period_s"])
        self._last_info: CameraInfo | None = None
        self._last_info_sent = -math.inf
        self._info_bytes = 0
        self._stats_bytes = 0

        from rclpy.event_handler import PublisherEventCallbacks

        from sqgan_ros.msg import CodecStats, FrameAck, SemanticFrame
        self._frame_cls, self._stats_cls = SemanticFrame, CodecStats
        self._frame_pub = self.create_publisher(
            SemanticFrame, str(v["frame_topic"]), qos.link(), qos_overriding_options=qos.overridable_qos(),
            event_callbacks=PublisherEventCallbacks(matched=self._on_matched))
        self._stats_pub = self.create_publisher(CodecStats, str(v["stats_topic"]), 10)
        self._info_pub = self.create_publisher(CameraInfo, str(v["camera_info_out_topic"]), qos.latched())
        sensor = qos.sensor(int(v["qos_depth"]))
        self.create_subscription(Image, str(v["image_topic"]), self._on_image, sensor,
                                 qos_overriding_options=qos.overridable_qos())
        self.create_subscription(CameraInfo, str(v["camera_info_topic"]), self._on_info, sensor)
        if self.session.video:
            # best effort: acks are cumulative, a lost one is replaced by the next (no heartbeats)
            self.create_subscription(FrameAck, str(v["ack_topic"]), self._on_ack, qos.link(1))
        if self.session.labels_from_topic:
            self.create_subscription(Image, str(v["labels_topic"]), self._on_labels, sensor)
        self.create_subscription(RegionOfInterest, str(v["roi_topic"]), self._on_roi, qos.reliable(1))

        self._worker = threading.Thread(target=self._work, name="sqgan_encoder", daemon=True)
        self._worker.start()
        s, codec = self.session, self.session.codec
        log.info(f"model {s.model_path.name} (id {s.model_id}) on {codec.device} "
                 f"({str(codec.dtype).removeprefix('torch.')}) ({s.torch_threads} torch threads); "
                 f"segmenter {v['segmenter']}; {s.mode()}; class weights: "
                 f"{describe_weights(s.settings.class_weights)}; {v['image_topic']} -> {self._frame_pub.topic_name}")

    # ------------------------------------------------------------------ inputs
    def _on_params(self, changes: dict[str, Any]) -> None:
        self.session.update(changes)  # raises ValueError (the change is refused) before any effect
        if "camera_info_period_s" in changes:
            self._info_period = float(changes["camera_info_period_s"])
        self.get_logger().info("parameters updated: " + ", ".join(
            f"{k}={val}" for k, val in sorted(changes.items())))

    def _on_matched(self, info: Any) -> None:
        # total_count_change counts new matches even when another subscriber left at the same
        # moment (a decoder restarted)
        if int(info.total_count_change) > 0:
            self.session.subscriber_matched()

    def _on_roi(self, msg: RegionOfInterest) -> None:
        # x/y offsets and size in camera pixels; width or height 0 clears (do_rectify is ignored:
        # the encoder sees the image it is given)
        try:
            self.session.set_roi((msg.x_offset, msg.y_offset, msg.width, msg.height))
        except ValueError as exc:
            self._warn.warn("roi", f"region of interest refused: {exc}")

    def _on_ack(self, msg: Any) -> None:
        self.session.acknowledge(int(msg.last_decoded_frame_id))

    def _on_info(self, msg: CameraInfo) -> None:
        now = time.monotonic()
        last = self._last_info
        changed = (last is None or last.width != msg.width or last.height != msg.height
                   or list(last.k) != list(msg.k))
        if changed or (self._info_period > 0 and now - self._last_info_sent >= self._info_period):
            self._info_pub.publish(msg)
            self._last_info_sent = now
            self._info_bytes = len(serialize_message(msg))
        self._last_info = msg

    def _on_image(self, msg: Image) -> None:
        if not self.session.admit(self._frame_pub.get_subscription_count()):
            return
        rgb = self._convert(msg, "rgb8", "camera image")
        if rgb is not None:
            stamp = msg.header.stamp
            frame = CameraFrame(msg.header, stamp.sec + 1e-9 * stamp.nanosec, rgb, None, time.perf_counter())
            self.session.add_image(frame, stamp_key(stamp.sec, stamp.nanosec))

    def _on_labels(self, msg: Image) -> None:
        labels = self._convert(msg, "mono8", "label image")
        if labels is not None:
            self.session.add_labels(labels, stamp_key(msg.header.stamp.sec, msg.header.stamp.nanosec))

    def _convert(self, msg: Image, encoding: str, what: str) -> Any:
        """``msg`` as ``encoding``, or None after the session counted why not (logged, throttled)."""
        shown = str(msg.encoding)[:_MAX_ENCODING_CHARS]  # the publisher chooses it: bound it
        prefix = f"{what} refused ({shown!r}, {msg.width}x{msg.height}): "
        problem = self.session.screen_image(int(msg.height), int(msg.width))
        if problem is None:
            try:
                return image_to_numpy(msg, encoding)
            except ImageConversionError as exc:
                problem = exc.cause, str(exc)
            except (ValueError, TypeError) as exc:
                problem = type(exc).__name__, str(exc)
        cause, reason = f"{what}:{problem[0]}:{shown}", problem[1]
        self.session.reject(cause, reason)
        self._warn.warn(cause, prefix + reason)
        return None

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while not self.session.closed:
            frame = self.session.next_frame(timeout=0.5)
            if frame is None:
                continue
            try:
                self._send(self.session.encode(frame))
            except Exception as exc:  # one bad frame must not stop the stream
                if not self.context.ok():  # shutting down: publishers are gone
                    return
                cause = f"encode:{type(exc).__name__}"
                self._warn.warn(cause, self.session.reject(
                    cause, f"frame not encoded: {type(exc).__name__}: {exc}"))

    def _send(self, encoded: Any) -> None:
        if encoded is None:  # skipped by the rate control (budget too thin for the camera's rate)
            return
        msg = self._frame_cls()
        msg.header = encoded.header
        msg.payload = encoded.payload  # its header says model id, frame id and type, sizes, grids
        self.session.sent(encoded, len(serialize_message(msg)))
        if not self.context.ok():
            return
        self._frame_pub.publish(msg)
        summary = self.session.summary()
        if summary is not None:
            stats = self._stats_cls(header=encoded.header, side=self._stats_cls.SIDE_ENCODER,
                                    model_id=self.session.model_id)
            for key, value in asdict(summary).items():
                setattr(stats, key, value)
            self._stats_pub.publish(stats)
            self._stats_bytes = len(serialize_message(stats))
        # a robot-local stats subscriber is counted too (it costs no link bytes): the safe side
        self.session.set_link_reserve(
            periodic_kbps(self._stats_bytes, self.session.settings.stats_period_s,
                          readers=self._stats_pub.get_subscription_count())
            + periodic_kbps(self._info_bytes, self._info_period))

    @property
    def rejected_by_cause(self) -> dict[str, int]:
        """Refused inputs since start by cause (``"<what>:<cause>:<encoding>"``)."""
        return self.session.rejected_by_cause

    @property
    def frames_idle(self) -> int:
        """Camera frames skipped since start because nothing subscribed to the frame topic."""
        return self.session.frames_idle

    def close(self) -> None:
        """Stop the worker thread (idempotent)."""
        self.session.close()
        if self._worker.is_alive():
            self._worker.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``encoder_node``: returns the process exit status."""
    return run_node(EncoderNode, ENCODER_NODE_NAME, lambda: format_help(
        "encoder_node", ENCODER_NODE_NAME, "Robot side of the SQ-GAN teleop link: camera Image -> "
        "SemanticFrame (+ CodecStats, camera info).", encoder_specs()), args)


if __name__ == "__main__":
    sys.exit(main())
