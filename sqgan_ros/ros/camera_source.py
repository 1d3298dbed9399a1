"""``camera_source`` node: publishes camera frames (sensor_msgs/Image rgb8 + CameraInfo).

Frames come from :mod:`sqgan_ros.ros.frame_sources` (video file, image folder, V4L2 device,
test pattern or synthetic street scenes). Sources with exact labels (synthetic) also publish
them as a mono8 Image on ``labels_topic`` with the same header, so the encoder can take "labels
from a topic" instead of running a segmenter::

    source --read()--> Frame --+--> image_topic        sensor_msgs/Image rgb8
                               +--> camera_info_topic  sensor_msgs/CameraInfo (uncalibrated)
                               +--> labels_topic       sensor_msgs/Image mono8 (if labelled)

Run: ``ros2 run sqgan_ros camera_source --ros-args -p source:=pattern -p rate_hz:=5.0``.
The node stops by itself (exit 0) when a non-looping source ends or ``max_frames`` is reached.
"""

from __future__ import annotations

import sys

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image

from sqgan_ros.ros.frame_sources import FrameSource, FrameSourceError, open_source
from sqgan_ros.ros.image_conversion import numpy_to_image
from sqgan_ros.ros.node_main import run_node
from sqgan_ros.ros.parameters import CAMERA_NODE_NAME, camera_specs, declare_parameters, format_help, make_on_set_callback
from sqgan_ros.ros.qos import overridable_qos

__all__ = ["CameraSourceNode", "main"]


class CameraSourceNode(Node):
    """Publishes frames of one source at a fixed rate.

    Parameters (read-only after start):
        source (str): ``synthetic[:SEED]`` (default), ``pattern``, ``/dev/videoN``, folder, video.
        rate_hz (float): publish rate, (0, 1000].
        loop (bool): restart a finite source at its end.
        width, height (int): resize frames to this size; 0 keeps the source's size (both or neither).
        frame_id (str): header.frame_id of everything published.
        image_topic, camera_info_topic, labels_topic (str): topic names.
        start_index (int): first frame of the source.
        max_frames (int): stop after this many frames; 0 = unlimited.
        seed (int): synthetic scene seed (when ``source`` is plain ``synthetic``).
        synthetic_cache_frames (int): synthetic sources replay a pre-rendered loop of this many
            frames when it is cached; 0 = always render live.
        cache_dir (str): folder of pre-rendered sequences (empty = the default).
        qos_depth (int): publisher queue depth (reliable publishers, so best-effort sensor-data
            subscribers and reliable ones both match).

    Attributes:
        finished: a Future completed when the source is exhausted or max_frames reached.
        published: number of frames published so far.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(CAMERA_NODE_NAME, allow_undeclared_parameters=True, **kwargs)
        specs = camera_specs()
        values = declare_parameters(self, specs)
        self.add_on_set_parameters_callback(make_on_set_callback(
            specs, lambda _changes: None, CAMERA_NODE_NAME))
        get = self.get_parameter
        width, height = values["width"], values["height"]
        if (width == 0) != (height == 0):
            raise ValueError(f"set both width and height, or neither (got width={width}, height={height})")
        size = (height, width) if width else None
        self._frame_id: str = get("frame_id").value
        self._max_frames: int = get("max_frames").value
        self._source: FrameSource = open_source(
            get("source").value, size=size, loop=get("loop").value,
            start_index=get("start_index").value, seed=get("seed").value,
            cache_frames=get("synthetic_cache_frames").value, cache_dir=get("cache_dir").value or None)
        qos = QoSProfile(depth=get("qos_depth").value, reliability=ReliabilityPolicy.RELIABLE)
        self._image_pub = self.create_publisher(Image, get("image_topic").value, qos,
                                                 qos_overriding_options=overridable_qos())
        self._info_pub = self.create_publisher(CameraInfo, get("camera_info_topic").value, qos)
        self._labels_pub = None
        if self._source.has_labels:
            self._labels_pub = self.create_publisher(Image, get("labels_topic").value, qos)
        self.finished = Future()
        self.published = 0
        self._timer = self.create_timer(1.0 / get("rate_hz").value, self._tick)
        cache_frames = get("synthetic_cache_frames").value
        if cache_frames and not getattr(self._source, "cached", True):
            self.get_logger().info(
                f"no pre-rendered loop of {cache_frames} frames for this synthetic source: rendering live "
                f"(python -m sqgan_ros.data.synthetic.sequence_cache --frames {cache_frames} makes one)")
        self.get_logger().info(
            f"publishing {self._source!r} at {get('rate_hz').value:g} Hz on {self._image_pub.topic_name}"
            + (f" (+ labels on {self._labels_pub.topic_name})" if self._labels_pub else ""))

    def _tick(self) -> None:
        if self.finished.done():
            return
        try:
            frame = self._source.read()
        except FrameSourceError as exc:
            self.get_logger().error(str(exc))
            self._finish(exc)
            return
        if frame is None:
            self.get_logger().info(f"source ended after {self.published} frames")
            self._finish()
            return
        header = Image().header
        header.stamp = self.get_clock().now().to_msg()
        header.frame_id = self._frame_id
        image_msg = numpy_to_image(frame.image, "rgb8", header)
        self._image_pub.publish(image_msg)
        self._info_pub.publish(self._camera_info(header, image_msg.height, image_msg.width))
        if self._labels_pub is not None and frame.labels is not None:
            self._labels_pub.publish(numpy_to_image(frame.labels, "mono8", header))
        self.published += 1
        if self._max_frames and self.published >= self._max_frames:
            self.get_logger().info(f"max_frames={self._max_frames} reached")
            self._finish()

    @staticmethod
    def _camera_info(header, height: int, width: int) -> CameraInfo:
        """CameraInfo for an uncalibrated camera: sizes set, K/P all zero (REP 104)."""
        info = CameraInfo()
        info.header = header
        info.height, info.width = height, width
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        return info

    def _finish(self, error: Exception | None = None) -> None:
        self._timer.cancel()
        if error is None:
            self.finished.set_result(self.published)
        else:
            self.finished.set_exception(error)

    def destroy_node(self) -> None:
        """Close the source, then destroy the node."""
        self._source_close()
        super().destroy_node()

    def _source_close(self) -> None:
        source = getattr(self, "_source", None)
        if source is not None:
            source.close()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run sqgan_ros camera_source``; returns the exit status.

    0 when the source ends, ``max_frames`` is reached, or on SIGINT/SIGTERM; 1 on a source
    error (one line on stderr).

    Args:
        args: command line (ROS arguments included); None means ``sys.argv``.
    """
    def spin(node: CameraSourceNode) -> int:
        rclpy.spin_until_future_complete(node, node.finished)
        if node.finished.done() and node.finished.exception() is not None:
            return 1
        return 0

    return run_node(CameraSourceNode, CAMERA_NODE_NAME, lambda: format_help(
        "camera_source", CAMERA_NODE_NAME, "Publishes camera frames (sensor_msgs/Image rgb8, "
        "CameraInfo, and mono8 labels for labelled sources) at a fixed rate.", camera_specs()),
        args, spin)


if __name__ == "__main__":
    sys.exit(main())
