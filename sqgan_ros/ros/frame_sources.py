"""Camera frame sources for the ``camera_source`` node, in plain Python/numpy (no rclpy).

Each source yields :class:`Frame` objects: an RGB ``uint8 (H, W, 3)`` image, optionally an exact
label map ``uint8 (H, W)`` (synthetic scenes), and the frame's index in the source.

==================  =====================================================================
spec                source
==================  =====================================================================
``pattern``         generated test pattern: moving colour bars and a frame counter
``synthetic[:S]``   synthetic street scenes with exact labels, seed S (default 0), via
                    ``sqgan_ros.data.synthetic.StreetSequence(seed, size).render(index)``;
                    with ``cache_frames=N`` and a pre-rendered cache of N frames
                    (``sqgan_ros.data.synthetic.sequence_cache``) it replays that loop
                    instead of rendering (40-90 ms of CPU per 256x512 frame)
``/dev/videoN``     V4L2 device (also a bare integer ``N``)
a directory         the image files in it, sorted by name
a file              a video file (anything cv2.VideoCapture reads)
==================  =====================================================================

Usage::

    with open_source("pattern", size=(240, 320)) as source:
        frame = source.read()          # None once a non-looping source is exhausted
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "DEFAULT_SIZE",
    "IMAGE_SUFFIXES",
    "Frame",
    "FrameSource",
    "FrameSourceError",
    "FolderSource",
    "PatternSource",
    "SyntheticSource",
    "V4L2Source",
    "VideoFileSource",
    "open_source",
    "synthetic_seed",
]

#: (H, W) of generated sources (pattern, synthetic) when no size is given: the codec's size.
DEFAULT_SIZE: tuple[int, int] = (256, 512)
#: File suffixes a folder source reads (lower case).
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp"})


class FrameSourceError(ValueError):
    """A frame source could not be opened or read."""


@dataclass(frozen=True)
class Frame:
    """One camera frame.

    Attributes:
        image: ``uint8 (H, W, 3)`` RGB.
        labels: ``uint8 (H, W)`` class indices (see ``sqgan_ros.labels``), or None.
        index: position of the frame in its source (counts on across loops for generated
            sources; restarts at the first frame for files when looping).
    """

    image: np.ndarray
    labels: np.ndarray | None
    index: int


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) for v in size):
        raise TypeError(f"size must be (height, width) integers, got {size!r}")
    height, width = int(size[0]), int(size[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive, got {height}x{width}")
    return height, width


class FrameSource(ABC):
    """A sequence of frames; subclasses implement :meth:`_next`.

    Args:
        size: ``(height, width)`` to resize every frame to (area interpolation for images,
            nearest for labels), or None to keep the source's size.
        loop: restart at the beginning when a finite source ends.
        start_index: skip this many frames at the start.
    """

    #: Whether frames carry exact labels.
    has_labels: bool = False

    def __init__(self, *, size: tuple[int, int] | None = None, loop: bool = True, start_index: int = 0) -> None:
        if start_index < 0:
            raise ValueError(f"start_index must be >= 0, got {start_index}")
        self.size = _check_size(size)
        self.loop = bool(loop)
        self.start_index = int(start_index)
        self._closed = False

    @abstractmethod
    def _next(self) -> Frame | None:
        """The next frame at the source's own size, or None at the end (loop handled here)."""

    def read(self) -> Frame | None:
        """Return the next frame, resized to ``size``; None when the source is exhausted.

        Raises:
            FrameSourceError: the source is closed or a frame cannot be read.
        """
        if self._closed:
            raise FrameSourceError(f"{self!r} is closed")
        frame = self._next()
        if frame is None or self.size is None or frame.image.shape[:2] == self.size:
            return frame
        height, width = self.size
        image = cv2.resize(frame.image, (width, height), interpolation=cv2.INTER_AREA)
        labels = None
        if frame.labels is not None:
            labels = cv2.resize(frame.labels, (width, height), interpolation=cv2.INTER_NEAREST)
        return Frame(image=image, labels=labels, index=frame.index)

    def close(self) -> None:
        """Release the underlying file or device (idempotent)."""
        self._closed = True

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self):
        while (frame := self.read()) is not None:
            yield frame


