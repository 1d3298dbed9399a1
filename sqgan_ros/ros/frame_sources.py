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

The sources read with OpenCV live in :mod:`sqgan_ros.ros.capture_sources`, the base types in
:mod:`sqgan_ros.ros.frame_source_base`; this module opens a spec and re-exports them.

Usage::

    with open_source("pattern", size=(240, 320)) as source:
        frame = source.read()          # None once a non-looping source is exhausted
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.ros.capture_sources import IMAGE_SUFFIXES, FolderSource, V4L2Source, VideoFileSource
from sqgan_ros.ros.frame_source_base import DEFAULT_SIZE, Frame, FrameSource, FrameSourceError

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
