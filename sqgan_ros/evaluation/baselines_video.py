"""Low-latency x264 / x265 video baselines through ffmpeg pipes, with frame-loss simulation.

Settings are what a teleoperation user of ``ffmpeg_image_transport`` would pick: a fast preset,
``tune=zerolatency``, a fixed GOP (default 20 frames = 2 s at 10 fps), no B-frames, no scene-cut
keyframes, and a target bitrate with a VBV buffer (maxrate = bitrate, buffer = ``vbv_seconds``
of it), i.e. CBR-like without filler data.

    frames (uint8 RGB) --rgb24 pipe--> ffmpeg libx264/libx265 --Annex-B pipe--> stream bytes
        stream --split_access_units--> one access unit (AU) per frame (sizes = bits per frame)
        AUs --drop some--> ffmpeg decoder (error concealment) --> frames, aligned to the input
            by each decoded frame's input byte offset (showinfo ``pos``)

Bits are the raw Annex-B stream (start codes, parameter sets, SEI included): what an RTP/DDS
transport would carry, minus its own packet headers. x265's encoder-settings SEI is switched
off (``info=0``); x264's one-off version SEI (~0.6 kB in the first frame) cannot be switched off
from ffmpeg and is counted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from sqgan_ros.evaluation.baselines import (
    CodecError,
    CodecUnavailableError,
    check_rgb,
    decode_raw_frames,
    ffmpeg_encoders,
    ffmpeg_path,
    run_ffmpeg,
)

__all__ = [
    "VIDEO_CODECS", "video_scale", "VideoSettings", "EncodedVideo", "DecodedVideo", "encode_video", "decode_video",
    "split_access_units", "drop_frames", "simulate_frame_loss", "hold_last_frame", "VideoRun", "run_video_baseline",
]

#: Video codec name -> (ffmpeg encoder, raw Annex-B format).
VIDEO_CODECS: dict[str, tuple[str, str]] = {"x264": ("libx264", "h264"), "x265": ("libx265", "hevc")}
# The same encoders on frames downscaled by 2 or 4 (INTER_AREA) and upscaled back for the viewer
# (Lanczos): what an engineer does to reach a few kbit/s. The stream's own SPS carries the small
# size; the viewer's size is the camera's, agreed once when the stream starts.
VIDEO_CODECS.update({f"{name}_x{s}": VIDEO_CODECS[name] for name in ("x264", "x265") for s in (2, 4)})


def video_scale(codec: str) -> int:
    """The downscaling factor of a video baseline name (``x265_x2`` -> 2, ``x265`` -> 1)."""
    if codec not in VIDEO_CODECS:
        raise ValueError(f"codec must be one of {list(VIDEO_CODECS)}, got {codec!r}")
    head, _, tail = codec.rpartition("_x")
    return int(tail) if head and tail.isdigit() else 1

# Decoder options: conceal errors instead of giving up, and output frames even when their
# references are missing (as a live viewer does).
_CONCEALMENT = ["-err_detect", "ignore_err", "-flags2", "+showall", "-ec", "guess_mvs+deblock+favor_inter"]


@dataclass(frozen=True)
class VideoSettings:
    """Encoder settings.

    Attributes:
        codec: ``"x264"`` or ``"x265"``.
        kbps: target bitrate in kbit/s (1000 bit/s).
        fps: frame rate the stream is coded for (the rate control's time base).
        gop: keyframe interval in frames.
        preset: x264/x265 preset (``ultrafast`` .. ``veryfast`` for teleop).
        vbv_seconds: VBV buffer size in seconds of ``kbps``.
    """

    codec: str = "x264"
    kbps: float = 50.0
    fps: float = 10.0
    gop: int = 20
    preset: str = "veryfast"
    vbv_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.codec not in VIDEO_CODECS:
            raise ValueError(f"codec must be one of {list(VIDEO_CODECS)}, got {self.codec!r}")
        for name in ("kbps", "fps", "vbv_seconds"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.gop < 1:
            raise ValueError(f"gop must be >= 1, got {self.gop}")

    def encoder_args(self) -> list[str]:
        """Output options for ffmpeg that apply these settings (bitrate capped by a VBV buffer, fixed GOP, no B-frames)."""
        rate = max(1, int(round(self.kbps)))
        vbv = max(1, int(round(self.kbps * self.vbv_seconds)))
        if self.codec == "x264":
            return ["-c:v", "libx264", "-preset", self.preset, "-tune", "zerolatency", "-g", str(self.gop),
                    "-keyint_min", str(self.gop), "-sc_threshold", "0", "-bf", "0", "-b:v", f"{rate}k",
                    "-maxrate", f"{rate}k", "-bufsize", f"{vbv}k", "-f", "h264"]
        params = (f"keyint={self.gop}:min-keyint={self.gop}:scenecut=0:bframes=0:vbv-maxrate={rate}:"
                  f"vbv-bufsize={vbv}:info=0:log-level=error")
        return ["-c:v", "libx265", "-preset", self.preset, "-tune", "zerolatency", "-b:v", f"{rate}k",
                "-x265-params", params, "-f", "hevc"]


@dataclass(frozen=True)
class EncodedVideo:
    """An encoded sequence.

    Attributes:
        settings: the encoder settings.
        size: ``(H, W)`` of the frames.
        access_units: one Annex-B access unit per input frame, in order.
    """

    settings: VideoSettings
    size: tuple[int, int]
    access_units: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        """The whole Annex-B stream."""
        return b"".join(self.access_units)

    @property
    def total_bytes(self) -> int:
        """Bytes of the whole stream."""
        return sum(len(au) for au in self.access_units)

    @property
    def frame_bytes(self) -> list[int]:
        """Bytes per frame."""
        return [len(au) for au in self.access_units]

    @property
    def kbps(self) -> float:
        """Achieved bitrate in kbit/s at ``settings.fps``."""
        return 8.0 * self.total_bytes * self.settings.fps / (1000.0 * len(self.access_units))

    @property
    def bpp(self) -> float:
        """Achieved bits per pixel, averaged over frames."""
        return 8.0 * self.total_bytes / (len(self.access_units) * self.size[0] * self.size[1])


@dataclass(frozen=True)
class DecodedVideo:
    """Frames as the receiver got them, aligned with the input sequence.

    Attributes:
        frames: one entry per input frame: the decoded frame, or ``None`` where nothing was
            decoded for it (dropped, or undecodable before the first keyframe).
        received: bool per input frame: its access unit reached the decoder.
        bytes_received: bytes of the access units that reached the decoder.
    """

    frames: list[np.ndarray | None]
    received: np.ndarray
    bytes_received: int = field(default=0)


def _nal_units(data: bytes) -> list[tuple[int, int]]:
    """``(start, payload_start)`` of every NAL unit: the start-code offset and first header byte."""
    units, i, n = [], 0, len(data)
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0 or j + 3 >= n:
            break
        start = j - 1 if j > 0 and data[j - 1] == 0 else j
        units.append((start, j + 3))
        i = j + 3
    return units


def _starts_picture(data: bytes, payload: int, codec: str) -> tuple[bool, bool]:
    """``(is_vcl, first_slice_of_picture)`` for the NAL unit whose header starts at ``payload``."""
    if codec == "x264":
        nal_type = data[payload] & 0x1F
        if 1 <= nal_type <= 5:
            # first_mb_in_slice is ue(v); its first bit is 1 exactly when it equals 0.
            return True, payload + 1 < len(data) and bool(data[payload + 1] & 0x80)
        return False, False
    nal_type = (data[payload] >> 1) & 0x3F
    if nal_type <= 31:
        # first_slice_segment_in_pic_flag is the first bit after the 2-byte NAL header.
        return True, payload + 2 < len(data) and bool(data[payload + 2] & 0x80)
    return False, False


def split_access_units(data: bytes, codec: str) -> list[bytes]:
    """Split an Annex-B stream into access units (one coded picture each).

    A new AU starts at the first slice of a picture, together with the non-VCL NAL units (AUD,
    parameter sets, prefix SEI) right before it; suffix NAL units stay with the previous AU.

    Args:
        data: H.264 (``codec="x264"``) or HEVC (``"x265"``) Annex-B stream.
        codec: ``"x264"`` or ``"x265"``.
    """
    if codec not in VIDEO_CODECS:
        raise ValueError(f"codec must be one of {list(VIDEO_CODECS)}, got {codec!r}")
    units = _nal_units(data)
    if not units:
        raise ValueError("no Annex-B start code found")
    boundaries, prefix_start, seen_picture = [], None, False
    for start, payload in units:
        is_vcl, first = _starts_picture(data, payload, codec)
        if is_vcl:
            if first:
                boundaries.append(prefix_start if prefix_start is not None else start)
                seen_picture = True
            prefix_start = None
        else:
            nal_type = data[payload] & 0x1F if codec == "x264" else (data[payload] >> 1) & 0x3F
            suffix = codec == "x265" and nal_type in (36, 37, 40)  # EOS, EOB, suffix SEI
            if not suffix and prefix_start is None:
                prefix_start = start
    if not seen_picture:
        raise ValueError("stream has no coded picture")
    boundaries[0] = 0
    ends = boundaries[1:] + [len(data)]
    return [data[b:e] for b, e in zip(boundaries, ends)]


def encode_video(frames: Sequence[np.ndarray], settings: VideoSettings) -> EncodedVideo:
    """Encode RGB frames with ffmpeg (stdin/stdout pipes, no temporary files).

    Args:
        frames: uint8 ``(H, W, 3)`` frames of one size with even sides.
        settings: encoder settings.

    Raises:
        CodecUnavailableError: no ffmpeg or no such encoder. CodecError: ffmpeg failed or the
        stream does not hold one picture per frame.
    """
    if len(frames) == 0:
        raise ValueError("no frames")
    first = check_rgb(frames[0])
    height, width = first.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 video needs even frame sides, got {height}x{width}")
    encoder, _ = VIDEO_CODECS[settings.codec]
    if ffmpeg_path() is None or encoder not in ffmpeg_encoders():
        raise CodecUnavailableError(f"ffmpeg with {encoder} is needed (apt-get install ffmpeg)")
    raw = bytearray()
    for i, frame in enumerate(frames):
        frame = check_rgb(frame)
        if frame.shape != first.shape:
            raise ValueError(f"frame {i} has shape {frame.shape}, expected {first.shape}")
        raw += frame.tobytes()
    args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"{settings.fps:g}",
            "-i", "pipe:", "-pix_fmt", "yuv420p", *settings.encoder_args(), "pipe:"]
    data = run_ffmpeg(args, bytes(raw), timeout=60.0 + 2.0 * len(frames))
    units = split_access_units(data, settings.codec)
    if len(units) != len(frames):
        raise CodecError(f"{encoder} produced {len(units)} pictures for {len(frames)} frames")
    return EncodedVideo(settings=settings, size=(height, width), access_units=tuple(units))


def decode_video(video: EncodedVideo, received: Sequence[bool] | np.ndarray | None = None) -> DecodedVideo:
    """Decode the access units marked ``received`` (all by default), concealing errors.

    The lossy stream is the received AUs concatenated. Each decoded frame is matched back to the
    input frame whose AU its packet came from (by byte offset), so dropped or undecodable frames
    show up as ``None``.

    Args:
        video: an encoded sequence.
        received: bool per frame; ``False`` drops that frame's whole AU.
    """
    count = len(video.access_units)
    mask = np.ones(count, dtype=bool) if received is None else np.asarray(received, dtype=bool)
    if mask.shape != (count,):
        raise ValueError(f"received must have one entry per frame ({count}), got shape {mask.shape}")
    out: list[np.ndarray | None] = [None] * count
    kept = np.flatnonzero(mask)
    if kept.size == 0:
        return DecodedVideo(frames=out, received=mask, bytes_received=0)
    offsets, position = [], 0
    for idx in kept:
        offsets.append(position)
        position += len(video.access_units[idx])
    stream = b"".join(video.access_units[i] for i in kept)
    _, demuxer = VIDEO_CODECS[video.settings.codec]
    try:
        frames, infos = decode_raw_frames(stream, demuxer, extra=_CONCEALMENT if video.settings.codec == "x264"
                                          else ["-err_detect", "ignore_err"])
    except CodecError:
        if mask.all():
            raise
        return DecodedVideo(frames=out, received=mask, bytes_received=position)  # nothing decodable
    starts = np.asarray(offsets)
    for frame, info in zip(frames, infos):
        if info.pos < 0:
            raise CodecError("ffmpeg did not report packet positions; cannot align decoded frames")
        slot = int(np.searchsorted(starts, info.pos, side="right")) - 1
        if slot >= 0 and out[kept[slot]] is None:
            out[kept[slot]] = frame
    return DecodedVideo(frames=out, received=mask, bytes_received=position)


def drop_frames(count: int, drop_rate: float, seed: int = 0, protect_first: bool = False) -> np.ndarray:
    """Random i.i.d. frame-loss pattern: bool per frame, ``True`` = received.

    Args:
        count: number of frames.
        drop_rate: probability in [0, 1) that a frame's AU is lost.
        seed: RNG seed (patterns are reproducible).
        protect_first: never drop frame 0 (the first keyframe).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate}")
    received = np.random.default_rng(seed).random(count) >= drop_rate
    if protect_first and count:
        received[0] = True
    return received


