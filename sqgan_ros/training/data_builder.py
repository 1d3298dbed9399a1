"""Turn a training ``DataConfig`` into a dataset from ``sqgan_ros.data``."""

from __future__ import annotations

from torch.utils.data import Dataset

from sqgan_ros.training.config import DataConfig


def build_dataset(config: DataConfig, seed: int = 0, training: bool = True) -> Dataset:
    """Training (or export-statistics) dataset.

    Args:
        config: data section of the training config.
        seed: run seed (crops, augmentation, mixing).
        training: False gives full frames without augmentation (used by ``export``).
    """
    from sqgan_ros.data import augment as aug_mod
    from sqgan_ros.data import datasets

    crop = config.crop if training else None
    use_aug = config.augment and training
    if config.cityscapes_root:
        return datasets.CityscapesDataset(config.cityscapes_root, "train", config.size, crop,
                                          aug_mod.Augmenter() if use_aug else None, seed)
    data_cfg = datasets.DataConfig(
        size=tuple(config.size), crop=None if crop is None else tuple(crop), length=config.length,
        synthetic_ratio=config.synthetic_ratio, real_frames=config.real_frames, augment=use_aug, seed=seed,
        videos=None if config.videos is None else tuple(config.videos),
        photos=None if config.photos is None else tuple(config.photos),
        synthetic_pool=config.synthetic_pool if training else None)
    return datasets.build_training_dataset(data_cfg)
