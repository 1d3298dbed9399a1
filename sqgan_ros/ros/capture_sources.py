"""Frame sources read with OpenCV: a folder of images, a video file, a V4L2 device."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sqgan_ros.ros.frame_source_base import Frame, FrameSource, FrameSourceError

__all__ = ["IMAGE_SUFFIXES", "FolderSource", "VideoFileSource", "V4L2Source"]

#: File suffixes a folder source reads (lower case).
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp"})


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.rint(image / 257.0).astype(np.uint8)
    raise FrameSourceError(f"unsupported image dtype {image.dtype}")


class FolderSource(FrameSource):
    """The image files of a directory, sorted by name (suffixes in :data:`IMAGE_SUFFIXES`).

    Args:
        path: the directory.
        size, loop, start_index: see :class:`FrameSource`.

    Raises:
        FrameSourceError: not a directory, no images in it, start_index past the end, or an
            unreadable image file (raised by :meth:`read`).
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int] | None = None, loop: bool = True,
                 start_index: int = 0) -> None:
        super().__init__(size=size, loop=loop, start_index=start_index)
        self.path = Path(path)
        if not self.path.is_dir():
            raise FrameSourceError(f"{self.path} is not a directory")
        self.files = sorted(p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise FrameSourceError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.path}")
        if self.start_index >= len(self.files):
            raise FrameSourceError(f"start_index {self.start_index} is past the {len(self.files)} images in {self.path}")
        self._position = self.start_index

    def _next(self) -> Frame | None:
        if self._position >= len(self.files):
            if not self.loop:
                return None
            self._position = 0
        path = self.files[self._position]
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise FrameSourceError(f"cannot read image {path}")
        frame = Frame(image=_bgr_to_rgb(_to_uint8(image)), labels=None, index=self._position)
        self._position += 1
        return frame

    def __repr__(self) -> str:
        return f"FolderSource({str(self.path)!r}, {len(self.files)} images)"


class _CaptureSource(FrameSource):
    """Shared code of the cv2.VideoCapture sources."""

    def __init__(self, capture: Any, description: str, *, size: tuple[int, int] | None, loop: bool,
                 start_index: int) -> None:
        super().__init__(size=size, loop=loop, start_index=start_index)
        self._capture = capture
        self._description = description
        if not capture.isOpened():
            capture.release()
            raise FrameSourceError(f"cannot open {description}")
        self._index = 0

    def _grab(self) -> np.ndarray | None:
        ok, image = self._capture.read()
        return image if ok and image is not None else None

    def close(self) -> None:
        if not self._closed:
            self._capture.release()
        super().close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._description!r})"


class VideoFileSource(_CaptureSource):
    """A video file read with cv2.VideoCapture.

    Args:
        path: the video file.
        size, loop, start_index: see :class:`FrameSource`.

    Raises:
        FrameSourceError: the file does not exist, cannot be opened or has no frames.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int] | None = None, loop: bool = True,
                 start_index: int = 0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FrameSourceError(f"video file {self.path} does not exist")
        super().__init__(cv2.VideoCapture(str(self.path)), f"video file {self.path}", size=size, loop=loop,
                         start_index=start_index)
        for _ in range(self.start_index):  # frame-exact, unlike seeking with CAP_PROP_POS_FRAMES
            if self._grab() is None:
                self.close()
                raise FrameSourceError(f"start_index {self.start_index} is past the end of {self.path}")
            self._index += 1

    def _next(self) -> Frame | None:
        image = self._grab()
        if image is None:
            if not self.loop or self._index == 0:
                return None
            self._capture.release()
            self._capture = cv2.VideoCapture(str(self.path))
            self._index = 0
            image = self._grab()
            if image is None:
                raise FrameSourceError(f"cannot reopen {self.path} to loop")
        frame = Frame(image=_bgr_to_rgb(_to_uint8(image)), labels=None, index=self._index)
        self._index += 1
        return frame


class V4L2Source(_CaptureSource):
    """A V4L2 camera (``/dev/videoN`` or N).

    Args:
        device: ``"/dev/videoN"`` or the integer N.
        size: see :class:`FrameSource` (the frames are resized; the device keeps its own mode).

    Raises:
        FrameSourceError: the device cannot be opened, or (from :meth:`read`) stops delivering.
    """

    def __init__(self, device: str | int, *, size: tuple[int, int] | None = None) -> None:
        if isinstance(device, str):
            match = re.fullmatch(r"(?:/dev/video)?(\d+)", device)
            if match is None:
                raise FrameSourceError(f"not a V4L2 device: {device!r} (expected /dev/videoN or N)")
            number = int(match.group(1))
        else:
            number = int(device)
        self.device = f"/dev/video{number}"
        super().__init__(cv2.VideoCapture(number, cv2.CAP_V4L2), f"V4L2 device {self.device}", size=size,
                         loop=False, start_index=0)

    def _next(self) -> Frame:
        image = self._grab()
        if image is None:
            raise FrameSourceError(f"{self.device} delivered no frame")
        frame = Frame(image=_bgr_to_rgb(_to_uint8(image)), labels=None, index=self._index)
        self._index += 1
        return frame
