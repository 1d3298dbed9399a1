"""Frame sources (pure numpy) and the camera_source node over DDS."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from sqgan_ros.ros.frame_sources import (
    DEFAULT_SIZE,
    FolderSource,
    FrameSourceError,
    PatternSource,
    SyntheticSource,
    V4L2Source,
    VideoFileSource,
    open_source,
)


def write_images(folder: Path, count: int, size=(24, 32)) -> list[np.ndarray]:
    """Write ``count`` distinct RGB PNGs named so that name order differs from write order."""
    images = []
    for i in range(count):
        rgb = np.zeros((*size, 3), np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10 * i, 100, 255 - 10 * i
        cv2.imwrite(str(folder / f"frame_{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        images.append(rgb)
    (folder / "notes.txt").write_text("not an image")
    return images


def write_video(path: Path, count: int, size=(48, 64)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (size[1], size[0]))
    assert writer.isOpened()
    for i in range(count):
        frame = np.full((*size, 3), 0, np.uint8)
        frame[:, :, 2] = 20 * i + 10  # red channel (BGR order) encodes the frame number
        writer.write(frame)
    writer.release()


def test_pattern_moves_and_counts() -> None:
    source = PatternSource(size=(60, 128), start_index=5)
    first, second = source.read(), source.read()
    assert (first.index, second.index) == (5, 6)
    assert first.image.shape == (60, 128, 3) and first.image.dtype == np.uint8
    assert first.labels is None and not source.has_labels
    assert not np.array_equal(first.image, second.image)
    np.testing.assert_array_equal(source.render(5), first.image)  # deterministic
    assert PatternSource().read().image.shape == (*DEFAULT_SIZE, 3)


def test_folder_sorted_resized_and_looping(tmp_path: Path) -> None:
    images = write_images(tmp_path, 3)
    with open_source(str(tmp_path), loop=True) as source:
        assert isinstance(source, FolderSource)
        frames = [source.read() for _ in range(4)]
    assert [f.index for f in frames] == [0, 1, 2, 0]
    np.testing.assert_array_equal(frames[1].image, images[1])  # RGB, not BGR
    with FolderSource(tmp_path, loop=False, start_index=1, size=(12, 16)) as source:
        frames = list(source)
    assert [f.index for f in frames] == [1, 2]
    assert frames[0].image.shape == (12, 16, 3)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FrameSourceError, match="no image files"):
        FolderSource(tmp_path)
    write_images(tmp_path, 2)
    with pytest.raises(FrameSourceError, match="start_index 2 is past"):
        FolderSource(tmp_path, start_index=2)
    (tmp_path / "frame_000.png").write_bytes(b"not a png")
    with FolderSource(tmp_path) as source, pytest.raises(FrameSourceError, match="cannot read image"):
        source.read()


def test_video_file_frames_loop_and_start_index(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    write_video(path, 4)
    with open_source(str(path), loop=False) as source:
        assert isinstance(source, VideoFileSource)
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    reds = [int(np.median(f.image[..., 0])) for f in frames]
    assert all(abs(r - (20 * i + 10)) <= 3 for i, r in enumerate(reds)), reds  # RGB order, right frames
    with VideoFileSource(path, loop=True, start_index=2, size=(24, 32)) as source:
        frames = [source.read() for _ in range(4)]
    assert [f.index for f in frames] == [2, 3, 0, 1]
    assert frames[0].image.shape == (24, 32, 3)
    with pytest.raises(FrameSourceError, match="past the end"):
        VideoFileSource(path, start_index=9)


def test_open_source_errors(tmp_path: Path) -> None:
    with pytest.raises(FrameSourceError, match="is not pattern, synthetic"):
        open_source(str(tmp_path / "missing.avi"))
    with pytest.raises(FrameSourceError, match="empty source"):
        open_source("  ")
    with pytest.raises(TypeError):
        open_source(3)
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"x" * 64)
    with pytest.raises(FrameSourceError, match="cannot open"):
        VideoFileSource(garbage)
    with pytest.raises(ValueError, match="positive"):
        PatternSource(size=(0, 10))
    with pytest.raises(FrameSourceError, match="not a V4L2 device"):
        V4L2Source("/dev/sda")
    closed = PatternSource(size=(8, 8))
    closed.close()
    with pytest.raises(FrameSourceError, match="closed"):
        closed.read()


def test_missing_v4l2_device_is_a_clear_error() -> None:
    with pytest.raises(FrameSourceError, match="cannot open V4L2 device /dev/video97"):
        open_source("/dev/video97")


def test_synthetic_source_has_labels_or_says_what_is_missing() -> None:
    try:
        from sqgan_ros.data.synthetic import StreetSequence  # noqa: F401
    except ImportError:
        with pytest.raises(FrameSourceError, match="StreetSequence"):
            open_source("synthetic:3")
        return
    with open_source("synthetic:3", size=(64, 128), start_index=2) as source:
        assert isinstance(source, SyntheticSource) and source.has_labels and source.seed == 3
        frame = source.read()
    assert frame.index == 2 and frame.image.shape == (64, 128, 3)
    assert frame.labels.shape == (64, 128) and frame.labels.dtype == np.uint8 and frame.labels.max() <= 19


@pytest.mark.ros
def test_camera_source_node_publishes_over_dds(ros_subprocess_env: dict[str, str]) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from sqgan_ros.ros.image_conversion import image_to_numpy

    command = [sys.executable, "-m", "sqgan_ros.ros.camera_source", "--ros-args",
               "-p", "source:=pattern", "-p", "rate_hz:=20.0", "-p", "width:=64", "-p", "height:=48",
               "-p", "frame_id:=test_cam", "-p", "image_topic:=test_cam/image", "-p",
               "camera_info_topic:=test_cam/info", "-p", "max_frames:=400"]
    node_process = subprocess.Popen(command, env=ros_subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = rclpy.Context()
    rclpy.init(context=context)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    try:
        node = rclpy.create_node("test_camera_listener", context=context)
        node.create_subscription(Image, "test_cam/image", images.append, qos_profile_sensor_data)
        node.create_subscription(CameraInfo, "test_cam/info", infos.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 30.0
        while (len(images) < 4 or not infos) and time.monotonic() < deadline and node_process.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
        node_process.terminate()
        output = node_process.communicate(timeout=10)[0].decode(errors="replace")
    assert len(images) >= 4, f"received {len(images)} images; node output:\n{output}"
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps
    assert {m.header.frame_id for m in images} == {"test_cam"}
    assert {(m.encoding, m.height, m.width, m.step) for m in images} == {("rgb8", 48, 64, 64 * 3)}
    pixels = [image_to_numpy(m) for m in images[:2]]
    assert not np.array_equal(pixels[0], pixels[1])  # the pattern moves
    assert infos[0].header.frame_id == "test_cam" and (infos[0].height, infos[0].width) == (48, 64)


@pytest.mark.ros
def test_camera_source_exits_cleanly(ros_subprocess_env: dict[str, str]) -> None:
    base = [sys.executable, "-m", "sqgan_ros.ros.camera_source", "--ros-args", "-p", "rate_hz:=50.0"]
    done = subprocess.run(base + ["-p", "source:=pattern", "-p", "max_frames:=3"], env=ros_subprocess_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "max_frames=3 reached" in done.stdout + done.stderr
    bad = subprocess.run(base + ["-p", "source:=/no/such/video.mp4"], env=ros_subprocess_env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "/no/such/video.mp4" in bad.stderr
