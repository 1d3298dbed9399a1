"""The one data configuration: the ``data:`` section of a training YAML (plain Python, no torch).

Parsed by :mod:`sqgan_ros.typed_config` with the rest of the training config and built by
:func:`sqgan_ros.data.training_set.build_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataConfig"]


@dataclass
class DataConfig:
    """Where training images come from and how they are prepared.

    Args:
        size: (H, W) frames are rendered/resized to (the model size).
        crop: (H, W) random training crop, or None for full frames.
        length: virtual epoch length (samples).
        synthetic_ratio: share of synthetic scenes; the rest is real (unlabelled) footage if found.
        real_frames: frame split of real videos ("train" holds out every 10th frame).
        augment: per-sample augmentation (flip, rotation, resize-crop, colour, sharpness).
        copy_paste_p: batch copy-paste probability of traffic lights/signs (paper 0.9; 0 disables;
            applied by the trainer).
        videos: explicit real videos (None: the footage :func:`~sqgan_ros.data.footage.find_real_footage` finds).
        photos: explicit real photos (None: the footage the data layer finds).
        cityscapes_root: train on a Cityscapes-layout dataset instead (paper setting).
        num_workers: DataLoader workers per process.
        synthetic_pool: folder of a pre-rendered synthetic frame pool (``python -m
            sqgan_ros.data.pool``); None renders scenes on the fly.
        photo_library_ratio: share of samples that are multi-scale crops of the photographs
            Debian's background packages ship, with camera degradations
            (:mod:`sqgan_ros.data.photo_library`; training with a crop only; 0 disables, and
            so does a machine without the packages). ``synthetic_ratio + photo_library_ratio``
            must be <= 1; the rest is the real footage.
        real_labels: "none" (real footage and photo-library crops are unlabelled) or "segmenter":
            labelled by the bundled segmenter, the map the codec gets at run time
            (:mod:`sqgan_ros.data.labelling`).
        label_noise: probability that a labelled sample's map is corrupted (unsure rectangles,
            wrong rectangles, swapped classes) before it conditions the image branch in training;
            the loss keeps the true map (:mod:`sqgan_ros.training.label_noise`; applied by the
            trainer; 0 disables).
        semantic_label_noise: the same for the semantic branch (stage 1), unlabelled rectangles
            only, which it then codes and is scored on: what ``segmenter_min_confidence`` sends.
            Kept small: a de-masker that has seen 'unlabelled' areas answers 'unlabelled' in
            uniform regions it has to guess.
    """

    size: tuple[int, int] = (256, 512)
    crop: tuple[int, int] | None = (128, 256)
    length: int = 10_000
    synthetic_ratio: float = 0.8
    real_frames: str = "train"
    augment: bool = True
    copy_paste_p: float = 0.9
    videos: tuple[str, ...] | None = None
    photos: tuple[str, ...] | None = None
    cityscapes_root: str | None = None
    num_workers: int = 0
    synthetic_pool: str | None = None
    photo_library_ratio: float = 0.0
    real_labels: str = "none"
    label_noise: float = 0.0
    semantic_label_noise: float = 0.0
