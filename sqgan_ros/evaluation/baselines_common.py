"""What every classical baseline codec shares: its errors, the RGB check, bits per pixel, the interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["CodecError", "CodecUnavailableError", "check_rgb", "bits_per_pixel", "ImageCodec"]


class CodecError(RuntimeError):
    """An external encoder/decoder failed or returned something unusable."""


class CodecUnavailableError(RuntimeError):
    """The codec's library or binary is not installed here (the message says what to install)."""


def check_rgb(image: np.ndarray) -> np.ndarray:
    """Validate a uint8 ``(H, W, 3)`` RGB image and return it C-contiguous.

    Args:
        image: the image.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    return np.ascontiguousarray(image)


def bits_per_pixel(data: bytes, shape: Sequence[int]) -> float:
    """``8 * len(data) / (H * W)`` for an image of shape ``(H, W, ...)``.

    Args:
        data: the encoded stream.
        shape: image shape; only H and W are used.
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ValueError(f"invalid image shape {tuple(shape)}")
    return 8.0 * len(data) / (height * width)


class ImageCodec(ABC):
    """A still-image codec: ``encode(rgb, quality) -> bytes`` and ``decode(bytes) -> rgb``.

    Attributes:
        name: registry name (``IMAGE_CODECS`` key).
        quality_range: ``(lowest, highest)`` valid integer qualities; higher means better.
        stream: what the bytes are (container / bitstream format), for reports.
    """

    name: str = ""
    quality_range: tuple[int, int] = (0, 100)
    stream: str = ""

    def __init__(self) -> None:
        problem = self.unavailable_reason()
        if problem is not None:
            raise CodecUnavailableError(f"{self.name}: {problem}")

    @classmethod
    @abstractmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if the codec works here, else what is missing and how to install it."""

    @classmethod
    def is_available(cls) -> bool:
        """Whether the codec's library/binary is installed."""
        return cls.unavailable_reason() is None

    def check_quality(self, quality: int) -> int:
        """Validate ``quality`` against ``quality_range`` and return it as an int.

        Args:
            quality: requested quality.
        """
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
            raise TypeError(f"quality must be an int, got {type(quality).__name__}")
        low, high = self.quality_range
        if not low <= quality <= high:
            raise ValueError(f"{self.name} quality must be in [{low}, {high}], got {quality}")
        return int(quality)

    @abstractmethod
    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """Encode a uint8 RGB ``(H, W, 3)`` image into the complete stream to send.

        Args:
            image: the image.
            quality: in ``quality_range``.
        """

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode a stream produced by ``encode`` into uint8 RGB ``(H, W, 3)``.

        Args:
            data: the stream.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
