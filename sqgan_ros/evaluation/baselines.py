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

import functools
import importlib.util
import io
import re
import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CodecError", "CodecUnavailableError", "ImageCodec", "JPEGCodec", "JPEG2000Codec", "WebPCodec",
    "AVIFCodec", "HEIFCodec", "HEVCIntraCodec", "AV1IntraCodec", "IMAGE_CODECS", "get_codec",
    "available_codecs", "bits_per_pixel", "RateSearchResult", "find_quality_for_bpp",
    "ffmpeg_path", "ffmpeg_encoders", "run_ffmpeg", "decode_raw_frames", "DecodedFrameInfo", "check_rgb",
]


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


# ---------------------------------------------------------------------------------------- ffmpeg

@functools.lru_cache(maxsize=1)
def ffmpeg_path() -> str | None:
    """Path of the ``ffmpeg`` binary, or ``None`` (Debian: ``apt-get install ffmpeg``)."""
    return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=1)
def ffmpeg_encoders() -> frozenset[str]:
    """Names of the video encoders this ffmpeg has (empty without ffmpeg)."""
    exe = ffmpeg_path()
    if exe is None:
        return frozenset()
    proc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30,
                          check=False)
    names = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "V":
            names.add(parts[1])
    return frozenset(names)


def run_ffmpeg(args: Sequence[str], data: bytes, timeout: float = 120.0) -> bytes:
    """Run ``ffmpeg`` with ``args`` (after the global quiet options), piping ``data`` through.

    Args:
        args: arguments, using ``-`` / ``pipe:`` for stdin and stdout.
        data: bytes for stdin.
        timeout: seconds before the process is killed.

    Returns:
        stdout.

    Raises:
        CodecUnavailableError: no ffmpeg binary.
        CodecError: non-zero exit status (message carries ffmpeg's stderr) or a timeout.
    """
    exe = ffmpeg_path()
    if exe is None:
        raise CodecUnavailableError("ffmpeg is not installed (apt-get install ffmpeg)")
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CodecError(f"ffmpeg timed out after {timeout} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise CodecError(f"ffmpeg failed ({proc.returncode}): {err}")
    return proc.stdout


def _even_rgb(image: np.ndarray) -> np.ndarray:
    image = check_rgb(image)
    if image.shape[0] % 2 or image.shape[1] % 2:
        raise ValueError(f"4:2:0 ffmpeg codecs need even image sides, got {image.shape[:2]}")
    return image


def _raw_input_args(height: int, width: int) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", "10", "-i", "pipe:"]


_SHOWINFO_N = re.compile(r"\bn:\s*(\d+)")
_SHOWINFO_POS = re.compile(r"\bpos:\s*(-?\d+)")
_SHOWINFO_SIZE = re.compile(r"\bs:(\d+)x(\d+)")


@dataclass(frozen=True)
class DecodedFrameInfo:
    """One frame ffmpeg's ``showinfo`` filter reported while decoding.

    Attributes:
        index: output frame number.
        pos: byte offset in the input stream of the packet the frame came from (-1 if unknown).
    """

    index: int
    pos: int


def decode_raw_frames(data: bytes, demuxer: str, extra: Sequence[str] = ()) -> tuple[list[np.ndarray], list[DecodedFrameInfo]]:
    """Decode a raw bitstream with ffmpeg (one run) into RGB frames.

    The frame size is read from the stream (ffmpeg's ``showinfo`` filter), so no side
    information is needed; every output frame is kept (``-fps_mode passthrough``).

    Args:
        data: the bitstream.
        demuxer: ffmpeg input format (``h264``, ``hevc``, ``obu``).
        extra: extra input options placed before ``-i`` (e.g. error concealment flags).

    Returns:
        ``(frames, infos)``: uint8 ``(H, W, 3)`` frames and their ``DecodedFrameInfo``.
    """
    exe = ffmpeg_path()
    if exe is None:
        raise CodecUnavailableError("ffmpeg is not installed (apt-get install ffmpeg)")
    if not data:
        raise CodecError("empty stream")
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "info", *extra, "-f", demuxer, "-i", "pipe:",
           "-vf", "showinfo", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CodecError("ffmpeg decode timed out") from exc
    log = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise CodecError(f"ffmpeg could not decode the {demuxer} stream: {log.strip()[-2000:]}")
    infos, size = [], None
    for line in log.splitlines():
        if "Parsed_showinfo" not in line or " n:" not in line:
            continue
        index, pos, dims = _SHOWINFO_N.search(line), _SHOWINFO_POS.search(line), _SHOWINFO_SIZE.search(line)
        if index is None or dims is None:
            continue
        size = (int(dims.group(2)), int(dims.group(1)))
        infos.append(DecodedFrameInfo(index=int(index.group(1)), pos=int(pos.group(1)) if pos else -1))
    if size is None:
        raise CodecError(f"ffmpeg decoded no frame from the {demuxer} stream")
    frame_bytes = size[0] * size[1] * 3
    raw = proc.stdout
    if len(raw) != frame_bytes * len(infos):
        raise CodecError(f"decoder returned {len(raw)} bytes for {len(infos)} frames of {size[1]}x{size[0]}")
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, size[0], size[1], 3)
    return [f.copy() for f in frames], infos


