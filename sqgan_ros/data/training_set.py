"""The training dataset a :class:`~sqgan_ros.data.config.DataConfig` describes.

DataConfig --build_dataset--> SyntheticStreetDataset (train split, optional frame pool)
[+ UnlabelledVideoDataset / UnlabelledPhotoDataset of real footage]
--MixedDataset (synthetic_ratio)--> samples
(or CityscapesDataset with cityscapes_root)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from sqgan_ros.data.augment import Augmenter
from sqgan_ros.data.config import DataConfig
from sqgan_ros.data.datasets import CityscapesDataset, MixedDataset, SyntheticStreetDataset
from sqgan_ros.data.footage import UnlabelledPhotoDataset, UnlabelledVideoDataset, find_real_footage
from sqgan_ros.data.pool import FramePool
from sqgan_ros.data.splits import SPLIT_SPAN

__all__ = ["DataConfig", "build_dataset"]

Labeller = Callable[[np.ndarray], np.ndarray]


def build_dataset(config: DataConfig, seed: int = 0, training: bool = True, labeller: Labeller | None = None) -> Dataset:
    """The training (or export-statistics) dataset: synthetic scenes mixed with real footage.

    Real footage is unlabelled unless ``labeller`` is given. With ``config.cityscapes_root`` the
    Cityscapes-layout dataset instead (paper setting).

    Args:
        config: the data section of the training config.
        seed: run seed (crops, augmentation, mixing).
        training: False gives full frames without augmentation and without the pool (``export``).
        labeller: segmenter for the real footage and library crops (default: the bundled one
            when ``config.real_labels`` is "segmenter", else none: unlabelled).
    """
    crop = config.crop if training else None
    augment = config.augment and training
    if labeller is None and config.real_labels == "segmenter":
        from sqgan_ros.data.labelling import segmenter_labeller

        labeller = segmenter_labeller()
    if config.cityscapes_root:
        return CityscapesDataset(config.cityscapes_root, "train", config.size, crop,
                                 Augmenter() if augment else None, seed)
    if not 0.0 <= config.synthetic_ratio <= 1.0:
        raise ValueError(f"synthetic_ratio must be in [0, 1], got {config.synthetic_ratio}")
    if not 0.0 <= config.photo_library_ratio <= 1.0 - config.synthetic_ratio + 1e-9:
        raise ValueError(f"photo_library_ratio must be in [0, 1 - synthetic_ratio], got {config.photo_library_ratio}")
    aug = Augmenter() if augment else None
    pool = FramePool.open(config.synthetic_pool) if config.synthetic_pool and training else None
    synth = SyntheticStreetDataset("train", tuple(config.size), crop, aug, length=min(SPLIT_SPAN, config.length),
                                   seed=seed, pool=pool)
    found = find_real_footage()
    videos = [Path(v) for v in config.videos] if config.videos is not None else list(found.videos)
    photos = [Path(p) for p in config.photos] if config.photos is not None else list(found.photos)
    sources: list[Dataset] = [synth]
    ratios = [config.synthetic_ratio]
    real: list[Dataset] = []
    if videos:
        real.append(UnlabelledVideoDataset(videos, config.size, config.real_frames, labeller=labeller,
                                           crop=crop, augment=aug, seed=seed + 1))
    if photos:
        real.append(UnlabelledPhotoDataset(photos, config.size, labeller, crop, aug, seed + 2))
    library = _photo_library(config, crop, seed, labeller) if training else None
    if library is not None:
        sources.append(library)
        ratios.append(config.photo_library_ratio)
    footage_share = 1.0 - config.synthetic_ratio - (config.photo_library_ratio if library is not None else 0.0)
    if real and footage_share > 1e-9:
        total = sum(len(d) for d in real)
        for d in real:
            sources.append(d)
            ratios.append(footage_share * len(d) / total)

    if len(sources) == 1:
        return synth
    return MixedDataset(sources, ratios, config.length, seed)


def _photo_library(config: DataConfig, crop: tuple[int, int] | None, seed: int,
                   labeller: Labeller | None = None) -> Dataset | None:
    """Crops of the installed library photos (train split), or None (disabled, no crop, none installed)."""
    from sqgan_ros.data.photo_library import PhotoCropDataset, installed_photos

    if config.photo_library_ratio <= 0.0 or crop is None:
        return None
    photos = installed_photos("train")
    if not photos:
        return None
    return PhotoCropDataset([p.path for p in photos], tuple(crop), length=config.length, seed=seed + 3,
                            labeller=labeller)
