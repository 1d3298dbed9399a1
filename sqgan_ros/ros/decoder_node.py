"""``sqgan_decoder``: SemanticFrame -> reconstructed Image (operator side of the teleop link).

::

    SemanticFrame (best effort) --> peek_header: model id / version check --> SemanticDecoder
        --> Image rgb8 (reliable; camera or model size; camera header)
        --> colourised semantic map rgb8
        --> CameraInfo (from the encoder's latched republish, scaled to the output size)
        --> CodecStats (bits, bpp, kbit/s, encode/decode ms, latency, frames lost/rejected)

Every frame stands alone (intra), so a lost or refused frame costs that frame only. A frame from
another model is refused with one warning per second, not one per frame. Frames that arrive out of
order are decoded and published like the others (each with its own camera stamp); frame-id gaps
count as lost until the missing frame turns up late (then it counts as reordered, see
:class:`~sqgan_ros.ros.node_utils.FrameIdTracker`). Headers are size-checked before decoding
(:func:`~sqgan_ros.ros.node_utils.screen_frame`).
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo

from sqgan_ros.labels import colourise
from sqgan_ros.ros.image_conversion import numpy_to_image
from sqgan_ros.ros.node_utils import (
    FrameIdTracker,
    RateWindow,
    WarningThrottle,
    configure_torch_threads,
    overridable_qos,
    resolve_model_path,
    scale_camera_info,
    screen_frame,
    spin_node_main,
    stamp_to_seconds,
)
from sqgan_ros.ros.parameters import DECODER_NODE_NAME, declare_parameters, decoder_specs, make_on_set_callback

__all__ = ["DecoderNode", "main"]


class DecoderNode(Node):
    """The operator-side node.

    Raises (from the constructor):
        ValueError / FileNotFoundError / ModelFileError: bad parameters or model file.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DECODER_NODE_NAME, **kwargs)
        self._specs = decoder_specs()
        v = self._values = declare_parameters(self, self._specs)
        model_path = resolve_model_path(str(v["model_file"]))
        threads = configure_torch_threads(int(v["torch_threads"]))
        from sqgan_ros.msg import CodecStats, SemanticFrame
        from sqgan_ros.video import VideoDecoder  # torch: imported once the parameters are good
        # INTRA frames decode exactly as with SemanticDecoder; INTER frames need their reference.
        self._decoder = VideoDecoder(model_path, device=str(v["device"]), precision=str(v["precision"]))
        self._model_id = self._decoder.loaded.model_id[:16]
        self._model_id_bytes = bytes.fromhex(self._model_id)
        self._output_size = str(v["output_size"])
        self._max_output_pixels = int(v["max_output_pixels"])
        config = self._decoder.loaded.config
        self._model_size = tuple(config.image_size)
        self._grid = tuple(config.grid(*config.image_size))
        self._window = RateWindow(float(v["stats_window_s"]))
        self.add_on_set_parameters_callback(make_on_set_callback(self._specs, self._on_params))

        self._warn = WarningThrottle(self.get_logger().warning, period_s=1.0)
        self._stats_cls = CodecStats
        self._frames_total = 0
        self._frames_dropped = 0
        self._frames_rejected = 0
        self._ids = FrameIdTracker()
        self._camera_info: CameraInfo | None = None
        self._encode_ms: dict[int, float] = {}

        link = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(v["qos_depth"]),
                          reliability=ReliabilityPolicy.BEST_EFFORT)
        latched = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2,
                              reliability=ReliabilityPolicy.RELIABLE)
        from sensor_msgs.msg import Image
        self._image_pub = self.create_publisher(Image, str(v["image_topic"]), reliable,
                                                 qos_overriding_options=overridable_qos())
        self._semantic_pub = self.create_publisher(Image, str(v["semantic_topic"]), reliable,
                                                    qos_overriding_options=overridable_qos())
        self._info_pub = self.create_publisher(CameraInfo, str(v["camera_info_topic"]), reliable)
        self._stats_pub = self.create_publisher(CodecStats, str(v["stats_topic"]), 10)
        from sqgan_ros.msg import FrameAck
        self._ack_cls = FrameAck
        self._ack_pub = self.create_publisher(
            FrameAck, str(v["ack_topic"]), QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        # Encoder stats first: when a frame and its stats are both waiting, the executor serves
        # subscriptions in creation order, so encode_ms is known when the frame is decoded.
        self.create_subscription(CodecStats, str(v["encoder_stats_topic"]), self._on_encoder_stats,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
        self.create_subscription(CameraInfo, str(v["camera_info_in_topic"]), self._on_info, latched)
        self.create_subscription(SemanticFrame, str(v["frame_topic"]), self._on_frame, link,
                                 qos_overriding_options=overridable_qos())
        self.get_logger().info(
            f"model {model_path.name} (id {self._model_id}) on {self._decoder.device} "
            f"({str(self._decoder.dtype).removeprefix('torch.')}) "
            f"({threads} torch threads); "
            f"{self.resolve_topic_name(str(v['frame_topic']))} -> "
            f"{self._image_pub.topic_name}")

    def _on_params(self, changes: dict[str, Any]) -> None:
        if "output_size" in changes:
            self._output_size = str(changes["output_size"])
        if "stats_window_s" in changes:
            self._window = RateWindow(float(changes["stats_window_s"]))
        if "max_output_pixels" in changes:
            self._max_output_pixels = int(changes["max_output_pixels"])

    def _on_info(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    def _on_encoder_stats(self, msg: Any) -> None:
        if msg.side != msg.SIDE_ENCODER:
            return
        self._encode_ms[int(msg.frame_id)] = float(msg.encode_ms)
        while len(self._encode_ms) > 64:
            self._encode_ms.pop(next(iter(self._encode_ms)))

    # ------------------------------------------------------------------ frames
    def _on_frame(self, msg: Any) -> None:
        from sqgan_ros.bitstream import BitstreamError

        t0 = time.perf_counter()
        payload = bytes(msg.payload)
        header, problem = screen_frame(payload, self._model_id_bytes, self._model_size,
                                       self._grid, self._max_output_pixels)
        if problem is None and msg.model_id != self._model_id:
            problem = ("model_id", f"message says model {msg.model_id}, this decoder runs "
                                   f"model {self._model_id}")
        if problem is not None:
            if problem[0] == "model_id":
                model = header.model_id.hex() if header is not None else msg.model_id
                self._reject("model_id", f"frame {msg.frame_id} from model {model} refused: "
                                         f"this decoder runs model {self._model_id}")
            else:
                self._reject(problem[0], f"frame {msg.frame_id} refused: {problem[1]}")
            return
        self._count_ids(int(msg.frame_id))
        from sqgan_ros.video import ReferenceMissingError
        try:
            decoded = self._decoder.decode(payload)
        except ReferenceMissingError as exc:  # lost reference / joined late: wait, the encoder
            self._frames_dropped += 1         # resyncs when our acknowledgements go stale
            self._warn.warn("reference", str(exc))
            self._publish_ack(msg.header)
            return
        except BitstreamError as exc:
            self._reject("corrupt", f"frame {msg.frame_id} refused: {exc}")
            return
        except Exception as exc:  # a decode failure costs this frame only
            self._frames_dropped += 1
            self._warn.warn(f"decode:{type(exc).__name__}",
                            f"frame {msg.frame_id} not decoded: {type(exc).__name__}: {exc}")
            return

        self._publish_ack(msg.header)  # first: the encoder may predict from this frame now
        if self._output_size == "model":
            size = tuple(header.model_size)
        else:
            size = tuple(header.image_size)
        image = _resize(decoded.image, size, cv2.INTER_LINEAR)
        labels = _resize(np.asarray(decoded.labels, dtype=np.uint8), size, cv2.INTER_NEAREST)
        decode_ms = (time.perf_counter() - t0) * 1000.0

        self._image_pub.publish(numpy_to_image(image, "rgb8", msg.header))
        self._semantic_pub.publish(numpy_to_image(colourise(labels), "rgb8", msg.header))
        self._info_pub.publish(self._camera_info_for(msg.header, size))
        self._frames_total += 1
        payload_bits = 8 * len(payload)
        self._window.add(payload_bits, 0)
        self._publish_stats(msg, header, payload_bits, decode_ms)

    def _publish_ack(self, header: Any) -> None:
        """Tell the encoder which frame this decoder last decoded (nothing before the first)."""
        ack = self._decoder.ack()
        if ack is None:
            return
        out = self._ack_cls()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id = header.frame_id
        out.last_decoded_frame_id = ack.last_decoded_frame_id
        out.semantic_reference_id = ack.semantic_reference_id
        out.image_reference_id = ack.image_reference_id
        self._ack_pub.publish(out)

    def _reject(self, cause: str, message: str) -> None:
        self._frames_rejected += 1
        self._warn.warn(cause, message)

    def _count_ids(self, frame_id: int) -> None:
        ids = self._ids
        newest = ids.newest
        kind = ids.add(frame_id)
        if kind == "restart":
            self.get_logger().info(f"frame ids restarted ({newest} -> {frame_id}); encoder restart?")
        elif kind in ("late", "duplicate"):
            self._warn.warn(kind, f"frame {frame_id} arrived after frame {newest} ({kind}); "
                                  f"so far {ids.reordered} reordered, {ids.duplicates} duplicate, "
                                  f"{ids.lost} lost")

    @property
    def frame_counts(self) -> dict[str, int]:
        """Link statistics since start, by name.

        Keys: received, lost (net of late arrivals), reordered, duplicates, restarts, decoded,
        rejected, dropped.
        """
        ids = self._ids
        return {"received": ids.received, "lost": ids.lost, "reordered": ids.reordered,
                "duplicates": ids.duplicates, "restarts": ids.restarts,
                "decoded": self._frames_total, "rejected": self._frames_rejected,
                "dropped": self._frames_dropped}

    def _camera_info_for(self, header: Any, size: tuple[int, int]) -> CameraInfo:
        if self._camera_info is not None:
            info = scale_camera_info(self._camera_info, size[0], size[1])
        else:  # no calibration known: say at least the size
            info = CameraInfo()
            info.height, info.width = int(size[0]), int(size[1])
        info.header = header
        return info

    def _publish_stats(self, msg: Any, header: Any, payload_bits: int, decode_ms: float) -> None:
        s = self._stats_cls()
        s.header = msg.header
        s.side = self._stats_cls.SIDE_DECODER
        s.model_id = self._model_id
        s.frame_id = int(msg.frame_id)
        s.frame_type = int(msg.frame_type)
        s.payload_bits = payload_bits
        h, w = header.image_size
        s.bpp = float(payload_bits) / float(h * w)
        s.payload_kbps, _, s.fps = self._window.rates()
        s.message_kbps = math.nan
        s.encode_ms = self._encode_ms.get(int(msg.frame_id), math.nan)
        s.segment_ms = math.nan
        s.decode_ms = float(decode_ms)
        now = self.get_clock().now().nanoseconds * 1e-9
        s.latency_ms = float((now - stamp_to_seconds(msg.header.stamp)) * 1000.0)
        s.frames_total = self._frames_total
        s.frames_dropped = self._frames_dropped
        s.frames_lost = max(0, self._ids.lost)
        s.frames_rejected = self._frames_rejected
        self._stats_pub.publish(s)


def _resize(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    h, w = int(size[0]), int(size[1])
    if array.shape[:2] == (h, w):
        return np.ascontiguousarray(array)
    return cv2.resize(array, (w, h), interpolation=interpolation)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``decoder_node``: returns the process exit status."""
    return spin_node_main(DecoderNode, "sqgan_decoder", args)


if __name__ == "__main__":
    sys.exit(main())
