"""``sqgan_encoder``: camera Image -> SemanticFrame (robot side of the SQ-GAN teleop link).

::

    camera Image (sensor QoS) --> convert (rgb8) --+--> LatestSlot (newest wins) --> worker thread:
    labels Image (segmenter=topic, by stamp) ------+     segment -> rate control -> SemanticEncoder
                                                          -> SemanticFrame (+ CodecStats)
    CameraInfo --> republished latched, on change and every camera_info_period_s

The node only wires topics, parameters and the worker; segmentation, the codec and rate
control are library code (sqgan_ros.segmentation, sqgan_ros.api, sqgan_ros.rate_control).
Frames that arrive while the worker is busy replace the waiting one and are counted as dropped.
With ``encode_only_when_subscribed`` the node skips camera frames (counted, logged on each
pause and resume) while nothing subscribes to the frame topic; in video mode a newly matched
subscriber (and a resumed stream) gets the next two frames INTRA, so a late joiner has a full
picture at once.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image

from sqgan_ros.rate_control import RateControlConfig, RateController
from sqgan_ros.ros.image_conversion import ImageConversionError, image_to_numpy
from sqgan_ros.ros.node_utils import (
    LatestSlot,
    RateWindow,
    WarningThrottle,
    configure_torch_threads,
    image_size_problem,
    overridable_qos,
    resolve_model_path,
    spin_node_main,
    stamp_to_seconds,
)
from sqgan_ros.ros.parameters import ENCODER_NODE_NAME, class_weights_from, declare_parameters, encoder_specs, make_on_set_callback

__all__ = ["EncoderNode", "main"]

_UINT32 = 1 << 32
#: Distinct refusal causes counted (and throttled) separately; more are counted as "other".
_MAX_CAUSES = 64
_MAX_ENCODING_CHARS = 32
#: INTRA frames sent when a subscriber matches (or a paused stream resumes) in video mode.
_INTRA_FRAMES_FOR_NEW_SUBSCRIBERS = 2


@dataclass
class _Job:
    header: Any
    rgb: np.ndarray
    labels: np.ndarray | None
    received: float


class EncoderNode(Node):
    """The robot-side node. Construct, then spin; ``close()`` stops the worker.

    Raises (from the constructor):
        ValueError / FileNotFoundError / ModelFileError: bad parameters or model file.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ENCODER_NODE_NAME, **kwargs)
        self._specs = encoder_specs()
        self._values = declare_parameters(self, self._specs)
        self._lock = threading.Lock()
        self._rate: RateController | None = None
        self._apply_tunables(self._values)

        model_path = resolve_model_path(str(self._values["model_file"]))
        threads = configure_torch_threads(int(self._values["torch_threads"]))
        self._video = bool(self._values["video"])
        if self._video:  # torch: imported once the parameters are good
            from sqgan_ros.video import VideoConfig, VideoEncoder
            age = int(self._values["ack_timeout_frames"])
            self._encoder = VideoEncoder(model_path, VideoConfig(
                intra_interval=int(self._values["intra_interval"]),
                refresh_fraction=float(self._values["refresh_fraction"]),
                change_threshold=float(self._values["change_threshold"]),
                max_reference_age=age, history=max(32, age + 1)),
                device=str(self._values["device"]), precision=str(self._values["precision"]))
        else:
            from sqgan_ros.api import SemanticEncoder
            self._encoder = SemanticEncoder(model_path, device=str(self._values["device"]),
                                            precision=str(self._values["precision"]))
        self._model_id = self._encoder.loaded.model_id[:16]
        seg = str(self._values["segmenter"])
        self._labels_from_topic = seg.strip().lower() == "topic"
        self._segmenter = None
        if not self._labels_from_topic:
            from sqgan_ros.segmentation import make_segmenter
            self._segmenter = make_segmenter(seg, device=self._encoder.device,
                                             precision=str(self._values["precision"]))
        self.add_on_set_parameters_callback(make_on_set_callback(self._specs, self._on_params))

        self._warn = WarningThrottle(self.get_logger().warning, period_s=5.0)
        self._slot: LatestSlot[_Job] = LatestSlot()
        self._window = RateWindow(5.0)
        self._frame_id = 0
        self._frames_total = 0
        self._frames_rejected = 0
        self._rejected_by_cause: dict[str, int] = {}
        self._dropped_no_labels = 0
        self._pending: OrderedDict[int, tuple[Any, np.ndarray, float]] = OrderedDict()
        self._labels: OrderedDict[int, np.ndarray] = OrderedDict()
        self._last_info: CameraInfo | None = None
        self._last_info_sent = -math.inf
        self._frames_idle = 0           # skipped while nobody subscribed (encode_only_when_subscribed)
        self._idle_since_resume = 0
        self._paused = False
        self._intra_wanted = 0           # INTRA frames still owed to new subscribers (worker applies)

        from sqgan_ros.msg import CodecStats, SemanticFrame
        self._frame_cls, self._stats_cls = SemanticFrame, CodecStats
        v = self._values
        sensor = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(v["qos_depth"]),
                            reliability=qos_profile_sensor_data.reliability,
                            durability=qos_profile_sensor_data.durability)
        link = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                          reliability=ReliabilityPolicy.BEST_EFFORT)
        latched = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        from rclpy.event_handler import PublisherEventCallbacks
        self._frame_pub = self.create_publisher(SemanticFrame, str(v["frame_topic"]), link,
                                                 qos_overriding_options=overridable_qos(),
                                                 event_callbacks=PublisherEventCallbacks(matched=self._on_matched))
        self._stats_pub = self.create_publisher(CodecStats, str(v["stats_topic"]), 10)
        self._info_pub = self.create_publisher(CameraInfo, str(v["camera_info_out_topic"]), latched)
        self.create_subscription(Image, str(v["image_topic"]), self._on_image, sensor,
                                 qos_overriding_options=overridable_qos())
        self.create_subscription(CameraInfo, str(v["camera_info_topic"]), self._on_info, sensor)
        if self._video:
            from sqgan_ros.msg import FrameAck
            self.create_subscription(FrameAck, str(v["ack_topic"]), self._on_ack,
                                     QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        if self._labels_from_topic:
            self.create_subscription(Image, str(v["labels_topic"]), self._on_labels, sensor)

        self._worker = threading.Thread(target=self._work, name="sqgan_encoder", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"model {model_path.name} (id {self._model_id}) on {self._encoder.device} "
            f"({str(self._encoder.dtype).removeprefix('torch.')}) "
            f"({threads} torch threads); segmenter {seg}; "
            f"{v['image_topic']} -> {self._frame_pub.topic_name}")

    # ------------------------------------------------------------------ parameters
    def _apply_tunables(self, values: dict[str, Any]) -> None:
        """Store run-time parameters (called at start and from the on-set callback)."""
        with self._lock:
            merged = dict(getattr(self, "_tunables", {}))
            merged.update(values)
            self._tunables = merged
            self._weights = class_weights_from(merged)
            self._index_rdo = _index_rdo_from(merged)
            target = float(merged["target_kbps"])
            if target > 0.0:
                cfg = RateControlConfig(
                    target_kbps=target,
                    min_keep=min(float(merged["min_image_keep_ratio"]),
                                 float(merged["image_keep_ratio"])),
                    max_keep=float(merged["image_keep_ratio"]),
                    semantic_keep_ratio=float(merged["semantic_keep_ratio"]))
                if self._rate is None:
                    self._rate = RateController(cfg)
                else:
                    self._rate.set_config(cfg)
            else:
                self._rate = None

    def _on_params(self, changes: dict[str, Any]) -> None:
        self._apply_tunables(changes)
        self.get_logger().info("parameters updated: " + ", ".join(
            f"{k}={v}" for k, v in sorted(changes.items())))

    # ------------------------------------------------------------------ callbacks
    def _on_ack(self, msg: Any) -> None:
        """The decoder holds the state after ``last_decoded_frame_id``: predict from it."""
        self._encoder.acknowledge(int(msg.last_decoded_frame_id))

    def _on_info(self, msg: CameraInfo) -> None:
        now = time.monotonic()
        changed = (self._last_info is None or self._last_info.width != msg.width
                   or self._last_info.height != msg.height or list(self._last_info.k) != list(msg.k))
        with self._lock:
            period = float(self._tunables["camera_info_period_s"])
        if changed or now - self._last_info_sent >= period:
            self._info_pub.publish(msg)
            self._last_info_sent = now
        self._last_info = msg

    def _convert(self, msg: Image, encoding: str, what: str) -> np.ndarray | None:
        """``msg`` as ``encoding``, or None after counting and (throttled) logging why not."""
        with self._lock:
            max_pixels = int(self._tunables["max_input_pixels"])
        problem = image_size_problem(int(msg.height), int(msg.width), max_pixels)
        if problem is not None:
            cause, reason = problem
        else:
            try:
                return image_to_numpy(msg, encoding)
            except ImageConversionError as exc:
                cause, reason = exc.cause, str(exc)
            except (ValueError, TypeError) as exc:
                cause, reason = type(exc).__name__, str(exc)
        encoding = str(msg.encoding)[:_MAX_ENCODING_CHARS]  # the publisher chooses it: bound it
        self._reject(f"{what}:{cause}:{encoding}",
                     f"{what} refused ({encoding!r}, {msg.width}x{msg.height}): {reason}")
        return None

    def _reject(self, cause: str, message: str) -> None:
        with self._lock:
            self._frames_rejected += 1
            if cause not in self._rejected_by_cause \
                    and len(self._rejected_by_cause) >= _MAX_CAUSES:
                cause = "other"  # a publisher cycling through made-up encodings: bounded memory
            self._rejected_by_cause[cause] = self._rejected_by_cause.get(cause, 0) + 1
        self._warn.warn(cause, message)

    @property
    def rejected_by_cause(self) -> dict[str, int]:
        """Refused inputs since start by cause (``"<what>:<cause>:<encoding>"``)."""
        with self._lock:
            return dict(self._rejected_by_cause)

    @property
    def frames_idle(self) -> int:
        """Camera frames skipped since start because nothing subscribed to the frame topic."""
        with self._lock:
            return self._frames_idle

    def _on_matched(self, info: Any) -> None:
        """Publisher matched event: a subscriber that newly matched gets INTRA frames (video).

        ``total_count_change`` counts new matches even when another subscriber left at the
        same moment (a decoder restarted). Two INTRA frames, because the subscriber may not have
        matched this publisher yet when the first is sent on the best-effort link.
        """
        if int(info.total_count_change) > 0 and self._video:
            with self._lock:
                if bool(self._tunables["intra_on_new_subscriber"]):
                    self._intra_wanted = _INTRA_FRAMES_FOR_NEW_SUBSCRIBERS

    def _listened(self) -> bool:
        """Track the frame topic's subscribers; False when this camera frame is to be skipped.

        With ``encode_only_when_subscribed`` nothing is encoded while the count is 0; in video
        mode a resumed stream starts with INTRA frames (the references and acknowledgements held
        from before the pause are stale, whatever ``intra_on_new_subscriber`` says).
        """
        count = self._frame_pub.get_subscription_count()
        with self._lock:
            lazy = bool(self._tunables["encode_only_when_subscribed"])
            if count == 0 and lazy:
                self._frames_idle += 1
                self._idle_since_resume += 1
                pausing, self._paused = not self._paused, True
                resuming, skipped = False, 0
            else:
                pausing, resuming, skipped = False, self._paused, self._idle_since_resume
                self._paused = False
                if resuming:
                    self._idle_since_resume = 0
                    if self._video:
                        self._intra_wanted = max(self._intra_wanted, _INTRA_FRAMES_FOR_NEW_SUBSCRIBERS)
        topic = self._frame_pub.topic_name
        if pausing:
            self.get_logger().info(f"no subscriber on {topic}: camera frames are skipped until one "
                                   "appears (encode_only_when_subscribed)")
        if resuming:
            self.get_logger().info(f"{count} subscriber(s) on {topic}: encoding resumed "
                                   f"({skipped} camera frames skipped meanwhile)")
        return not (count == 0 and lazy)

    def _on_image(self, msg: Image) -> None:
        if not self._listened():
            return
        rgb = self._convert(msg, "rgb8", "camera image")
        if rgb is None:
            return
        received = time.perf_counter()
        if not self._labels_from_topic:
            self._offer(_Job(msg.header, rgb, None, received))
            return
        key = _stamp_key(msg.header.stamp)
        labels = self._labels.pop(key, None)
        if labels is not None:
            self._offer(_Job(msg.header, rgb, labels, received))
            return
        self._pending[key] = (msg.header, rgb, received)
        while len(self._pending) > 2:  # images waiting for labels: keep only the newest two
            self._pending.popitem(last=False)
            self._dropped_no_labels += 1

    def _on_labels(self, msg: Image) -> None:
        labels = self._convert(msg, "mono8", "label image")
        if labels is None:
            return
        key = _stamp_key(msg.header.stamp)
        pending = self._pending.pop(key, None)
        if pending is not None:
            header, rgb, received = pending
            self._offer(_Job(header, rgb, labels, received))
            return
        self._labels[key] = labels
        while len(self._labels) > int(self._values["labels_buffer"]):
            self._labels.popitem(last=False)

    def _offer(self, job: _Job) -> None:
        self._slot.put(job)

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while not self._slot.closed:
            job = self._slot.take(timeout=0.5)
            if job is None:
                continue
            try:
                self._encode(job)
            except Exception as exc:  # one bad frame must not stop the stream
                if not self.context.ok():  # shutting down: publishers are gone
                    return
                self._reject(f"encode:{type(exc).__name__}",
                             f"frame not encoded: {type(exc).__name__}: {exc}")

    def _encode(self, job: _Job) -> None:
        from sqgan_ros.codec.model import KeepRatios
        from sqgan_ros.segmentation import ExternalLabels

        t0 = time.perf_counter()
        h, w = job.rgb.shape[:2]
        if job.labels is not None:
            labels = ExternalLabels().fit(job.labels, (h, w))
        elif self._segmenter is not None:
            labels = self._segmenter.segment(job.rgb)
        else:
            labels = None
        segment_ms = (time.perf_counter() - t0) * 1000.0

        stamp = stamp_to_seconds(job.header.stamp)
        with self._lock:
            want_intra = self._intra_wanted > 0
            self._intra_wanted = max(0, self._intra_wanted - 1)
            weights = dict(self._weights)
            index_rdo = self._index_rdo
            rate = self._rate
            decision = rate.decide(stamp) if rate is not None else None
            if decision is not None:
                keep = KeepRatios(semantic=decision.semantic_keep_ratio,
                                  image=decision.image_keep_ratio)
            else:
                keep = KeepRatios(semantic=float(self._tunables["semantic_keep_ratio"]),
                                  image=float(self._tunables["image_keep_ratio"]))
        if self._video:  # the video encoder numbers frames and picks INTRA / INTER itself
            if want_intra:
                self._encoder.request_intra()
            payload = self._encoder.encode(job.rgb, labels, keep_ratio=keep, class_weights=weights,
                                           index_rdo=index_rdo)
            stats = self._encoder.last_stats
            frame_id, sent_ratio = stats.frame_id, stats.sent_ratio
        else:
            frame_id = self._frame_id
            payload = self._encoder.encode(job.rgb, labels, keep_ratio=keep,
                                           class_weights=weights, frame_id=frame_id,
                                           index_rdo=index_rdo)
            stats = self._encoder.last_stats
            self._frame_id = (frame_id + 1) % _UINT32
            sent_ratio = keep.image

        msg = self._frame_cls()
        msg.header = job.header
        msg.model_id = self._model_id
        msg.image_height, msg.image_width = h, w
        msg.model_height, msg.model_width = self._encoder.loaded.config.image_size
        msg.semantic_keep_ratio = float(keep.semantic)
        msg.image_keep_ratio = float(keep.image)
        msg.frame_type = int(getattr(stats, "frame_type", self._frame_cls.INTRA))
        msg.frame_id = frame_id
        msg.payload = payload
        message_bytes = len(serialize_message(msg))
        encode_ms = (time.perf_counter() - job.received) * 1000.0
        self._frames_total += 1
        self._window.add(8 * len(payload), 8 * message_bytes)
        # Stats first: a decoder that wants encode_ms for this frame then usually has it.
        self._publish_stats(job.header, frame_id, payload, message_bytes, stats, (h, w),
                            segment_ms, encode_ms)
        self._frame_pub.publish(msg)
        with self._lock:
            if rate is not None and rate is self._rate:
                rate.update(stamp, sent_ratio, message_bytes)

    def _publish_stats(self, header: Any, frame_id: int, payload: bytes, message_bytes: int,
                       stats: Any, size: tuple[int, int], segment_ms: float,
                       encode_ms: float) -> None:
        s = self._stats_cls()
        s.header = header
        s.side = self._stats_cls.SIDE_ENCODER
        s.model_id = self._model_id
        s.frame_id = frame_id
        s.frame_type = int(getattr(stats, "frame_type", self._frame_cls.INTRA))
        s.payload_bits = 8 * len(payload)
        s.message_bits = 8 * message_bytes
        # header_bits / semantic_bits / image_bits stay 0: the API does not split the payload.
        s.bpp = float(s.payload_bits) / float(size[0] * size[1])
        s.payload_kbps, s.message_kbps, s.fps = self._window.rates()
        s.semantic_kept, s.image_kept = int(stats.semantic_k), int(stats.image_k)
        s.semantic_total = s.image_total = int(stats.num_latents)
        s.segment_ms = float(segment_ms)
        s.encode_ms = float(encode_ms)
        s.decode_ms = math.nan
        s.latency_ms = math.nan
        s.frames_total = self._frames_total
        s.frames_dropped = self._slot.dropped + self._dropped_no_labels
        s.frames_lost = 0
        with self._lock:
            s.frames_rejected = self._frames_rejected
        self._stats_pub.publish(s)

    def close(self) -> None:
        """Stop the worker thread (idempotent)."""
        self._slot.close()
        if self._worker.is_alive():
            self._worker.join(timeout=5.0)


def _index_rdo_from(values: dict[str, Any]) -> Any:
    """The ``IndexRDO`` of the ``rdo_lambda_*`` parameters (torch is imported here, lazily)."""
    from sqgan_ros.codec.index_rdo import IndexRDO

    return IndexRDO(semantic=float(values["rdo_lambda_semantic"]),
                    image=float(values["rdo_lambda_image"]))


def _stamp_key(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``encoder_node``: returns the process exit status."""
    return spin_node_main(EncoderNode, "sqgan_encoder", args)


if __name__ == "__main__":
    sys.exit(main())
