"""Classical still-image codecs as baselines for SQ-GAN, behind one ``ImageCodec`` interface.

Bits are counted honestly: ``encode`` returns the complete stream a sender would transmit
(file/container headers included) and ``decode`` rebuilds the image from exactly those bytes.

    rgb uint8 (H, W, 3) --encode(rgb, quality)--> bytes --decode--> rgb uint8 (H, W, 3)
                                                     |
                                      bpp = 8 * len(bytes) / (H * W)

Codecs (``IMAGE_CODECS``; ``quality`` is an int, higher = better and, in practice, more bytes):

====================  ======================================  ==========================
name                  stream sent                             quality
====================  ======================================  ==========================
jpeg                  JFIF file (Pillow/libjpeg, 4:2:0)        1..100 (libjpeg quality)
jpeg2000              raw J2K codestream (Pillow/OpenJPEG)     target rate in milli-bpp
webp                  RIFF WebP file (Pillow/libwebp)          0..100
avif                  AVIF file (Pillow/libavif)               0..100
heif                  HEIF file, HEVC intra (pillow-heif/x265) 0..100 (BPG stand-in)
hevc_intra            raw HEVC Annex-B, 1 frame (ffmpeg x265)  51 - CRF (0..51)
av1_intra             AV1 low-overhead OBU stream, 1 frame     63 - CRF (0..63)
                      (ffmpeg libaom-av1, all-intra)
====================  ======================================  ==========================

``find_quality_for_bpp`` binary-searches the highest quality whose stream fits a bit budget and
says when even the lowest quality does not (``reached=False``).
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass

import numpy as np

from sqgan_ros.evaluation.baselines_common import (
    CodecError,
    CodecUnavailableError,
    ImageCodec,
    bits_per_pixel,
    check_rgb,
)
from sqgan_ros.evaluation.baselines_ffmpeg import (
    AV1IntraCodec,
    DecodedFrameInfo,
    HEVCIntraCodec,
    decode_raw_frames,
    ffmpeg_encoders,
    ffmpeg_path,
    run_ffmpeg,
)
from sqgan_ros.evaluation.baselines_scaled import SCALED, scaled_codec_class

__all__ = [
    "CodecError", "CodecUnavailableError", "ImageCodec", "JPEGCodec", "JPEG2000Codec", "WebPCodec",
    "AVIFCodec", "HEIFCodec", "HEVCIntraCodec", "AV1IntraCodec", "IMAGE_CODECS", "get_codec",
    "available_codecs", "bits_per_pixel", "RateSearchResult", "find_quality_for_bpp",
    "ffmpeg_path", "ffmpeg_encoders", "run_ffmpeg", "decode_raw_frames", "DecodedFrameInfo", "check_rgb",
]


# ---------------------------------------------------------------------------------------- Pillow

def _pillow_reason(feature: str, hint: str) -> str | None:
    if importlib.util.find_spec("PIL") is None:
        return "Pillow is not installed (pip install pillow)"
    from PIL import features

    return None if features.check(feature) else f"this Pillow has no {feature} support ({hint})"


def _pillow_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    if not data:
        raise CodecError("empty stream")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise CodecError(f"cannot decode stream: {exc}") from exc


def _pillow_encode(image: np.ndarray, fmt: str, **params: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(check_rgb(image), mode="RGB").save(buf, fmt, **params)
    return buf.getvalue()


class JPEGCodec(ImageCodec):
    """Baseline JPEG (JFIF), 4:2:0 chroma, optimised Huffman tables.

    Args: none.
    """

    name = "jpeg"
    quality_range = (1, 100)
    stream = "JFIF file"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if Pillow has libjpeg, else what to install."""
        return _pillow_reason("jpg", "install a Pillow wheel with libjpeg")

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """A JFIF file at libjpeg ``quality``, 4:2:0 chroma, optimised Huffman tables."""
        return _pillow_encode(image, "JPEG", quality=self.check_quality(quality), subsampling="4:2:0",
                              optimize=True)

    def decode(self, data: bytes) -> np.ndarray:
        """Decode the stream with Pillow into uint8 RGB ``(H, W, 3)``."""
        return _pillow_decode(data)


