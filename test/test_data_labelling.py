"""data.real_labels: real frames and photo-library crops labelled by the run-time segmenter."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sqgan_ros.data.labelling import CachedLabeller


def _brightness_labeller(calls: list[int]):
    def label(image: np.ndarray) -> np.ndarray:
        calls.append(1)
        return (image.mean(axis=2) > 127).astype(np.uint8) * 10  # 0 road, 10 sky
    return label


def test_cached_labeller_hits_equal_frames_and_returns_copies() -> None:
    calls: list[int] = []
    labeller = CachedLabeller(_brightness_labeller(calls), max_entries=2)
    a = np.zeros((4, 6, 3), np.uint8)
    b = np.full((4, 6, 3), 200, np.uint8)
    first = labeller(a)
    first[:] = 5                                   # a caller changing its map does not touch the cache
    assert (labeller(a.copy()) == 0).all() and len(calls) == 1
    assert (labeller(b) == 10).all() and len(calls) == 2
    labeller(np.full((4, 6, 3), 100, np.uint8))     # evicts a (least recently used)
    labeller(a)
    assert len(calls) == 4 and (labeller.hits, labeller.misses) == (1, 4)
    assert (labeller(np.zeros((6, 4, 3), np.uint8)).shape == (6, 4))  # same bytes, other shape: a miss
    with pytest.raises(ValueError):
        CachedLabeller(_brightness_labeller([]), max_entries=0)


def test_library_crops_and_footage_are_labelled_when_real_labels_is_segmenter(tmp_path, monkeypatch) -> None:
    from sqgan_ros.data import labelling, photo_library
    from sqgan_ros.data.config import DataConfig
    from sqgan_ros.data.training_set import build_dataset

    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8), (900, 600), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "p.png"), image)
    monkeypatch.setattr(photo_library, "installed_photos",
                        lambda split="train": [photo_library.Photo(str(tmp_path / "p.png"), "x", "y")])
    calls: list[int] = []
    monkeypatch.setattr(labelling, "segmenter_labeller", lambda *a, **k: CachedLabeller(_brightness_labeller(calls)))
    cfg = DataConfig(size=(64, 128), crop=(32, 64), length=40, synthetic_ratio=0.5, videos=(),
                     photos=(str(tmp_path / "p.png"),), augment=False, photo_library_ratio=0.25,
                     real_labels="segmenter")
    ds = build_dataset(cfg, seed=1)
    by_source = {}
    for i in range(40):
        by_source.setdefault(ds.source_of(i), ds[i])
    assert sorted(by_source) == [0, 1, 2]            # synthetic, library crops, opencv-style photos
    for source in (1, 2):
        sample = by_source[source]
        assert sample["has_labels"] and sample["labels"].shape == (32, 64)
        assert set(sample["labels"].unique().tolist()) <= {0, 10}
    assert calls
    plain = build_dataset(DataConfig(**{**cfg.__dict__, "real_labels": "none"}), seed=1)
    assert not any(plain[i]["has_labels"] for i in range(40) if plain.source_of(i) != 0)


def test_real_labels_is_validated() -> None:
    from sqgan_ros.training.config import ConfigError, config_from_dict

    with pytest.raises(ConfigError, match="real_labels"):
        config_from_dict({"model": "tiny", "data": {"real_labels": "ground_truth"}})
