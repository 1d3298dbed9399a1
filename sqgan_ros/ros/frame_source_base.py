"""What every camera frame source is: :class:`FrameSource`, :class:`Frame`, :class:`FrameSourceError`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["DEFAULT_SIZE", "Frame", "FrameSource", "FrameSourceError", "check_size"]

#: (H, W) of generated sources (pattern, synthetic) when no size is given: the codec's size.
DEFAULT_SIZE: tuple[int, int] = (256, 512)


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


def check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """A source's ``(height, width)`` checked (positive ints), or None (the source's own size)."""
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
        self.size = check_size(size)
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
