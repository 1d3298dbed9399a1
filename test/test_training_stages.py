"""Each of the three training stages lowers its loss on a fixed tiny batch (tiny preset, CPU)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.labels import CLASS_INDEX
from sqgan_ros.training.config import config_from_dict
from sqgan_ros.training.schedule import lr_factor, sample_keep_ratio
from sqgan_ros.training.trainer import Trainer


class TinyScenes(Dataset):
    """Deterministic 32x64 scenes: sky on top, road below, a car box; odd items unlabelled."""

    def __init__(self, n: int = 4) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        labels = torch.full((32, 64), CLASS_INDEX["road"], dtype=torch.long)
        labels[:12] = CLASS_INDEX["sky"]
        x0 = 8 + 8 * i
        labels[14:26, x0:x0 + 16] = CLASS_INDEX["car"]
        palette = torch.rand(20, 3, generator=g) * 0.2 + torch.linspace(0.1, 0.9, 20).unsqueeze(1)
        image = palette[labels].permute(2, 0, 1) + 0.05 * torch.rand(3, 32, 64, generator=g)
        return {"image": image.clamp(0, 1), "labels": labels, "has_labels": i % 2 == 0}


def tiny_config(steps: int = 8, gan_start: int = 3, **overrides) -> dict:
    cfg = {"model": "tiny", "batch_size": 4, "seed": 3,
           "stages": {"semantic": {"steps": steps}, "image": {"steps": steps}, "image_finetune": {"steps": steps}},
           "loss": {"gan_start_step": gan_start, "disc_channels": 8},
           "optim": {"lr": 2e-3, "warmup_steps": 0, "min_lr_factor": 1.0},
           "log": {"progress": False, "tensorboard": False, "checkpoint_every": 1000}}
    cfg.update(overrides)
    return cfg


def make_trainer(tmp_path, **kw) -> Trainer:
    torch.manual_seed(0)
    model = SQGAN(get_config("tiny"))
    return Trainer(config_from_dict(tiny_config(**kw)), model, TinyScenes(), tmp_path)


def fixed_batch() -> dict:
    ds = TinyScenes()
    items = [ds[i] for i in range(len(ds))]
    return {"image": torch.stack([it["image"] for it in items]),
            "labels": torch.stack([it["labels"] for it in items]),
            "has_labels": torch.tensor([it["has_labels"] for it in items])}


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_stage_reduces_loss_on_fixed_batch(tmp_path, stage: int) -> None:
    trainer = make_trainer(tmp_path)
    if stage > 1:
        trainer.start_stage(stage)
    batch = fixed_batch()
    before = trainer.evaluate(batch)["rec"]
    trainer.fit([stage])
    after = trainer.evaluate(batch)["rec"]
    assert trainer.stage == stage and trainer.step == 8
    assert after < before, f"stage {stage}: loss {before:.4f} -> {after:.4f}"
    assert (tmp_path / f"stage{stage}.safetensors").is_file()


def test_stage_three_trains_image_branch_only(tmp_path) -> None:
    trainer = make_trainer(tmp_path, steps=2, gan_start=0)
    trainer.start_stage(3)
    semantic_before = {k: v.clone() for k, v in trainer.model.semantic.state_dict().items()}
    image_before = {k: v.clone() for k, v in trainer.model.image.state_dict().items()}
    logs = trainer.fit([3])
    assert "d_loss" in logs and 0.0 <= logs["gan_weight"] <= 0.2
    for k, v in trainer.model.semantic.state_dict().items():
        assert torch.equal(v, semantic_before[k]), f"semantic branch changed in stage 3: {k}"
    assert any(not torch.equal(v, image_before[k]) for k, v in trainer.model.image.state_dict().items())


def test_max_steps_stops_early_and_fit_validates_stages(tmp_path) -> None:
    trainer = make_trainer(tmp_path, steps=5)
    trainer.fit([1, 2, 3], max_steps=3)
    assert (trainer.stage, trainer.step) == (1, 3)
    with pytest.raises(ValueError):
        trainer.fit([2, 1])


def test_schedules() -> None:
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(100, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(55, 100, 10, 0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        lr_factor(-1, 10, 0)
    draws = [sample_keep_ratio(0, s) for s in range(2000)]
    levels = (0.05, 0.2875, 0.525, 0.7625, 1.0)
    assert set(draws) <= set(levels) and len(set(draws)) >= 4
    # log-normal(-0.95, 0.4): median ~0.39, so 0.2875 and 0.525 dominate
    counts = {r: draws.count(r) / len(draws) for r in levels}
    assert counts[0.2875] + counts[0.525] > 0.8
    assert sample_keep_ratio(0, 7) == sample_keep_ratio(0, 7)
