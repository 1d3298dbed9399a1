"""Merge the branches of two training runs into one checkpoint.

Stage 1 (semantic branch alone) and stage 2 (image branch on ground-truth labels) do not depend on
each other, so on a machine with spare cores they can run as two processes side by side; stage 3
(image branch on the decoded s_hat) then starts from the semantic branch of the first run and the
image branch of the second::

    sqgan-train merge --semantic runs/a/stage1 --image runs/b/stage2 --out runs/c/merged
    sqgan-train --config ... --stage 3 --init runs/c/merged --out runs/c
"""

from __future__ import annotations

from pathlib import Path

import torch

from sqgan_ros.training.checkpoint import CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from sqgan_ros.training.config import config_from_dict


def merge_branches(semantic_checkpoint: str | Path, image_checkpoint: str | Path, out: str | Path) -> Path:
    """Write a model-only checkpoint: semantic branch of one run, image branch of another.

    Args:
        semantic_checkpoint: checkpoint whose ``semantic`` branch is kept (e.g. ``runs/a/stage1``).
        image_checkpoint: checkpoint whose ``image`` branch is kept (e.g. ``runs/b/stage2``).
        out: base path of the merged checkpoint.

    Raises:
        ValueError: the two runs were trained with different model configurations.
    """
    from sqgan_ros.training.export import build_model

    meta_s, meta_i = read_meta(semantic_checkpoint), read_meta(image_checkpoint)
    if meta_s.config.get("model") != meta_i.config.get("model"):
        raise ValueError(f"cannot merge runs of different models: {meta_s.config.get('model')!r} "
                         f"vs {meta_i.config.get('model')!r}")
    config = config_from_dict(meta_i.config)
    semantic_model, merged = build_model(config), build_model(config)
    load_checkpoint(semantic_checkpoint, {"model": semantic_model}, restore_rng=False)
    load_checkpoint(image_checkpoint, {"model": merged}, restore_rng=False)
    with torch.no_grad():
        merged.semantic.load_state_dict(semantic_model.semantic.state_dict(), strict=True)
    extra = {"merged_from": {"semantic": str(semantic_checkpoint), "image": str(image_checkpoint)},
             "semantic_steps": meta_s.step, "image_steps": meta_i.step}
    return save_checkpoint(out, {"model": merged}, {}, CheckpointMeta(2, meta_i.step, meta_i.config, extra))
