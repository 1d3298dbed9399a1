"""Torch datasets: synthetic scenes, Cityscapes layout, image/label folders, unlabelled footage.

Every dataset yields ``{"image": float32 [3,H,W] in [0,1], "labels": int64 [H,W] in 0..19,
"has_labels": bool}`` (docs/CONTRACTS.md). Unlabelled footage yields all-19 labels and
``has_labels=False`` unless a ``labeller`` callable (RGB uint8 (H,W,3) -> labels (H,W)) is given.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sqgan_ros.data.augment import Augmenter, random_crop
from sqgan_ros.data.pool import FramePool
from sqgan_ros.data.splits import SPLIT_SEEDS, SPLIT_SPAN
from sqgan_ros.data.synthetic import render_scene
from sqgan_ros.labels import NUM_CLASSES, UNLABELLED

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm")



def to_sample(image: np.ndarray, labels: np.ndarray | None) -> dict:
    """Convert numpy RGB uint8 (H,W,3) + labels (H,W) (or None) to a dataset sample dict."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    has = labels is not None
    if labels is None:
        labels = np.full(image.shape[:2], UNLABELLED, np.int64)
    labels = np.asarray(labels)
    if labels.shape != image.shape[:2]:
        raise ValueError(f"labels shape {labels.shape} does not match image {image.shape[:2]}")
    lab = torch.from_numpy(np.where((labels >= 0) & (labels < NUM_CLASSES), labels, UNLABELLED).astype(np.int64))
    img = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
    return {"image": img, "labels": lab, "has_labels": has}


