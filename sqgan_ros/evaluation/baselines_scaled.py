"""Downscale, code, upscale: what an engineer does to reach 0.01-0.03 bpp with a classical codec.

At full resolution the classical codecs cannot go below ~0.03-0.05 bpp on 256x512 frames, so a
comparison there is won by default. The honest baseline at low rates sends the image at 1/2 or
1/4 of its size and upscales it at the receiver::

    rgb (H, W) --INTER_AREA--> (H/s, W/s) --base codec--> bytes --decode--> Lanczos --> (H, W)
    stream = 4-byte header (H, W as big-endian uint16) + the base codec's complete stream

The header is counted: a receiver must know the size to upscale to. Registered in
``baselines.IMAGE_CODECS`` as ``<base>_x<s>`` (e.g. ``av1_intra_x2``) for the bases and factors of
:data:`SCALED` (AV1 intra, HEVC intra and JPEG 2000 at 2x and 4x).
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from sqgan_ros.evaluation.baselines_common import CodecError, ImageCodec, check_rgb

__all__ = ["SCALED", "SIZE_HEADER", "scaled_codec_class"]

SIZE_HEADER = struct.Struct(">HH")
SCALED: tuple[tuple[str, int], ...] = tuple((base, s) for base in ("av1_intra", "hevc_intra", "jpeg2000")
                                            for s in (2, 4))


def scaled_codec_class(base: type[ImageCodec], factor: int) -> type[ImageCodec]:
    """The ``ImageCodec`` class that codes at ``1/factor`` of the size with ``base``."""
    if int(factor) != factor or factor < 2:
        raise ValueError(f"factor must be an integer >= 2, got {factor}")
    factor = int(factor)

    class ScaledCodec(ImageCodec):
        name = f"{base.name}_x{factor}"
        quality_range = base.quality_range
        scale_factor = factor
        stream = f"4-byte size + {base.stream} at 1/{factor} size, Lanczos upscaling"

        def __init__(self, **options: object) -> None:
            super().__init__()
            self.base = base(**options)

        @classmethod
        def unavailable_reason(cls) -> str | None:
            return base.unavailable_reason()

        def encode(self, image: np.ndarray, quality: int) -> bytes:
            image = check_rgb(image)
            h, w = image.shape[:2]
            small = (max(2, w // factor), max(2, h // factor))
            reduced = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
            return SIZE_HEADER.pack(h, w) + self.base.encode(reduced, self.check_quality(quality))

        def decode(self, data: bytes) -> np.ndarray:
            if len(data) < SIZE_HEADER.size:
                raise CodecError(f"{self.name}: stream of {len(data)} bytes has no size header")
            h, w = SIZE_HEADER.unpack_from(data)
            if h < 1 or w < 1:
                raise CodecError(f"{self.name}: bad size header {h}x{w}")
            small = self.base.decode(data[SIZE_HEADER.size:])
            return np.ascontiguousarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LANCZOS4))

        def __repr__(self) -> str:
            return f"{base.__name__}_x{factor}({self.base!r})"

    ScaledCodec.__name__ = ScaledCodec.__qualname__ = f"{base.__name__}Scaled{factor}"
    return ScaledCodec