class _FFmpegIntraCodec(ImageCodec):
    """One frame through an ffmpeg video encoder; ``quality = max_crf - crf``."""

    encoder: str = ""
    muxer: str = ""
    max_crf: int = 63

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` if ffmpeg is installed and has ``encoder``, else what is missing."""
        if ffmpeg_path() is None:
            return "ffmpeg is not installed (apt-get install ffmpeg)"
        if cls.encoder not in ffmpeg_encoders():
            return f"this ffmpeg has no {cls.encoder} encoder"
        return None

    @abstractmethod
    def _encoder_args(self, crf: int) -> list[str]:
        """Output options for ffmpeg that select the encoder at ``crf``."""

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """One frame encoded by ffmpeg at CRF ``max_crf - quality``, yuv420p (image sides must be even)."""
        image = _even_rgb(image)
        crf = self.max_crf - self.check_quality(quality)
        args = [*_raw_input_args(*image.shape[:2]), "-frames:v", "1", *self._encoder_args(crf),
                "-pix_fmt", "yuv420p", "-f", self.muxer, "pipe:"]
        data = run_ffmpeg(args, image.tobytes())
        if not data:
            raise CodecError(f"{self.encoder} produced no bytes")
        return data

    def decode(self, data: bytes) -> np.ndarray:
        """Decode the stream with ffmpeg; exactly one frame must come out."""
        frames, _ = decode_raw_frames(data, self.muxer)
        if len(frames) != 1:
            raise CodecError(f"expected one frame, decoded {len(frames)}")
        return frames[0]


class HEVCIntraCodec(_FFmpegIntraCodec):
    """HEVC intra, bare Annex-B bitstream (VPS/SPS/PPS + one IDR; x265's info SEI disabled).

    Args:
        preset: x265 preset (``medium`` by default, like BPG's default effort).
    """

    name = "hevc_intra"
    quality_range = (0, 51)
    stream = "HEVC Annex-B bitstream (.hevc)"
    encoder = "libx265"
    muxer = "hevc"
    max_crf = 51

    def __init__(self, preset: str = "medium") -> None:
        super().__init__()
        self.preset = preset

    def _encoder_args(self, crf: int) -> list[str]:
        return ["-c:v", "libx265", "-preset", self.preset, "-crf", str(crf),
                "-x265-params", "info=0:keyint=1:log-level=error"]


class AV1IntraCodec(_FFmpegIntraCodec):
    """AV1 intra (libaom, all-intra usage, still-picture) as an AV1 low-overhead OBU stream.

    The stream is a temporal delimiter + sequence header + frame (the ``.obu`` format).

    Args:
        cpu_used: libaom speed 0 (slowest) .. 9.
    """

    name = "av1_intra"
    quality_range = (0, 63)
    stream = "AV1 low-overhead OBU stream (.obu)"
    encoder = "libaom-av1"
    muxer = "obu"
    max_crf = 63

    def __init__(self, cpu_used: int = 6) -> None:
        super().__init__()
        if not 0 <= cpu_used <= 9:
            raise ValueError(f"cpu_used must be in 0..9, got {cpu_used}")
        self.cpu_used = int(cpu_used)

    def _encoder_args(self, crf: int) -> list[str]:
        return ["-c:v", "libaom-av1", "-usage", "allintra", "-still-picture", "1",
                "-cpu-used", str(self.cpu_used), "-crf", str(crf)]


# -------------------------------------------------------------------------------------- registry

IMAGE_CODECS: dict[str, type[ImageCodec]] = {
    cls.name: cls for cls in (JPEGCodec, JPEG2000Codec, WebPCodec, AVIFCodec, HEIFCodec, HEVCIntraCodec,
                              AV1IntraCodec)
}


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
