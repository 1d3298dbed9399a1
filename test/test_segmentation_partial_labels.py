"""Partial person labels (MediaPipe masks of real frames) for the segmenter trainer; no mediapipe needed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sqgan_ros.data.person_masks import load_person_masks, summary
from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, PALETTE
from sqgan_ros.training import segmenter as train

PERSON = CLASS_INDEX["person"]


def _logits() -> torch.Tensor:
    """[1, C, 1, 3]: three pixels with different, known logits."""
    torch.manual_seed(0)
    return torch.randn(1, NUM_CLASSES, 1, 3, dtype=torch.float64)


def test_partial_loss_values_on_a_hand_made_example() -> None:
    logits = _logits()
    prob = torch.tensor([[[0.9, 0.05, 0.5]]], dtype=torch.float64)  # person, not person, unsure
    p = torch.softmax(logits, dim=1)[0, PERSON, 0]
    expected = (-math.log(p[0]) - math.log(1 - p[1])) / 2
    assert float(train.person_partial_loss(logits, prob)) == pytest.approx(expected, rel=1e-9)
    weighted = (-3 * math.log(p[0]) - math.log(1 - p[1])) / 4
    assert float(train.person_partial_loss(logits, prob, pos_weight=3.0)) == pytest.approx(weighted, rel=1e-9)
    # moving the thresholds moves pixels between the three kinds
    only_pos = train.person_partial_loss(logits, prob, pos_threshold=0.4, neg_threshold=0.01)
    assert float(only_pos) == pytest.approx((-math.log(p[0]) - math.log(p[2])) / 2, rel=1e-9)


def test_partial_loss_gradients() -> None:
    logits = _logits().requires_grad_(True)
    prob = torch.tensor([[[0.9, 0.05, 0.5]]], dtype=torch.float64)
    train.person_partial_loss(logits, prob).backward()
    grad = logits.grad[0, :, 0]
    assert torch.count_nonzero(grad[:, 2]) == 0                 # the unsure pixel: no gradient at all
    assert grad[PERSON, 0] < 0 and grad[PERSON, 1] > 0          # person up where sure, down where not
    # the not-person pixel leaves the split among the other classes free: d/dz_c = -q_c * p_person / 2
    # (q = softmax over the other classes, /2 = mean over the two labelled pixels); no class favoured
    p = torch.softmax(logits.detach(), dim=1)[0, :, 0, 1]
    others = [c for c in range(NUM_CLASSES) if c != PERSON]
    q = p[others] / p[others].sum()
    assert torch.allclose(grad[others, 1], -q * p[PERSON] / 2)
    assert float(grad[PERSON, 1]) == pytest.approx(float(p[PERSON]) / 2)


def test_partial_loss_edge_cases() -> None:
    logits = torch.zeros(2, NUM_CLASSES, 4, 4, requires_grad=True)
    unsure = torch.full((2, 4, 4), 0.5)
    loss = train.person_partial_loss(logits, unsure)
    assert float(loss.detach()) == 0.0
    loss.backward()                                            # still a graph, zero gradient
    assert torch.count_nonzero(logits.grad) == 0
    extreme = torch.zeros(1, NUM_CLASSES, 1, 2)
    extreme[0, PERSON] = 1e4                                     # p_person == 1.0 in float32
    value = train.person_partial_loss(extreme, torch.tensor([[[0.0, 1.0]]]))
    assert math.isfinite(float(value)) and float(value) == pytest.approx(1e4 / 2, rel=1e-3)
    with pytest.raises(ValueError):
        train.person_partial_loss(logits, torch.zeros(2, 4, 5))
    with pytest.raises(ValueError):
        train.person_partial_loss(logits, unsure, pos_threshold=0.1, neg_threshold=0.2)


def test_person_scores() -> None:
    pred = np.full((1, 2, 4), CLASS_INDEX["road"], np.uint8)
    pred[0, 0, :2] = PERSON
    pred[0, 1, 0] = CLASS_INDEX["vegetation"]
    person = np.zeros((1, 2, 4), np.uint8)
    person[0, 0, 1:3] = 255                                      # reference person: (0,1), (0,2)
    person[0, 1, 0] = 200                                        # and (1,0): 0.78 >= 0.5
    s = train.person_scores(pred, person)
    assert s["person_iou"] == pytest.approx(1 / 4)                # tp (0,1); fp (0,0); fn (0,2), (1,0)
    assert s["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["false_alarm"] == pytest.approx(1 / 5)
    assert s["reference_person_share"] == pytest.approx(3 / 8, abs=1e-4)
    assert s["person_pixels_called"] == pytest.approx({"person": 0.3333, "road": 0.3333, "vegetation": 0.3333})
    assert train.person_scores(pred, person, threshold=0.9)["recall"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        train.person_scores(pred, person[:, :1])


def _fake_renderer(seed: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.full(size, CLASS_INDEX["road"], np.uint8)
    labels[: size[0] // 2] = CLASS_INDEX["sky"]
    top, left = rng.integers(0, size[0] - 8), rng.integers(0, size[1] - 8)
    labels[top:top + 8, left:left + 8] = PERSON
    return PALETTE[labels].copy(), labels


def _mask_folder(root: Path, frames: int = 6) -> Path:
    """A person-mask folder as sqgan_ros.data.person_masks writes it (frames 0 and 5 held out)."""
    folder = root / "fake"
    (folder / "frames").mkdir(parents=True)
    split = {}
    for i in range(frames):
        image, labels = _fake_renderer(100 + i, (32, 64))
        name = f"{i:05d}"
        cv2.imwrite(str(folder / "frames" / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / f"{name}.png"), np.where(labels == PERSON, 255, 0).astype(np.uint8))
        split[name] = "eval" if i % 5 == 0 else "train"
    (folder / "index.json").write_text(json.dumps({"source": "fake", "frames": split}))
    return root


def test_load_person_masks_keeps_the_splits_apart(tmp_path: Path) -> None:
    root = _mask_folder(tmp_path)
    images, person, names = load_person_masks(root, "train")
    assert names == ["fake/00001", "fake/00002", "fake/00003", "fake/00004"]
    assert images.shape == (4, 32, 64, 3) and person.shape == (4, 32, 64) and person.dtype == np.uint8
    assert load_person_masks(root, "eval")[2] == ["fake/00000", "fake/00005"]
    assert load_person_masks(root, "train", every=2)[2] == ["fake/00001", "fake/00003"]
    with pytest.raises(ValueError):
        load_person_masks(root, "test")
    with pytest.raises(FileNotFoundError):
        load_person_masks(tmp_path / "empty", "train")


def test_mask_summary(tmp_path: Path) -> None:
    root = _mask_folder(tmp_path)
    stats = summary(root)
    assert set(stats) == {"fake"} and stats["fake"]["train"]["frames"] == 4 and stats["fake"]["eval"]["frames"] == 2
    train_stats = stats["fake"]["train"]
    assert train_stats["person_share"] == pytest.approx(64 / (32 * 64), abs=1e-4)  # one 8x8 box a frame
    assert train_stats["unsure_share"] == 0.0
    assert train_stats["person_share"] + train_stats["background_share"] == pytest.approx(1.0)
    assert train_stats["frames_with_person"] == 4


def test_train_with_person_masks_end_to_end(tmp_path: Path) -> None:
    root = _mask_folder(tmp_path / "masks")
    out, results = tmp_path / "seg.safetensors", tmp_path / "results.json"
    info = train.main(["--out", str(out), "--minutes", "0.05", "--pool", "8", "--val", "2",
                       "--size", "32x64", "--crop", "32x64", "--batch", "4", "--eval-every", "100",
                       "--person-masks", str(root), "--real-ratio", "0.5", "--json", str(results),
                       "--label", "tuned"], renderer=_fake_renderer)
    assert info["steps"] > 0 and info["real_train_frames"] == 4
    assert info["real_eval"]["all"]["frames"] == 2 and info["real_eval"]["fake"]["frames"] == 2
    assert 0.0 <= info["real_eval"]["all"]["person_iou"] <= 1.0
    again = train.main(["--out", str(out), "--eval-only", "--val", "2", "--person-masks", str(root),
                        "--json", str(results), "--label", "check"], renderer=_fake_renderer)
    stored = json.loads(results.read_text())
    assert set(stored) == {"tuned", "check"}                    # a second label keeps the first
    assert stored["check"]["real_eval"]["all"] == info["real_eval"]["all"]  # the same frames, the same model
    assert again["val_miou"] == pytest.approx(info["val_miou"], abs=1e-3)
    with pytest.raises(SystemExit):
        train.main(["--out", str(out), "--real-ratio", "1.0"], renderer=_fake_renderer)