def simulate_frame_loss(video: EncodedVideo, drop_rate: float, seed: int = 0,
                        protect_first: bool = False) -> DecodedVideo:
    """Drop whole encoded frames at random (``drop_frames``) and decode what remains.

    Args:
        video: an encoded sequence.
        drop_rate: probability that a frame's AU is lost.
        seed: RNG seed.
        protect_first: never drop the first keyframe.
    """
    mask = drop_frames(len(video.access_units), drop_rate, seed, protect_first)
    return decode_video(video, mask)


def hold_last_frame(decoded: DecodedVideo | Sequence[np.ndarray | None],
                    fill: np.ndarray | None = None) -> list[np.ndarray]:
    """What a viewer shows: each missing frame replaced by the last shown one.

    Args:
        decoded: receiver output, or one decoded frame (None: nothing decoded) per input frame.
        fill: shown before anything was decoded (default: black of the decoded size).

    Raises:
        ValueError: nothing was decoded and no ``fill`` was given.
    """
    frames = decoded.frames if isinstance(decoded, DecodedVideo) else list(decoded)
    shown, last = [], fill
    if last is None:
        first = next((f for f in frames if f is not None), None)
        if first is None:
            raise ValueError("no frame was decoded; pass fill=")
        last = np.zeros_like(first)
    for frame in frames:
        if frame is not None:
            last = frame
        shown.append(last)
    return shown


