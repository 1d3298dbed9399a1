"""Training configuration: typed dataclasses, parsed from YAML by :mod:`sqgan_ros.typed_config`.

Unknown keys and wrong types are an error.

A configuration file::

    model: small                 # codec preset (sqgan_ros.codec.config.PRESETS)
    batch_size: 8
    stages: {semantic: {steps: 600}, image: {steps: 900}, image_finetune: {steps: 300}}
    data: {...}  optim: {...}  loss: {...}  keep_ratio: {...}  log: {...}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sqgan_ros.data.config import DataConfig
from sqgan_ros.typed_config import ConfigError, from_dict

STAGES: tuple[int, ...] = (1, 2, 3)
STAGE_NAMES: dict[int, str] = {1: "semantic", 2: "image", 3: "image_finetune"}


@dataclass
class OptimConfig:
    """Adam with linear warm-up then cosine decay (per stage).

    Args:
        lr: absolute learning rate; None means ``lr_per_sample * global batch`` (paper: 1.25e-5).
        lr_per_sample: learning rate per sample of the global batch.
        betas: Adam betas (paper 0.5, 0.9).
        warmup_steps: linear warm-up length.
        min_lr_factor: final lr as a fraction of the peak.
        grad_clip: max global gradient norm (0 disables).
        disc_lr_factor: discriminator lr relative to the generator's.
    """

    lr: float | None = None
    lr_per_sample: float = 1.25e-5
    betas: tuple[float, float] = (0.5, 0.9)
    warmup_steps: int = 100
    min_lr_factor: float = 0.05
    grad_clip: float = 1.0
    disc_lr_factor: float = 1.0


@dataclass
class LossConfig:
    """Loss weights (paper values by default).

    Args:
        lpips_net: "alexnet" (cheap, default) or "vgg16" (paper).
        lpips_weight: weight of LPIPS in the image loss.
        image_codebook_weight: weight of the image branch's codebook/commitment loss.
        semantic_codebook_weight: same for the semantic branch.
        image_gan_factor / image_gan_cap: adaptive GAN weight factor and cap (image).
        semantic_gan_factor / semantic_gan_cap: same for the semantic branch.
        gan_start_step: the discriminator starts after this many steps of each stage.
        disc_channels / disc_layers: PatchGAN size (paper 64 / 3).
        l1_weight_floor: lower bound of every class's pixel-L1 weight (paper 0: sky and vegetation
            are left to LPIPS and the GAN; a run without the GAN needs a floor or paints them freely).
        ce_class_balance: exponent ``a`` of the semantic CE's frequency balance: each class's paper
            weight is multiplied by ``(running pixel frequency / mean frequency) ** -a`` (clipped to
            [0.1, 10]). 0 = the paper's weights alone; 0.5 lifts rare classes (bicycle, train,
            traffic light), whose IoU the decoded-map mIoU counts as much as the road's.
    """

    lpips_net: str = "alexnet"
    lpips_weight: float = 0.15
    image_codebook_weight: float = 0.15
    semantic_codebook_weight: float = 1.0
    image_gan_factor: float = 0.15
    image_gan_cap: float = 0.2
    semantic_gan_factor: float = 0.75
    semantic_gan_cap: float = 1.0
    gan_start_step: int = 1000
    disc_channels: int = 64
    disc_layers: int = 3
    l1_weight_floor: float = 0.0
    ce_class_balance: float = 0.0


@dataclass
class KeepRatioConfig:
    """Per-batch keep ratio: log-normal(mu, sigma) snapped to the nearest level (paper)."""

    mu: float = -0.95
    sigma: float = 0.4
    levels: tuple[float, ...] = (0.05, 0.2875, 0.525, 0.7625, 1.0)


@dataclass
class StageConfig:
    """Length of one stage in optimizer steps."""

    steps: int = 1000


@dataclass
class LogConfig:
    """Logging and checkpointing cadence (rank 0 only)."""

    every: int = 10
    checkpoint_every: int = 200
    tensorboard: bool = True
    progress: bool = True


@dataclass
class TrainConfig:
    """Top-level training configuration.

    Args:
        model: codec preset name.
        batch_size: per-process batch size.
        seed: global seed (data order, keep ratios, init).
        amp: bf16 autocast on CUDA and on CPUs with native bf16 kernels (AVX512-BF16/AMX;
            float32 elsewhere); float32 master weights either way.
        channels_last: keep the model in channels-last memory format (oneDNN's preferred
            layout on CPU: 1.3x per bf16 step on the small_v2 image branch here, same losses).
        stages: per-stage lengths keyed by stage name.
        export_batches: batches of training data used to measure entropy-coding priors.
    """

    model: str = "small"
    batch_size: int = 8
    seed: int = 0
    amp: bool = True
    channels_last: bool = False
    stages: dict[str, StageConfig] = field(default_factory=lambda: {
        name: StageConfig() for name in STAGE_NAMES.values()})
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    keep_ratio: KeepRatioConfig = field(default_factory=KeepRatioConfig)
    log: LogConfig = field(default_factory=LogConfig)
    export_batches: int = 16

    def stage_steps(self, stage: int) -> int:
        """Number of steps of ``stage`` (1, 2 or 3)."""
        return self.stages[STAGE_NAMES[stage]].steps

    def validate(self) -> TrainConfig:
        """Check value ranges; raises ConfigError. Returns self."""
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if set(self.stages) != set(STAGE_NAMES.values()):
            raise ConfigError(f"stages must have exactly the keys {sorted(STAGE_NAMES.values())}, "
                              f"got {sorted(self.stages)}")
        if any(s.steps < 0 for s in self.stages.values()):
            raise ConfigError("stage steps must be >= 0")
        if self.loss.lpips_net not in ("alexnet", "vgg16"):
            raise ConfigError(f"loss.lpips_net must be alexnet or vgg16, got {self.loss.lpips_net!r}")
        levels = self.keep_ratio.levels
        if not levels or any(not 0.0 < r <= 1.0 for r in levels) or list(levels) != sorted(levels):
            raise ConfigError(f"keep_ratio.levels must be increasing values in (0, 1], got {levels}")
        if self.keep_ratio.sigma < 0:
            raise ConfigError("keep_ratio.sigma must be >= 0")
        if not 0.0 <= self.loss.ce_class_balance <= 2.0:
            raise ConfigError(f"loss.ce_class_balance must be in [0, 2], got {self.loss.ce_class_balance}")
        if self.data.crop is not None and min(self.data.crop) < 16:
            raise ConfigError(f"data.crop must be (H, W) >= 16, got {self.data.crop}")
        if not 0.0 <= self.data.copy_paste_p <= 1.0 or not 0.0 <= self.data.synthetic_ratio <= 1.0:
            raise ConfigError("data.copy_paste_p and data.synthetic_ratio must be in [0, 1]")
        if self.data.real_labels not in ("none", "segmenter"):
            raise ConfigError(f"data.real_labels must be 'none' or 'segmenter', got {self.data.real_labels!r}")
        for key in ("label_noise", "semantic_label_noise"):
            if not 0.0 <= getattr(self.data, key) <= 1.0:
                raise ConfigError(f"data.{key} must be in [0, 1], got {getattr(self.data, key)}")
        if self.optim.warmup_steps < 0 or not 0.0 <= self.optim.min_lr_factor <= 1.0:
            raise ConfigError("optim.warmup_steps must be >= 0 and min_lr_factor in [0, 1]")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build and validate a TrainConfig from a plain dict (unknown keys raise ConfigError)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a training config must be a mapping, got {type(data).__name__}")
    config = from_dict(TrainConfig, data)
    if "stages" in data:  # stages given partially fall back to the defaults for the others
        merged = {name: StageConfig() for name in STAGE_NAMES.values()}
        merged.update(config.stages)
        config.stages = merged
    return config.validate()


def load_config(path: str | Path) -> TrainConfig:
    """Read a YAML training config.

    Args:
        path: YAML file.
    """
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    try:
        return config_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
