"""After training: measure entropy-coding priors through the transmitter and write the model file.

    checkpoint --(model weights)--> SQGAN.eval() --transmitter.compress at each keep ratio level-->
    FrameSymbols --prior_fitting.fit_priors (+ k-means groups of each codebook for the
    index contexts)--> priors --save_model--> models/<name>.safetensors

Statistics are taken on full frames of the training data (no crop, no augmentation) at every
keep-ratio level users pick (0.05 .. 1.0), so the index and position tables fit all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sqgan_ros.training.checkpoint import load_checkpoint, read_meta
from sqgan_ros.training.config import TrainConfig, config_from_dict


def build_model(config: TrainConfig) -> nn.Module:
    """The SQGAN of the config's preset (random init)."""
    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN

    return SQGAN(get_config(config.model))


def load_trained_model(checkpoint: str | Path, device: torch.device) -> tuple[nn.Module, TrainConfig]:
    """Model weights and training config from a training checkpoint (no optimizer, no RNG).

    Args:
        checkpoint: checkpoint base path (or its ``.safetensors``/``.json``).
        device: target device.
    """
    config = config_from_dict(read_meta(checkpoint).config)
    model = build_model(config)
    load_checkpoint(checkpoint, {"model": model}, None, restore_rng=False)
    return model.to(device).eval(), config


@torch.no_grad()
def measure_priors(model: nn.Module, dataset: Dataset, levels: Sequence[float], batches: int,
                   batch_size: int, device: torch.device):
    """Entropy priors from the transmitter's symbols on ``batches`` batches at every keep ratio.

    Args:
        model: trained SQGAN in eval mode.
        dataset: full-frame samples ``{"image", "labels", ...}``.
        levels: keep ratios to measure (used for both branches).
        batches: number of batches to draw.
        batch_size: samples per batch.
        device: where the transmitter runs.
    """
    from sqgan_ros.codec.model import KeepRatios
    from sqgan_ros.codec.prior_fitting import codebook_groups, fit_priors

    if batches < 1 or not levels:
        raise ValueError("need at least one batch and one keep-ratio level")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=False,
                        generator=torch.Generator().manual_seed(0))
    transmitter = model.transmitter
    symbols = []
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        image, labels = batch["image"].to(device), batch["labels"].to(device)
        for ratio in levels:
            symbols.extend(transmitter.compress(image, labels, KeepRatios.both(ratio), None))
    sizes = {"semantic": model.semantic.config.codebook_size, "image": model.image.config.codebook_size}
    groups = {name: codebook_groups(getattr(model, name).quantizer.embedding.detach().float().cpu().numpy())
              for name in ("semantic", "image")}
    return fit_priors(symbols, sizes, groups)


def export_model(checkpoint: str | Path, out: str | Path, batches: int | None = None,
                 device: torch.device | str = "cpu", dataset: Dataset | None = None,
                 weights_dtype: str = "float32") -> Path:
    """Write the deployable model file (weights + learned entropy priors) from a checkpoint.

    Args:
        checkpoint: training checkpoint.
        out: model file path (``.safetensors``).
        batches: batches used for statistics (default: ``config.export_batches``).
        device: device for the transmitter.
        dataset: statistics data (default: the config's training data at full frames).
        weights_dtype: storage of the weights in the file (``float32`` or ``float16``).
    """
    from sqgan_ros.codec.model_file import save_model
    from sqgan_ros.data.training_set import build_dataset

    device = torch.device(device)
    model, config = load_trained_model(checkpoint, device)
    data = dataset if dataset is not None else build_dataset(config.data, config.seed, training=False)
    priors = measure_priors(model, data, config.keep_ratio.levels, batches or config.export_batches,
                            config.batch_size, device)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = read_meta(checkpoint)
    save_model(out, model.cpu(), priors, {"trained_stage": meta.stage, "trained_step": meta.step,
                                          "train_config": config.to_dict()},
               weights_dtype=weights_dtype)
    return out