class JPEG2000Codec(ImageCodec):
    """JPEG 2000 (OpenJPEG) raw codestream, rate-controlled, one quality layer.

    ``quality`` is the target rate in milli-bits-per-pixel (e.g. 20 -> 0.02 bpp), passed to
    OpenJPEG as compression ratio ``24 / bpp``. The codestream's headers put a floor of about
    0.01 bpp at 256x512; OpenJPEG lands within a few percent above that.
    """

    name = "jpeg2000"
    quality_range = (1, 24000)
    stream = "J2K codestream (no JP2 boxes)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if Pillow has OpenJPEG, else what to install."""
        return _pillow_reason("jpg_2000", "install a Pillow wheel with OpenJPEG")

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """A raw J2K codestream (irreversible wavelet) rate-controlled to ``quality / 1000`` bpp."""
        bpp = self.check_quality(quality) / 1000.0
        return _pillow_encode(image, "JPEG2000", quality_mode="rates", quality_layers=[24.0 / bpp],
                              no_jp2=True, irreversible=True)

    def decode(self, data: bytes) -> np.ndarray:
        """Decode the stream with Pillow into uint8 RGB ``(H, W, 3)``."""
        return _pillow_decode(data)


class WebPCodec(ImageCodec):
    """Lossy WebP (libwebp).

    Args:
        method: libwebp effort 0 (fast) .. 6 (best compression).
    """

    name = "webp"
    quality_range = (0, 100)
    stream = "RIFF WebP file"

    def __init__(self, method: int = 6) -> None:
        super().__init__()
        if not 0 <= method <= 6:
            raise ValueError(f"method must be in 0..6, got {method}")
        self.method = int(method)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if Pillow has libwebp, else what to install."""
        return _pillow_reason("webp", "install a Pillow wheel with libwebp")

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """A lossy WebP file at libwebp ``quality`` with this codec's ``method`` effort."""
        return _pillow_encode(image, "WEBP", quality=self.check_quality(quality), method=self.method)

    def decode(self, data: bytes) -> np.ndarray:
        """Decode the stream with Pillow into uint8 RGB ``(H, W, 3)``."""
        return _pillow_decode(data)


class AVIFCodec(ImageCodec):
    """AVIF (AV1 intra in a HEIF container) through Pillow >= 11.2's libavif plugin.

    Args:
        speed: libavif speed 0 (slowest, best) .. 10 (fastest).
    """

    name = "avif"
    quality_range = (0, 100)
    stream = "AVIF file"

    def __init__(self, speed: int = 6) -> None:
        super().__init__()
        if not 0 <= speed <= 10:
            raise ValueError(f"speed must be in 0..10, got {speed}")
        self.speed = int(speed)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if Pillow (>= 11.2) has libavif, else what to install."""
        return _pillow_reason("avif", "needs Pillow >= 11.2 built with libavif")

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """An AVIF file at libavif ``quality``, 4:2:0 chroma, with this codec's ``speed``."""
        return _pillow_encode(image, "AVIF", quality=self.check_quality(quality), speed=self.speed,
                              subsampling="4:2:0")

    def decode(self, data: bytes) -> np.ndarray:
        """Decode the stream with Pillow into uint8 RGB ``(H, W, 3)``."""
        return _pillow_decode(data)