def resize_pair(image: np.ndarray, labels: np.ndarray | None, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize-and-centre-crop image (area/linear) and labels (nearest) to fill ``size`` exactly."""
    h, w = size
    ih, iw = image.shape[:2]
    scale = max(h / ih, w / iw)
    nh, nw = max(h, round(ih * scale)), max(w, round(iw * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, (nw, nh), interpolation=interp)
    y0, x0 = (nh - h) // 2, (nw - w) // 2
    image = image[y0:y0 + h, x0:x0 + w]
    if labels is not None:
        labels = cv2.resize(labels.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST)[y0:y0 + h, x0:x0 + w]
    return np.ascontiguousarray(image), labels


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in size):
        raise ValueError(f"size must be (height, width) positive ints, got {size!r}")
    return int(size[0]), int(size[1])


class PairDataset(Dataset):
    """Common tail: optional resize, augmentation and random crop."""

    def __init__(self, size: tuple[int, int] | None, crop: tuple[int, int] | None,
                 augment: Augmenter | None, seed: int) -> None:
        self.size = _check_size(size)
        self.crop = _check_size(crop)
        self.augment = augment
        self.seed = int(seed)
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the random stream of augmentation/crops (call once per epoch)."""
        self._epoch = int(epoch)

    def _finish(self, index: int, image: np.ndarray, labels: np.ndarray | None) -> dict:
        if self.size is not None and image.shape[:2] != self.size:
            image, labels = resize_pair(image, labels, self.size)
        if self.augment is not None or self.crop is not None:
            rng = np.random.default_rng([self.seed, self._epoch, index])
            lab = labels if labels is not None else np.full(image.shape[:2], UNLABELLED, np.uint8)
            if self.augment is not None:
                image, lab = self.augment(image, lab, rng)
            if self.crop is not None:
                image, lab = random_crop(image, lab, self.crop, rng)
            labels = lab if labels is not None else None
        return to_sample(image, labels)


class SyntheticStreetDataset(PairDataset):
    """Synthetic labelled street scenes rendered on the fly.

    Args:
        split: "train", "val" or "test"; seeds come from disjoint ranges (:data:`SPLIT_SEEDS`).
        size: Render size (height, width).
        crop: Optional random crop size (e.g. (128, 256)).
        augment: Optional :class:`~sqgan_ros.data.augment.Augmenter`.
        length: Number of samples (<= 1,000,000).
        seed: Seed of the augmentation/crop stream.
        pool: Optional pre-rendered :class:`~sqgan_ros.data.pool.FramePool` of the same split and
            size; sample ``i`` then reads pool frame ``i % len(pool)`` instead of rendering.
    """

    def __init__(self, split: str = "train", size: tuple[int, int] = (256, 512), crop: tuple[int, int] | None = None,
                 augment: Augmenter | None = None, length: int = 10_000, seed: int = 0,
                 pool: FramePool | None = None) -> None:
        if split not in SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(SPLIT_SEEDS)}, got {split!r}")
        if not 0 < int(length) <= SPLIT_SPAN:
            raise ValueError(f"length must be in 1..{SPLIT_SPAN}, got {length}")
        super().__init__(None, crop, augment, seed)
        self.split = split
        self.render_size = _check_size(size)
        self.length = int(length)
        if pool is not None and (pool.split != split or pool.images.shape[1:3] != self.render_size):
            raise ValueError(f"frame pool {pool.path} holds {pool.split} frames of size {pool.images.shape[1:3]}, "
                             f"not {split} frames of size {self.render_size}")
        self.pool = pool

    def scene_seed(self, index: int) -> int:
        """The scene seed of sample ``index``."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        return SPLIT_SEEDS[self.split] + int(index)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        if self.pool is not None:
            j = self.scene_seed(index) % len(self.pool)
            return self._finish(index, np.array(self.pool.images[j]), np.array(self.pool.labels[j]))
        image, labels = render_scene(self.scene_seed(index), self.render_size)
        return self._finish(index, image, labels)


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3); ValueError when OpenCV cannot read it."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_labels(path: Path) -> np.ndarray:
    lab = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if lab is None:
        raise ValueError(f"cannot read label image {path}")
    if lab.ndim != 2:
        raise ValueError(f"label image {path} must be single-channel trainIds, got shape {lab.shape}")
    lab = lab.astype(np.int64)
    return np.where((lab >= 0) & (lab < NUM_CLASSES), lab, UNLABELLED)  # 255 (ignore) -> 19


class _ListDataset(PairDataset):
    def __init__(self, pairs: list[tuple[Path, Path]], size, crop, augment, seed) -> None:
        super().__init__(size, crop, augment, seed)
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        img_path, lab_path = self.pairs[index]
        image, labels = read_rgb(img_path), _read_labels(lab_path)
        if labels.shape != image.shape[:2]:
            raise ValueError(f"{lab_path} has shape {labels.shape}, image {img_path} has {image.shape[:2]}")
        return self._finish(index, image, labels)


class CityscapesDataset(_ListDataset):
    """Cityscapes pairs read from the standard folder layout.

    Images ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with labels
    ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`` (255 -> 19 unlabelled).

    Args:
        root: Dataset root.
        split: "train", "val" or "test".
        size: Optional output size (resize + centre crop; labels nearest).
        crop, augment, seed: As in :class:`SyntheticStreetDataset`.
    """

    def __init__(self, root: str | Path, split: str = "train", size: tuple[int, int] | None = (256, 512),
                 crop: tuple[int, int] | None = None, augment: Augmenter | None = None, seed: int = 0) -> None:
        root = Path(root)
        img_dir = root / "leftImg8bit" / split
        if not img_dir.is_dir():
            raise ValueError(f"no Cityscapes images at {img_dir}")
        pairs = []
        for img in sorted(img_dir.glob("*/*_leftImg8bit.png")):
            stem = img.name[: -len("_leftImg8bit.png")]
            lab = root / "gtFine" / split / img.parent.name / f"{stem}_gtFine_labelTrainIds.png"
            if not lab.is_file():
                raise ValueError(f"missing label file {lab} (run cityscapesscripts' createTrainIdLabelImgs)")
            pairs.append((img, lab))
        if not pairs:
            raise ValueError(f"no *_leftImg8bit.png files under {img_dir}")
        super().__init__(pairs, size, crop, augment, seed)


class ImageLabelFolderDataset(_ListDataset):
    """Images and trainId label PNGs in two folders, matched by file stem.

    Args:
        images_dir: Folder of RGB images.
        labels_dir: Folder of single-channel trainId PNGs (values >= 20, e.g. 255, -> 19).
        size, crop, augment, seed: As in :class:`CityscapesDataset`.
    """

    def __init__(self, images_dir: str | Path, labels_dir: str | Path, size: tuple[int, int] | None = (256, 512),
                 crop: tuple[int, int] | None = None, augment: Augmenter | None = None, seed: int = 0) -> None:
        images_dir, labels_dir = Path(images_dir), Path(labels_dir)
        for d in (images_dir, labels_dir):
            if not d.is_dir():
                raise ValueError(f"not a directory: {d}")
        labels = {p.stem: p for p in labels_dir.iterdir() if p.suffix.lower() == ".png"}
        pairs = [(p, labels[p.stem]) for p in sorted(images_dir.iterdir())
                 if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in labels]
        if not pairs:
            raise ValueError(f"no image in {images_dir} has a label PNG with the same stem in {labels_dir}")
        super().__init__(pairs, size, crop, augment, seed)


class MixedDataset(Dataset):
    """Mixes datasets with given sampling ratios over a fixed virtual length.

    Sample ``i`` is drawn deterministically: the source is chosen so that the share of each source
    matches its ratio (stratified by index), the item within the source by a seeded hash.

    Args:
        datasets: Source datasets (non-empty).
        ratios: Positive weights, one per dataset.
        length: Virtual length.
        seed: Seed of the item choice.
    """

    def __init__(self, datasets: Sequence[Dataset], ratios: Sequence[float], length: int, seed: int = 0) -> None:
        if len(datasets) == 0 or len(datasets) != len(ratios):
            raise ValueError("need one ratio per dataset and at least one dataset")
        r = np.asarray(ratios, float)
        if not np.all(np.isfinite(r)) or np.any(r < 0) or r.sum() <= 0:
            raise ValueError(f"ratios must be finite, >= 0 and not all 0, got {list(ratios)}")
        if any(len(d) == 0 for d, w in zip(datasets, r) if w > 0):
            raise ValueError("a dataset with a positive ratio is empty")
        if length <= 0:
            raise ValueError(f"length must be > 0, got {length}")
        self.datasets = list(datasets)
        self.cum = list(np.cumsum(r / r.sum()))
        self.length = int(length)
        self.seed = int(seed)

    def __len__(self) -> int:
        return self.length

    def source_of(self, index: int) -> int:
        """Which dataset sample ``index`` comes from."""
        u = ((index * 0.6180339887498949) + self.seed * 0.1234567) % 1.0  # low-discrepancy stratification
        return min(bisect.bisect_right(self.cum, u), len(self.datasets) - 1)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        src = self.source_of(index)
        ds = self.datasets[src]
        j = int(np.random.default_rng([self.seed, index]).integers(len(ds)))
        return ds[j]
