"""The sweep's configuration (``config/eval/*.yaml``): typed dataclasses, parsed strictly.

Parsed by the one strict loader (:mod:`sqgan_ros.typed_config`: unknown keys and wrong types
are a :class:`ConfigError`); :func:`validate` checks ranges, codec names and qualities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from sqgan_ros.typed_config import ConfigError, from_dict, load_yaml

__all__ = ["ConfigError", "SetConfig", "SQGANConfig", "VideoConfig", "MetricsConfig", "EvalConfig", "validate",
           "config_from_dict", "load_config"]


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


def _check_image_codecs(codecs: dict[str, tuple[int, ...]]) -> None:
    from sqgan_ros.evaluation.baselines import IMAGE_CODECS

    for name, qualities in codecs.items():
        if name not in IMAGE_CODECS:
            raise ConfigError(f"image_codecs: unknown codec {name!r}; known: {sorted(IMAGE_CODECS)}")
        low, high = IMAGE_CODECS[name].quality_range
        if not qualities or any(not low <= q <= high for q in qualities):
            raise ConfigError(f"image_codecs.{name}: qualities must be a non-empty list in [{low}, {high}], "
                              f"got {list(qualities)}")


def validate(cfg: EvalConfig) -> EvalConfig:
    """Check ranges, names and sizes of a parsed config; returns it. Raises ConfigError."""
    if min(cfg.size) < 16 or any(side % 16 for side in cfg.size):
        raise ConfigError(f"size: expected [H, W], multiples of 16, got {list(cfg.size)}")
    _check_image_codecs(cfg.image_codecs)
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
    return validate(from_dict(EvalConfig, data))


def load_config(path: str | Path) -> EvalConfig:
    """Read an evaluation YAML file (see ``config/eval/*.yaml``).

    Args:
        path: the file.
    """
    return validate(load_yaml(path, EvalConfig))