@dataclass(frozen=True)
class VideoRun:
    """One sequence through a video baseline, as the viewer saw it.

    Attributes:
        frame_bytes: bytes of each frame's access unit (sent, whether received or not).
        shown: one frame per input frame (missing ones hold the last shown, black before any).
        decoded: bool per input frame: the decoder produced it.
        encode_s: seconds spent encoding.
        decode_s: seconds spent decoding.
    """

    frame_bytes: list[int]
    shown: list[np.ndarray]
    decoded: list[bool]
    encode_s: float
    decode_s: float


def run_video_baseline(frames: Sequence[np.ndarray], settings: VideoSettings,
                       received: Sequence[bool] | np.ndarray | None = None) -> VideoRun:
    """Encode ``frames``, drop the frames ``received`` marks False, decode and hold the last frame.

    The one video-baseline run of the evaluation (the sweep's x264/x265 points and the video
    evaluator's lossy runs).

    Args:
        frames: uint8 RGB frames of one sequence.
        settings: codec and rate.
        received: bool per frame (None: every frame arrives).
    """
    factor = video_scale(settings.codec)
    if factor > 1:  # the base encoder's own name: stream parsing (access units) goes by it
        settings = dataclasses.replace(settings, codec=settings.codec.rpartition("_x")[0])
    h, w = frames[0].shape[:2]
    t0 = time.perf_counter()
    if factor > 1:
        small = (max(2, (w // factor) & ~1), max(2, (h // factor) & ~1))
        frames_in = [cv2.resize(f, small, interpolation=cv2.INTER_AREA) for f in frames]
    else:
        frames_in = list(frames)
    video = encode_video(frames_in, settings)
    t1 = time.perf_counter()
    decoded = decode_video(video, received)
    shown = hold_last_frame(decoded, fill=np.zeros_like(frames_in[0]))
    if factor > 1:
        shown = [cv2.resize(f, (w, h), interpolation=cv2.INTER_LANCZOS4) for f in shown]
    t2 = time.perf_counter()
    return VideoRun(list(video.frame_bytes), shown, [f is not None for f in decoded.frames], t1 - t0, t2 - t1)
