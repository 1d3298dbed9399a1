"""Wrong/unsure conditioning maps for the image branch (training/label_noise.py) and their wiring."""

from __future__ import annotations

import pytest
import torch

from sqgan_ros.labels import CLASS_INDEX, UNLABELLED
from sqgan_ros.training.label_noise import corrupt_condition

ROAD, SKY, CAR = CLASS_INDEX["road"], CLASS_INDEX["sky"], CLASS_INDEX["car"]


def scenes(b: int = 6) -> torch.Tensor:
    labels = torch.full((b, 32, 64), ROAD, dtype=torch.long)
    labels[:, :12] = SKY
    labels[:, 14:26, 8:24] = CAR
    return labels


def test_p0_and_unlabelled_samples_are_untouched() -> None:
    labels = scenes()
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(corrupt_condition(labels, torch.ones(6, dtype=torch.bool), 0.0, gen), labels)
    out = corrupt_condition(labels, torch.zeros(6, dtype=torch.bool), 1.0, gen)
    assert torch.equal(out, labels)


def test_p1_corrupts_every_labelled_sample_with_the_three_kinds() -> None:
    labels = scenes(64)
    has = torch.ones(64, dtype=torch.bool)
    has[::2] = False
    out = corrupt_condition(labels, has, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(out[~has], labels[~has])
    changed = (out != labels).flatten(1).any(1)
    assert changed[has].float().mean() > 0.9  # a swap to the same class cannot happen; rectangles can repeat a class
    assert (out[has] == UNLABELLED).any(), "no unsure rectangle in 32 corrupted samples"
    swapped = [(out[i][labels[i] == SKY].unique().numel() == 1) and (out[i][labels[i] == SKY] != SKY).all()
               for i in range(64) if has[i]]
    assert any(swapped), "no class swap in 32 corrupted samples"
    assert out.min() >= 0 and out.max() <= UNLABELLED and out.dtype == torch.long
    assert labels.eq(scenes(64)).all(), "the input was modified"


def test_same_generator_state_same_maps_and_bad_p() -> None:
    labels, has = scenes(), torch.ones(6, dtype=torch.bool)
    a = corrupt_condition(labels, has, 0.5, torch.Generator().manual_seed(7))
    b = corrupt_condition(labels, has, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError):
        corrupt_condition(labels, has, 1.5, torch.Generator())
    with pytest.raises(ValueError):
        corrupt_condition(labels[0], has, 0.5, torch.Generator())
    with pytest.raises(ValueError):
        corrupt_condition(labels, has, 0.5, torch.Generator(), kinds=("blur",))


def test_unsure_only_adds_unlabelled_rectangles() -> None:
    labels = scenes(32)
    out = corrupt_condition(labels, torch.ones(32, dtype=torch.bool), 1.0, torch.Generator().manual_seed(3),
                            kinds=("unsure",))
    changed = out != labels
    assert changed.any() and (out[changed] == UNLABELLED).all()


def test_trainer_conditions_on_noisy_maps_but_scores_against_true_labels(tmp_path, monkeypatch) -> None:
    """In a training step the branch sees the corrupted map; evaluate() sees the true one."""
    from test_training_stages import fixed_batch, make_trainer

    from sqgan_ros.training import trainer as trainer_module

    seen: list[torch.Tensor] = []
    real_forward = trainer_module.image_forward

    def spy(branch, batch, decoder_labels, keep_ratio, ctx, encoder_labels=None):
        seen.append(encoder_labels.clone())
        return real_forward(branch, batch, decoder_labels, keep_ratio, ctx, encoder_labels=encoder_labels)

    monkeypatch.setattr(trainer_module, "image_forward", spy)
    trainer = make_trainer(tmp_path, steps=1, data={"label_noise": 1.0, "augment": False, "copy_paste_p": 0.0})
    trainer.start_stage(2)
    batch = fixed_batch()
    trainer.train_step(batch)
    assert not torch.equal(seen[-1][batch["has_labels"]], batch["labels"][batch["has_labels"]])
    assert torch.equal(seen[-1][~batch["has_labels"]], batch["labels"][~batch["has_labels"]])
    trainer.evaluate(batch)
    assert torch.equal(seen[-1], batch["labels"])


def test_stage_one_codes_and_targets_the_noisy_map_and_trains_on_labelled_scenes_only(tmp_path, monkeypatch) -> None:
    from test_training_stages import fixed_batch, make_trainer

    from sqgan_ros.data.config import DataConfig
    from sqgan_ros.training import trainer as trainer_module
    from sqgan_ros.training.cli import stage_data

    seen: list[torch.Tensor] = []
    real_forward = trainer_module.semantic_forward

    def spy(branch, batch, keep_ratio, ctx):
        seen.append(batch["labels"].clone())
        return real_forward(branch, batch, keep_ratio, ctx)

    monkeypatch.setattr(trainer_module, "semantic_forward", spy)
    quiet = make_trainer(tmp_path, steps=1, data={"label_noise": 1.0, "augment": False, "copy_paste_p": 0.0})
    batch = fixed_batch()
    quiet.train_step(batch)
    assert torch.equal(seen[-1], batch["labels"])         # label_noise is the image branch's
    trainer = make_trainer(tmp_path, steps=1, data={"semantic_label_noise": 1.0, "augment": False,
                                                    "copy_paste_p": 0.0})
    trainer.train_step(batch)
    assert not torch.equal(seen[-1], batch["labels"])
    changed = seen[-1] != batch["labels"]
    assert (seen[-1][changed] == UNLABELLED).all()       # stage 1: only 'unlabelled' areas
    trainer.evaluate(batch)
    assert torch.equal(seen[-1], batch["labels"])
    mixed = DataConfig(synthetic_ratio=0.4, photo_library_ratio=0.35)
    only = stage_data(mixed, (1,))
    assert (only.synthetic_ratio, only.photo_library_ratio) == (1.0, 0.0)
    assert stage_data(mixed, (2,)) == mixed and stage_data(mixed, (1, 2, 3)) == mixed
    labelled = DataConfig(synthetic_ratio=0.4, photo_library_ratio=0.35, real_labels="segmenter")
    stage1 = stage_data(labelled, (1,))                  # labelled real samples stay, at 30 %
    assert stage1.synthetic_ratio == pytest.approx(0.7)
    assert stage1.photo_library_ratio == pytest.approx(0.35 * 0.3 / 0.6)
    mostly_synthetic = DataConfig(synthetic_ratio=0.8, photo_library_ratio=0.1, real_labels="segmenter")
    assert stage_data(mostly_synthetic, (1,)) == mostly_synthetic