class HEIFCodec(ImageCodec):
    """HEIF with HEVC intra (pillow-heif: libheif + x265 / libde265), 4:2:0.

    The stand-in for the BPG baseline of SQ-GAN. The HEIF boxes cost a few hundred bytes per
    image; see ``HEVCIntraCodec`` for the bare HEVC bitstream.
    """

    name = "heif"
    quality_range = (0, 100)
    stream = "HEIF file (HEVC intra)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if pillow-heif is installed with an HEVC encoder, else what is missing."""
        if importlib.util.find_spec("pillow_heif") is None:
            return "pillow-heif is not installed (pip install pillow-heif)"
        import pillow_heif

        info = pillow_heif.libheif_info()
        if not info.get("HEIF"):
            return "this pillow-heif has no HEVC encoder"
        return None

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """A HEIF file holding one HEVC intra image at ``quality``, 4:2:0 chroma."""
        import pillow_heif

        image = check_rgb(image)
        heif = pillow_heif.from_bytes(mode="RGB", size=(image.shape[1], image.shape[0]), data=image.tobytes())
        buf = io.BytesIO()
        heif.save(buf, quality=self.check_quality(quality), chroma=420)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode a HEIF file (HDR content converted to 8 bits) into uint8 RGB ``(H, W, 3)``."""
        import pillow_heif

        if not data:
            raise CodecError("empty stream")
        try:
            heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
            out = np.asarray(heif.to_pillow().convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CodecError(f"cannot decode HEIF stream: {exc}") from exc
        return out.copy()


# -------------------------------------------------------------------------------------- registry

IMAGE_CODECS: dict[str, type[ImageCodec]] = {
    cls.name: cls for cls in (JPEGCodec, JPEG2000Codec, WebPCodec, AVIFCodec, HEIFCodec, HEVCIntraCodec,
                              AV1IntraCodec)
}
# downscale by 2 or 4, code, upscale back: the honest low-rate baselines (baselines_scaled.py)
IMAGE_CODECS.update({cls.name: cls for cls in (scaled_codec_class(IMAGE_CODECS[base], factor)
                                               for base, factor in SCALED)})


def get_codec(name: str, **options: object) -> ImageCodec:
    """Construct a codec by registry name.

    Args:
        name: key of ``IMAGE_CODECS``.
        **options: the codec's constructor options (e.g. ``speed`` for AVIF).

    Raises:
        ValueError: unknown name. CodecUnavailableError: not installed here.
    """
    if name not in IMAGE_CODECS:
        raise ValueError(f"unknown codec {name!r}; known: {', '.join(IMAGE_CODECS)}")
    return IMAGE_CODECS[name](**options)


def available_codecs() -> dict[str, str | None]:
    """``{name: None if usable else the reason it is not}`` for every registered codec."""
    return {name: cls.unavailable_reason() for name, cls in IMAGE_CODECS.items()}


# ------------------------------------------------------------------------------------ rate search

@dataclass(frozen=True)
class RateSearchResult:
    """Outcome of ``find_quality_for_bpp``.

    Attributes:
        codec: codec name.
        target_bpp: the budget.
        reached: False when even the lowest quality exceeds the budget ("cannot reach"); the
            other fields then describe the lowest quality.
        quality: the highest quality found whose stream fits the budget.
        bpp: that stream's bits per pixel.
        data: that stream.
        encodes: how many encodes the search took.
    """

    codec: str
    target_bpp: float
    reached: bool
    quality: int
    bpp: float
    data: bytes
    encodes: int


def find_quality_for_bpp(codec: ImageCodec, image: np.ndarray, target_bpp: float) -> RateSearchResult:
    """Binary-search the highest integer quality whose complete stream is ``<= target_bpp``.

    Keeps the invariant ``bpp(low) <= target < bpp(high)``, so the returned stream never exceeds
    the budget even where a codec's size is not perfectly monotone in quality. The result lies
    within one quality step of the budget.

    Args:
        codec: the codec.
        image: uint8 RGB ``(H, W, 3)``.
        target_bpp: budget in bits per pixel (> 0).
    """
    image = check_rgb(image)
    target = float(target_bpp)
    if not np.isfinite(target) or target <= 0.0:
        raise ValueError(f"target_bpp must be a positive finite number, got {target_bpp}")
    cache: dict[int, bytes] = {}

    def stream(q: int) -> bytes:
        if q not in cache:
            cache[q] = codec.encode(image, q)
        return cache[q]

    def bpp(q: int) -> float:
        return bits_per_pixel(stream(q), image.shape)

    low, high = codec.quality_range
    if bpp(low) > target:
        return RateSearchResult(codec.name, target, False, low, bpp(low), stream(low), len(cache))
    if bpp(high) <= target:
        return RateSearchResult(codec.name, target, True, high, bpp(high), stream(high), len(cache))
    while high - low > 1:
        mid = (low + high) // 2
        if bpp(mid) <= target:
            low = mid
        else:
            high = mid
    return RateSearchResult(codec.name, target, True, low, bpp(low), stream(low), len(cache))
