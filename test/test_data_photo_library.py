"""Real photo crops for training: multi-scale, reproducible, unlabelled; camera degradations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sqgan_ros.data.camera_degrade import CameraDegrade
from sqgan_ros.data.photo_library import PACKAGES, PHOTOS, PhotoCropDataset, installed_photos
from sqgan_ros.labels import UNLABELLED


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8), (1800, 1200), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), image)
    return path


def test_crops_are_reproducible_varied_and_unlabelled(photo) -> None:
    ds = PhotoCropDataset([photo], crop=(64, 128), length=50, seed=3, degrade=None)
    a, b = ds[7], ds[7]
    assert a["image"].shape == (3, 64, 128) and a["image"].dtype.is_floating_point
    assert np.array_equal(a["image"].numpy(), b["image"].numpy())
    assert not a["has_labels"] and int(a["labels"].unique()[0]) == UNLABELLED
    crops = [ds[i]["image"].numpy() for i in range(20)]
    assert len({c.tobytes() for c in crops}) == 20
    ds.set_epoch(1)
    assert not np.array_equal(ds[7]["image"].numpy(), a["image"].numpy())
    # scales vary: the crops' high-frequency energy spans a wide range (fine windows are smooth,
    # whole-photo windows are busy)
    energy = [float(np.abs(np.diff(c, axis=2)).mean()) for c in crops]
    assert max(energy) > 2 * min(energy)
    with pytest.raises(IndexError):
        ds[50]
    with pytest.raises(ValueError, match="no photos"):
        PhotoCropDataset([])


def test_degradations_change_images_in_their_own_ways() -> None:
    rng = np.random.default_rng(1)
    image = cv2.resize(rng.integers(0, 256, (16, 32, 3), dtype=np.uint8), (256, 128), interpolation=cv2.INTER_CUBIC)
    grey = CameraDegrade(0, 0, 0, 0, 1.0, 0)(image, np.random.default_rng(0))
    assert np.array_equal(grey[:, :, 0], grey[:, :, 1]) and np.array_equal(grey[:, :, 1], grey[:, :, 2])
    noisy = CameraDegrade(0, 0, 0, 1.0, 0, 0)(image, np.random.default_rng(0))
    assert 0.5 < np.abs(noisy.astype(float) - image).mean() < 20
    blurred = CameraDegrade(0, 0, 1.0, 0, 0, 0)(image, np.random.default_rng(0))
    assert np.abs(np.diff(blurred.astype(float), axis=1)).mean() < np.abs(np.diff(image.astype(float), axis=1)).mean()
    none = CameraDegrade(0, 0, 0, 0, 0, 0)(image, np.random.default_rng(0))
    assert np.array_equal(none, image)
    with pytest.raises(ValueError, match="uint8"):
        CameraDegrade()(image.astype(np.float32), np.random.default_rng(0))


def test_photo_table_lists_packages_and_licences_and_holds_out_a_test_split() -> None:
    assert len(PHOTOS) >= 30 and len({p.path for p in PHOTOS}) == len(PHOTOS)
    assert {p.package for p in PHOTOS} == set(PACKAGES)
    assert all(p.licence for p in PHOTOS)
    train, test = installed_photos("train"), installed_photos("test")
    assert not {p.path for p in train} & {p.path for p in test}
    with pytest.raises(ValueError):
        installed_photos("val")


def test_build_dataset_mixes_in_the_library_at_its_ratio(photo, monkeypatch) -> None:
    from sqgan_ros.data import photo_library
    from sqgan_ros.data.config import DataConfig
    from sqgan_ros.data.training_set import build_dataset

    monkeypatch.setattr(photo_library, "installed_photos", lambda split="train": [photo_library.Photo(str(photo), "x", "y")])
    cfg = DataConfig(size=(64, 128), crop=(32, 64), length=40, synthetic_ratio=0.5, videos=(), photos=(),
                     augment=False, photo_library_ratio=0.5)
    ds = build_dataset(cfg, seed=1)
    sources = [ds.source_of(i) for i in range(40)]
    assert sorted(set(sources)) == [0, 1] and 15 <= sources.count(1) <= 25
    library = next(i for i in range(40) if sources[i] == 1)
    assert not ds[library]["has_labels"] and ds[library]["image"].shape == (3, 32, 64)
    assert build_dataset(cfg, seed=1, training=False).__class__.__name__ == "SyntheticStreetDataset"
    with pytest.raises(ValueError, match="photo_library_ratio"):
        build_dataset(DataConfig(synthetic_ratio=0.8, photo_library_ratio=0.5), seed=1)
