"""ffmpeg for the baselines: finding it, piping through it, decoding raw frames, two intra codecs.

Raw-frame decoding reports each frame's input byte offset (showinfo ``pos``); the still-image
codecs are HEVC intra (libx265) and AV1 intra (libaom).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sqgan_ros.evaluation.baselines_common import CodecError, CodecUnavailableError, ImageCodec, check_rgb

__all__ = ["ffmpeg_path", "ffmpeg_encoders", "run_ffmpeg", "DecodedFrameInfo", "decode_raw_frames", "HEVCIntraCodec",
           "AV1IntraCodec"]


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
