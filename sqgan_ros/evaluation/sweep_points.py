"""The sweep's codec runs: bytes per frame and reconstructions of SQ-GAN and the baselines.

Bits are ``len(bytes)`` of the complete stream each codec would send (the SQ-GAN frame with its
header and CRC; each baseline's file / Annex-B stream).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from sqgan_ros.evaluation.eval_sets import EvalSet
from sqgan_ros.ros.message_size import semantic_frame_overhead

__all__ = ["Point", "kbps_at", "sqgan_points", "image_codec_points", "video_codec_points"]


@dataclass
class Point:
    """One operating point of one codec on one set: what was sent and what came out.

    Args:
        codec: codec name (``CODEC_LABELS`` key).
        kind: ``"semantic"`` (SQ-GAN), ``"image"`` or ``"video"``.
        setting: human-readable setting (``keep=0.25``, ``q=30``, ``kbps=20``, ``bpp<=0.04``).
        frame_bytes: bytes sent per frame (video: bytes of each frame's access unit).
        recon: decoded frames, aligned with the set.
        decoded_labels: SQ-GAN's decoded semantic maps (None for other codecs).
        overhead_bytes: ROS message overhead per frame beyond ``frame_bytes`` (SQ-GAN only).
        reached: per frame, whether a bit budget was met (target-bpp points only).
        encode_ms: mean encode time per frame.
        decode_ms: mean decode time per frame.
    """

    codec: str
    kind: str
    setting: str
    frame_bytes: list[int]
    recon: list[np.ndarray]
    decoded_labels: list[np.ndarray] | None = None
    overhead_bytes: list[int] | None = None
    reached: list[bool] | None = None
    encode_ms: float = float("nan")
    decode_ms: float = float("nan")


def kbps_at(bpp: float, size: tuple[int, int], fps: float) -> float:
    """kbit/s (1000 bit/s) of a stream of ``bpp`` bits per pixel at ``size`` and ``fps``.

    Args:
        bpp: bits per pixel.
        size: ``(H, W)``.
        fps: frames per second.
    """
    return bpp * size[0] * size[1] * fps / 1000.0


def _to_tensor(image: np.ndarray, device: Any) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def _frame_keeping(enc: Any, header: Any, analysis: Any, ratios: Callable[[float], Any], n: int, priors: Any,
                   k: int) -> bytes:
    """The entropy-coded frame that keeps ``k`` of the ``n`` image latents of ``analysis``."""
    from sqgan_ros.bitstream import encode_frame

    return encode_frame(header, enc.select(analysis, ratios(k / n)), priors)


def _largest_fitting(frame_at: Callable[[int], bytes], n: int, limit: float) -> tuple[int, bool]:
    """Largest latent count ``k`` in ``1..n`` whose frame fits in ``limit`` bytes, and whether any fits.

    Binary search (frames grow with ``k``); when even ``k = 1`` is too large, ``(1, False)``.
    """
    lo, hi = 1, n
    if len(frame_at(lo)) > limit:
        return lo, False
    if len(frame_at(hi)) <= limit:
        return hi, True
    while hi - lo > 1:  # invariant: size(lo) <= limit < size(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if len(frame_at(mid)) <= limit else (lo, mid)
    return lo, True


def sqgan_points(evalset: EvalSet, model: Any, keep_ratios: Sequence[float], target_bpps: Sequence[float],
                 semantic_keep_ratio: float | None, transmitter_labels: list[np.ndarray],
                 device: str = "auto") -> list[Point]:
    """SQ-GAN at fixed keep ratios and at per-frame bit budgets; bytes decoded by the receiver.

    Each frame is analysed once (``Transmitter.analyse``); every operating point is a selection
    of that analysis, entropy-coded into a real frame and decoded by ``SemanticDecoder``.
    A bit budget takes, per frame, the largest image keep ratio (a whole number of latents)
    whose frame fits; frames where even one latent does not fit are sent at one latent and
    marked not reached.

    Args:
        evalset: the frames.
        model: a ``LoadedModel`` or model file path.
        keep_ratios: image keep ratios.
        target_bpps: per-frame budgets.
        semantic_keep_ratio: semantic ratio (None: equal to the image ratio).
        transmitter_labels: label map given to the transmitter for each frame.
        device: torch device.
    """
    import torch

    from sqgan_ros.api import SemanticDecoder, SemanticEncoder, _resize
    from sqgan_ros.bitstream import FrameHeader, FrameType, encode_frame
    from sqgan_ros.codec.model import KeepRatios
    from sqgan_ros.codec.precision import autocast

    enc = SemanticEncoder(model, device=device)
    dec = SemanticDecoder(enc.loaded, device=device)
    loaded, dev = enc.loaded, enc.device
    specs: list[tuple[str, float | None, float | None]] = [(f"keep={r:g}", r, None) for r in keep_ratios]
    specs += [(f"bpp<={b:g}", None, b) for b in target_bpps]
    out = {s[0]: Point("sqgan", "semantic", s[0], [], [], [], [], [] if s[2] is not None else None)
           for s in specs}
    enc_ms = {s[0]: 0.0 for s in specs}
    dec_ms = {s[0]: 0.0 for s in specs}

    def ratios(r: float) -> KeepRatios:
        return KeepRatios(semantic_keep_ratio if semantic_keep_ratio is not None else r, r)

    for i, image in enumerate(evalset.images):
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        small = _resize(image, loaded.config.image_size, labels=False)
        small_lab = _resize(transmitter_labels[i], loaded.config.image_size, labels=True)
        with torch.inference_mode(), autocast(dev, enc.dtype):  # the API's precision
            x = _to_tensor(small, dev)
            lab = torch.from_numpy(small_lab.astype(np.int64)).unsqueeze(0).to(dev)
            analysis = loaded.model.transmitter.analyse(x, lab)
        analyse_ms = (time.perf_counter() - t0) * 1000.0
        n = analysis.image.grid[0] * analysis.image.grid[1]
        header = FrameHeader(model_id=loaded.id_bytes, image_size=(h, w), model_size=loaded.config.image_size,
                             frame_type=FrameType.INTRA, frame_id=i)
        # frame with the k most important image latents (memoised: the budget search revisits k)
        frame_at = functools.cache(functools.partial(_frame_keeping, enc, header, analysis, ratios, n, loaded.priors))
        for setting, ratio, budget in specs:
            t1 = time.perf_counter()
            reached = True
            if ratio is not None:
                data = encode_frame(header, enc.select(analysis, ratios(ratio)), loaded.priors)
            else:
                k, reached = _largest_fitting(frame_at, n, budget * h * w / 8.0)
                data = frame_at(k)
            enc_ms[setting] += analyse_ms + (time.perf_counter() - t1) * 1000.0
            t2 = time.perf_counter()
            decoded = dec.decode(data)
            dec_ms[setting] += (time.perf_counter() - t2) * 1000.0
            p = out[setting]
            p.frame_bytes.append(len(data))
            p.recon.append(decoded.image)
            p.decoded_labels.append(decoded.labels)
            p.overhead_bytes.append(semantic_frame_overhead(data)[0])
            if p.reached is not None:
                p.reached.append(reached)
    for setting, p in out.items():
        p.encode_ms = enc_ms[setting] / max(len(evalset), 1)
        p.decode_ms = dec_ms[setting] / max(len(evalset), 1)
    return list(out.values())


def image_codec_points(evalset: EvalSet, codec_name: str, qualities: Sequence[int]) -> list[Point]:
    """A still-image codec at each quality on every frame.

    Args:
        evalset: the frames.
        codec_name: ``baselines.IMAGE_CODECS`` name.
        qualities: codec qualities.
    """
    from sqgan_ros.evaluation.baselines import get_codec

    codec = get_codec(codec_name)
    points = []
    for q in qualities:
        p = Point(codec_name, "image", f"q={q}", [], [])
        t_enc = t_dec = 0.0
        for image in evalset.images:
            t0 = time.perf_counter()
            data = codec.encode(image, q)
            t1 = time.perf_counter()
            recon = codec.decode(data)
            t_enc += t1 - t0
            t_dec += time.perf_counter() - t1
            if recon.shape != image.shape:
                recon = cv2.resize(recon, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
            p.frame_bytes.append(len(data))
            p.recon.append(recon)
        p.encode_ms, p.decode_ms = 1000.0 * t_enc / len(evalset), 1000.0 * t_dec / len(evalset)
        points.append(p)
    return points


def video_codec_points(evalset: EvalSet, codec_name: str, kbps: Sequence[float], fps: float, gop: int,
                       preset: str) -> list[Point]:
    """A low-latency video codec at each bitrate, one stream per clip, no frame loss.

    Frames the decoder produced nothing for (none expected without loss) show the last frame.

    Args:
        evalset: the frames (clips are coded as separate streams).
        codec_name: ``x264`` | ``x265``.
        kbps: target bitrates.
        fps: stream frame rate.
        gop: keyframe interval.
        preset: encoder preset.
    """
    from sqgan_ros.evaluation.baselines_video import VideoSettings, run_video_baseline

    points = []
    for rate in kbps:
        settings = VideoSettings(codec=codec_name, kbps=float(rate), fps=fps, gop=gop, preset=preset)
        p = Point(codec_name, "video", f"kbps={rate:g}", [], [])
        t_enc = t_dec = 0.0
        for clip in evalset.clips:
            run = run_video_baseline([evalset.images[i] for i in clip], settings)
            t_enc += run.encode_s
            t_dec += run.decode_s
            p.frame_bytes.extend(run.frame_bytes)
            p.recon.extend(run.shown)
        p.encode_ms, p.decode_ms = 1000.0 * t_enc / len(evalset), 1000.0 * t_dec / len(evalset)
        points.append(p)
    return points
