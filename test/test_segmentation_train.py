"""Training-script pieces: class weights, crops, metrics, schedule, and a tiny end-to-end run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, PALETTE, UNLABELLED
from sqgan_ros.segmentation import BundledSegmenter
from sqgan_ros.training import segmenter as train


def test_class_weights_favour_rare_and_key_classes() -> None:
    labels = np.zeros((10, 100), np.uint8)  # road everywhere
    labels[:, :10] = CLASS_INDEX["car"]
    labels[0, :3] = CLASS_INDEX["person"]
    labels[1, :3] = CLASS_INDEX["pole"]
    w = train.class_weights(labels, cap=1e9)
    assert w.shape == (NUM_CLASSES,)
    assert w[CLASS_INDEX["sky"]] == 0.0                        # absent
    assert w[CLASS_INDEX["road"]] < w[CLASS_INDEX["car"]] < w[CLASS_INDEX["pole"]]
    assert w[CLASS_INDEX["person"]] == pytest.approx(2.0 / 1.5 * w[CLASS_INDEX["pole"]])
    assert train.class_weights(labels, cap=3.0).max() <= 3.0


def test_sample_batch_shapes_and_label_alignment() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, (3, 32, 64)).astype(np.uint8)
    images = PALETTE[labels]
    x, y = train.sample_batch(images, labels, 5, (16, 32), rng, scale=(1.0, 1.0))
    assert x.shape == (5, 3, 16, 32) and x.dtype == torch.float32
    assert y.shape == (5, 16, 32) and y.dtype == torch.long
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert int(y.min()) >= 0 and int(y.max()) < NUM_CLASSES


def test_confusion_and_iou() -> None:
    target = np.array([0, 0, 1, 1, UNLABELLED])
    pred = np.array([0, 1, 1, 1, 0])
    conf = train.confusion_matrix(pred, target)
    assert conf.sum() == 5 and conf[0, 0] == 1 and conf[0, 1] == 1 and conf[1, 1] == 2
    per_class, miou = train.iou_from_confusion(conf)
    assert set(per_class) == {"road", "sidewalk"}           # unlabelled is ignored
    assert per_class["road"] == pytest.approx(1 / 3)        # tp 1, fn 1, fp 1 (from unlabelled)
    assert per_class["sidewalk"] == pytest.approx(2 / 3)
    assert miou == pytest.approx(0.5)
    with pytest.raises(ValueError):
        train.confusion_matrix(pred[:3], target)


def test_lr_schedule() -> None:
    assert train.lr_at(0.0, 1.0) < 0.1
    assert train.lr_at(0.03, 1.0) == pytest.approx(1.0)
    assert train.lr_at(1.0, 1.0) == pytest.approx(0.01)
    values = [train.lr_at(p, 1.0) for p in np.linspace(0.05, 1.0, 20)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def _fake_renderer(seed: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sky over road with one car box: trivially learnable, colours from the palette."""
    rng = np.random.default_rng(seed)
    labels = np.full(size, CLASS_INDEX["road"], np.uint8)
    labels[: size[0] // 2] = CLASS_INDEX["sky"]
    top, left = rng.integers(0, size[0] - 8), rng.integers(0, size[1] - 16)
    labels[top:top + 8, left:left + 16] = CLASS_INDEX["car"]
    return PALETTE[labels].copy(), labels


def test_train_main_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "seg.safetensors"
    info = train.main(["--out", str(out), "--minutes", "0.05", "--pool", "12", "--val", "4",
                       "--size", "32x64", "--crop", "32x64", "--batch", "4", "--lr", "1e-2",
                       "--eval-every", "100"], renderer=_fake_renderer)
    assert out.is_file()
    assert info["steps"] > 0 and info["pool_frames"] == 12 and info["val_frames"] == 4
    assert 0.0 <= info["val_miou"] <= 1.0
    assert set(info["val_iou"]) == {"road", "sky", "car"}
    segmenter = BundledSegmenter(out)
    assert segmenter.info["val_miou"] == info["val_miou"]
    assert segmenter.input_size == (32, 64)
    # the run learnt something: sky above road on a fresh frame
    image, labels = _fake_renderer(999, (32, 64))
    accuracy = (segmenter.segment(image) == labels).mean()
    assert accuracy > 0.6
    again = train.main(["--out", str(out), "--eval-only", "--val", "4"], renderer=_fake_renderer)
    assert again["val_miou"] == pytest.approx(info["val_miou"], abs=1e-3)


def test_render_pool_checks_size() -> None:
    with pytest.raises(ValueError):
        train.render_pool(lambda seed, size: _fake_renderer(seed, (8, 8)), [0], (16, 16))
    images, labels = train.render_pool(_fake_renderer, range(3), (16, 32), max_seconds=0.0)
    assert len(images) == len(labels) == 1
