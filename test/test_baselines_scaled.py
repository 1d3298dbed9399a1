"""Downscale-code-upscale baselines: honest size header, exact output size, fewer bits than full size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sqgan_ros.evaluation.baselines import CodecError, bits_per_pixel, get_codec
from sqgan_ros.evaluation.baselines_scaled import SCALED, SIZE_HEADER, scaled_codec_class


def _photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(small, (512, 256), interpolation=cv2.INTER_CUBIC))


@pytest.mark.parametrize("base,factor", [("jpeg2000", 2), ("jpeg2000", 4), ("av1_intra", 2), ("hevc_intra", 4)])
def test_scaled_codec_roundtrip(base, factor) -> None:
    from sqgan_ros.evaluation.baselines import IMAGE_CODECS

    cls = scaled_codec_class(IMAGE_CODECS[base], factor)
    if not cls.is_available():
        pytest.fail(f"{cls.name} unavailable here: {cls.unavailable_reason()} (scripts/setup.sh installs it)")
    codec = cls()
    image = _photo()
    quality = (codec.quality_range[0] + codec.quality_range[1]) // 2
    data = codec.encode(image, quality)
    h, w = SIZE_HEADER.unpack_from(data)
    assert (h, w) == (256, 512)
    inner = get_codec(base).encode(cv2.resize(image, (512 // factor, 256 // factor), interpolation=cv2.INTER_AREA),
                                   quality)
    assert data[SIZE_HEADER.size:] == inner  # the base codec's stream, plus the counted header only
    out = codec.decode(data)
    assert out.shape == image.shape and out.dtype == np.uint8
    full = get_codec(base).encode(image, quality)
    assert bits_per_pixel(data, image.shape) < bits_per_pixel(full, image.shape)
    assert cls.name == f"{base}_x{factor}"


def test_scaled_codecs_refuse_bad_streams_and_factors() -> None:
    from sqgan_ros.evaluation.baselines import IMAGE_CODECS

    codec = scaled_codec_class(IMAGE_CODECS["jpeg2000"], 2)()
    with pytest.raises(CodecError, match="no size header"):
        codec.decode(b"\x00")
    with pytest.raises(CodecError, match="bad size header"):
        codec.decode(SIZE_HEADER.pack(0, 5) + b"junk")
    with pytest.raises(ValueError, match="factor"):
        scaled_codec_class(IMAGE_CODECS["jpeg2000"], 1)
    assert ("av1_intra", 2) in SCALED and ("jpeg2000", 4) in SCALED