class PatternSource(FrameSource):
    """Generated test pattern: colour bars that move one step per frame, and the frame number.

    Endless; every frame differs, so a receiver can see motion and count frames.

    Args:
        size: ``(height, width)``; default :data:`DEFAULT_SIZE`.
        start_index: number of the first frame.
    """

    _BARS = np.array([(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
                      (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)], dtype=np.uint8)

    def __init__(self, *, size: tuple[int, int] | None = None, start_index: int = 0) -> None:
        super().__init__(size=size or DEFAULT_SIZE, loop=True, start_index=start_index)
        self._index = self.start_index

    def render(self, index: int) -> np.ndarray:
        """The pattern image for frame ``index`` at :attr:`size`."""
        height, width = self.size
        bar_width = max(1, width // len(self._BARS))
        shift = (index * max(1, width // 64)) % width
        columns = ((np.arange(width) + shift) // bar_width) % len(self._BARS)
        image = np.repeat(self._BARS[columns][None, :, :], height, axis=0)
        scale = max(0.4, height / 240.0)
        thickness = max(1, int(round(2 * scale)))
        origin = (max(2, width // 40), max(12, int(30 * scale)))
        cv2.putText(image, f"{index:06d}", origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness + 2, cv2.LINE_AA)
        cv2.putText(image, f"{index:06d}", origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    thickness, cv2.LINE_AA)
        return np.ascontiguousarray(image)

    def _next(self) -> Frame:
        frame = Frame(image=self.render(self._index), labels=None, index=self._index)
        self._index += 1
        return frame

    def __repr__(self) -> str:
        return f"PatternSource(size={self.size})"


class SyntheticSource(FrameSource):
    """Synthetic street scenes with exact labels (``sqgan_ros.data.synthetic.StreetSequence``).

    Args:
        seed: scene sequence seed.
        size: ``(height, width)``; default :data:`DEFAULT_SIZE`.
        start_index: index of the first frame.
        cache_frames: > 0: replay the pre-rendered cache of frames ``0..cache_frames-1`` in a loop
            when one exists (``self.cached`` says whether it does); otherwise render live.
        cache_dir: cache folder (None: ``sequence_cache.default_cache_dir()``).

    Raises:
        FrameSourceError: the synthetic scene generator is not available.
    """

    has_labels = True

    def __init__(self, *, seed: int = 0, size: tuple[int, int] | None = None, start_index: int = 0,
                 cache_frames: int = 0, cache_dir: str | Path | None = None) -> None:
        super().__init__(size=size or DEFAULT_SIZE, loop=True, start_index=start_index)
        try:
            from sqgan_ros.data.synthetic import StreetSequence  # noqa: PLC0415 - heavy, optional
        except ImportError as exc:
            raise FrameSourceError(
                "the 'synthetic' source needs sqgan_ros.data.synthetic.StreetSequence, which is not "
                f"available ({exc}); use source:=pattern or a video/folder/device") from exc
        self.seed = int(seed)
        self._sequence = StreetSequence(self.seed, size=self.size)
        self._index = self.start_index
        self._cache = None
        if cache_frames:
            from sqgan_ros.data.synthetic.sequence_cache import find_cache  # noqa: PLC0415
            try:
                self._cache = find_cache(self.seed, self.size, int(cache_frames), cache_dir)
            except ValueError as exc:
                raise FrameSourceError(f"synthetic cache: {exc}") from exc

    @property
    def cached(self) -> bool:
        """True when frames are replayed from a pre-rendered cache."""
        return self._cache is not None

    def _next(self) -> Frame:
        if self._cache is not None:
            image, labels = self._cache.frame(self._index)
        else:
            image, labels = self._sequence.render(self._index)
        image, labels = np.asarray(image), np.asarray(labels)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise FrameSourceError(f"StreetSequence.render returned image {image.dtype} {image.shape}")
        if labels.shape != image.shape[:2]:
            raise FrameSourceError(f"StreetSequence.render returned labels {labels.shape} for image {image.shape}")
        frame = Frame(image=image, labels=labels.astype(np.uint8, copy=False), index=self._index)
        self._index += 1
        return frame

    def __repr__(self) -> str:
        cache = f", replaying {len(self._cache)} cached frames" if self._cache is not None else ""
        return f"SyntheticSource(seed={self.seed}, size={self.size}{cache})"


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


def synthetic_seed(spec: str, default: int = 0) -> int | None:
    """The seed a ``synthetic[:SEED]`` spec names, or None when ``spec`` is not a synthetic source.

    Args:
        spec: Frame source spec, e.g. ``synthetic``, ``synthetic:7`` or a device/file spec.
        default: Seed returned for a plain ``synthetic`` (no ``:SEED``).
    """
    match = re.fullmatch(r"synthetic(?::(\d+))?", spec.strip())
    if match is None:
        return None
    return int(match.group(1)) if match.group(1) is not None else default


def open_source(spec: str, *, size: tuple[int, int] | None = None, loop: bool = True, start_index: int = 0,
                seed: int = 0, cache_frames: int = 0, cache_dir: str | Path | None = None) -> FrameSource:
    """Open the frame source that ``spec`` names (see the module docstring).

    Args:
        spec: ``pattern``, ``synthetic`` / ``synthetic:SEED``, ``/dev/videoN`` / ``N``, a directory
            of images or a video file.
        size: ``(height, width)`` of the frames, or None for the source's own size (generated
            sources then use :data:`DEFAULT_SIZE`).
        loop: restart finite sources (folders, video files) at their end.
        start_index: first frame (index for generated sources, frames skipped for files).
        seed: synthetic scene seed when ``spec`` is plain ``synthetic``.
        cache_frames: synthetic sources: replay a pre-rendered loop of this many frames if cached.
        cache_dir: synthetic sources: the cache folder (None: the default).

    Returns:
        An open :class:`FrameSource`; close it (or use ``with``) when done.

    Raises:
        FrameSourceError: ``spec`` names nothing that exists, or the source cannot be opened.
        TypeError: ``spec`` is not a string.
    """
    if not isinstance(spec, str):
        raise TypeError(f"source spec must be a str, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise FrameSourceError("empty source spec; use pattern, synthetic, /dev/videoN, a folder or a video file")
    if text == "pattern":
        return PatternSource(size=size, start_index=start_index)
    chosen_seed = synthetic_seed(text, seed)
    if chosen_seed is not None:
        return SyntheticSource(seed=chosen_seed, size=size, start_index=start_index,
                               cache_frames=cache_frames, cache_dir=cache_dir)
    if re.fullmatch(r"(?:/dev/video)?\d+", text):
        if start_index:
            raise FrameSourceError("start_index is meaningless for a live V4L2 device")
        return V4L2Source(text, size=size)
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, size=size, loop=loop, start_index=start_index)
    if path.is_file():
        return VideoFileSource(path, size=size, loop=loop, start_index=start_index)
    raise FrameSourceError(
        f"source {spec!r} is not pattern, synthetic[:SEED], /dev/videoN, an existing folder or a video file")
