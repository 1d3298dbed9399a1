"""``sqgan-codec``'s files: reading images, label maps and videos, writing images and videos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.bitstream.header import MAGIC
from sqgan_ros.bitstream.stream_file import STREAM_MAGIC
from sqgan_ros.labels import NUM_CLASSES

__all__ = ["IMAGE_SUFFIXES", "InputError", "read_image", "read_labels", "video_frames", "is_image_file", "file_kind",
           "write_image", "FrameSink"]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_VIDEO_WRITERS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}


class InputError(ValueError):
    """An input file or argument the codec cannot use (exit status 2)."""


# ------------------------------------------------------------------ reading inputs
def read_image(path: Path) -> np.ndarray:
    """An image file as RGB uint8 ``(H, W, 3)``.

    Raises:
        InputError: the file does not exist or is not an image OpenCV reads.
    """
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path} is not an image OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_labels(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A label PNG (one channel, class ids 0..19) of the image's size.

    Raises:
        InputError: unreadable, not one channel, another size, or ids above 19.
    """
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise InputError(f"{path} is not an image OpenCV can read")
    if labels.ndim != 2:
        raise InputError(f"{path}: a label map has one channel (class ids), got shape {labels.shape}")
    if labels.shape != shape:
        raise InputError(f"{path}: label map is {labels.shape[1]}x{labels.shape[0]}, "
                         f"the image {shape[1]}x{shape[0]}")
    if int(labels.max(initial=0)) >= NUM_CLASSES:
        raise InputError(f"{path}: class ids must be 0..{NUM_CLASSES - 1}, found {int(labels.max())}")
    return labels.astype(np.uint8)


def video_frames(path: Path, limit: int | None) -> tuple[Iterator[np.ndarray], float | None]:
    """RGB frames of a video file or of a folder of images (sorted by name), and the file's fps.

    Raises:
        InputError: nothing readable at ``path``.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        files = files[:limit] if limit is not None else files
        return (read_image(f) for f in files), None
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InputError(f"{path} is neither an image nor a video OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS)

    def frames() -> Iterator[np.ndarray]:
        count = 0
        try:
            while limit is None or count < limit:
                ok, bgr = capture.read()
                if not ok:
                    return
                count += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    return frames(), (float(fps) if fps and np.isfinite(fps) and fps > 0 else None)


def is_image_file(path: Path) -> bool:
    """True for a file with an image suffix (a video or a folder is coded as a stream)."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def file_kind(path: Path) -> str:
    """``"frame"`` (one encoded frame) or ``"stream"`` (a stream file), from the magic number.

    Raises:
        InputError: missing, or neither.
    """
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with path.open("rb") as f:
        head = f.read(4)
    if head == STREAM_MAGIC:
        return "stream"
    if len(head) >= 2 and int.from_bytes(head[:2], "big") >> 4 == MAGIC:
        return "frame"
    raise InputError(f"{path} is neither an SQ-GAN frame (.sqg) nor a stream file (.sqgs)")


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB image (format by suffix); InputError when OpenCV cannot."""
    try:
        ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"cannot write {path} (an existing folder? the suffix names the image format: "
                         ".png, .jpg, ...)")


class FrameSink:
    """Decoded frames to a video file (by suffix) or to numbered PNGs in a folder."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.writer: cv2.VideoWriter | None = None
        self.count = 0
        if path.suffix.lower() not in _VIDEO_WRITERS:
            if path.suffix:
                raise InputError(f"{path}: write a video (.avi, .mp4, .mkv) or a folder (no suffix)")
            path.mkdir(parents=True, exist_ok=True)

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB frame."""
        suffix = self.path.suffix.lower()
        if suffix in _VIDEO_WRITERS:
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            if self.writer is None:
                self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*_VIDEO_WRITERS[suffix]),
                                              self.fps, (bgr.shape[1], bgr.shape[0]))
                if not self.writer.isOpened():
                    raise InputError(f"OpenCV cannot write {self.path}; write a folder of PNGs instead")
            self.writer.write(bgr)
        else:
            write_image(self.path / f"frame_{self.count:06d}.png", rgb)
        self.count += 1

    def close(self) -> None:
        """Finish the video file (a folder needs nothing)."""
        if self.writer is not None:
            self.writer.release()
