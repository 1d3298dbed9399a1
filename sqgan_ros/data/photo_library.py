"""Real photos that Debian packages ship, and a dataset of multi-scale crops of them.

The image branch must see far more real imagery than two videos and the opencv-doc photos. The
desktop-background packages of Debian ship high-resolution photographs (nature, landscapes,
architecture, interiors, objects, black-and-white); each gives thousands of distinct crops at
several scales. Only photographs are listed (illustrations and renders are left out: they teach
flat colours, which the synthetic scenes already do). Every file's package and licence, as the
package's ``copyright`` file states it, is in :data:`PHOTOS`; docs/TRAINING.md lists them.

Install (as root): ``apt-get install mate-backgrounds lomiri-wallpapers plasma-workspace-wallpapers``
(``scripts/train_long.sh`` does it). :func:`installed_photos` returns those present; every 7th photo
(by position in the table) is held out for evaluation (``split="test"``).

    photo (up to 6000x4000) -- scale s (log-uniform, crop..full) --> window (crop/s) at a random place
        -- INTER_AREA --> crop (H, W) -- CameraDegrade --> sample (unlabelled)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sqgan_ros.data.camera_degrade import CameraDegrade
from sqgan_ros.labels import UNLABELLED

__all__ = ["Photo", "PHOTOS", "PACKAGES", "installed_photos", "PhotoCropDataset"]

_BG = "/usr/share/backgrounds"
_KDE = "/usr/share/wallpapers"


@dataclass(frozen=True)
class Photo:
    """One shipped photograph: where it is, which package ships it, under which licence."""

    path: str
    package: str
    licence: str
    grey: bool = False


def _lomiri(name: str, licence: str) -> Photo:
    return Photo(f"{_BG}/{name}", "lomiri-wallpapers", licence)


def _mate(name: str) -> Photo:
    return Photo(f"{_BG}/mate/nature/{name}", "mate-backgrounds", "GPL-2+")


def _kde(name: str, size: str = "1920x1080.jpg", grey: bool = False) -> Photo:
    return Photo(f"{_KDE}/{name}/contents/images/{size}", "plasma-workspace-wallpapers", "GPL-2+", grey)


PHOTOS: tuple[Photo, ...] = (
    _lomiri("Bridge_by_Sander_Klootwijk.jpg", "CC-BY-SA-4.0"),
    _lomiri("Dragonfly_by_Bolly.jpg", "CC-BY-SA-4.0"),
    _lomiri("Kleiber_by_Lukas_Baubkus.jpg", "CC-BY-SA-3.0"),
    _lomiri("Wine_by_Jakkub_Mede.jpg", "CC-BY-4.0"),
    _lomiri("Picture_0B_by_freespace.jpg", "CC-BY-4.0"),
    _lomiri("Picture_1A_by_freespace.jpg", "CC-BY-4.0"),
    _lomiri("aitzgorri_by_Aitzol_Berasategi.jpg", "CC-BY-4.0"),
    _lomiri("analogpattern_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0"),
    _lomiri("free_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0"),
    _lomiri("friends_by_Aitzol_Berasategi.jpg", "CC-BY-4.0"),
    _lomiri("greentock_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0"),
    _lomiri("life_by_Aitzol_Berasategi.jpg", "CC-BY-4.0"),
    _lomiri("picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC-BY-4.0"),
    _lomiri("seeding_by_Clements_Engelhardt.jpg", "CC0-1.0"),
    _lomiri("sunset_by_Aitzol_Berasategi.jpg", "CC-BY-4.0"),
    _lomiri("Infinite-Sea_by_Aury88.jpg", "CC-BY-SA-3.0"),
    _mate("Aqua.jpg"),
    _mate("Blinds.jpg"),
    _mate("Dune.jpg"),
    _mate("FreshFlower.jpg"),
    _mate("Garden.jpg"),
    _mate("GreenMeadow.jpg"),
    _mate("LadyBird.jpg"),
    _mate("RainDrops.jpg"),
    _mate("Storm.jpg"),
    _mate("TwoWings.jpg"),
    _mate("Wood.jpg"),
    _mate("YellowFlower.jpg"),
    _kde("BytheWater"),
    _kde("ColdRipple", grey=True),
    _kde("ColorfulCups", "2560x1600.jpg"),
    _kde("EveningGlow"),
    _kde("FallenLeaf"),
    _kde("Grey", grey=True),
    _kde("Kite"),
    _kde("OneStandsOut"),
    _kde("Path"),
    _kde("summer_1am"),
)
PACKAGES: tuple[str, ...] = ("lomiri-wallpapers", "mate-backgrounds", "plasma-workspace-wallpapers")
HOLDOUT_EVERY = 7
DEFAULT_DEGRADE = CameraDegrade()


def installed_photos(split: str = "train") -> list[Photo]:
    """The listed photos present on this machine: ``train`` (6 of 7), ``test`` (every 7th) or ``all``."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be train, test or all, got {split!r}")
    out = []
    for i, photo in enumerate(PHOTOS):
        held_out = i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
        if split == "all" or (split == "test") == held_out:
            if Path(photo.path).is_file():
                out.append(photo)
    return out


class PhotoCropDataset(Dataset):
    """Multi-scale random crops of high-resolution photos, with camera degradations.

    Args:
        photos: image files.
        crop: (H, W) of a sample.
        length: samples per epoch (a virtual length: crops are drawn, not enumerated).
        seed: base seed; sample ``i`` of epoch ``e`` is drawn from ``(seed, e, i)``.
        degrade: camera degradations (None: clean crops).
        max_side: photos are kept in memory at most this long on their longer side; the
            window's width is drawn log-uniformly between the crop's width (detail at that
            kept resolution) and the widest window of the crop's aspect that fits the photo.
        labeller: labels each (degraded) crop, RGB uint8 -> labels; None: unlabelled samples.
    """

    def __init__(self, photos: list[str | Path], crop: tuple[int, int] = (128, 256), length: int = 10000,
                 seed: int = 0, degrade: CameraDegrade | None = DEFAULT_DEGRADE, max_side: int = 2048,
                 labeller: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        if not photos:
            raise ValueError("no photos given")
        if min(crop) < 16:
            raise ValueError(f"crop must be at least 16 pixels per side, got {crop}")
        self.paths = [Path(p) for p in photos]
        self.crop = (int(crop[0]), int(crop[1]))
        self.length = int(length)
        self.seed = int(seed)
        self.degrade = degrade
        self.max_side = int(max_side)
        self._epoch = 0
        self._cache: dict[int, np.ndarray] = {}
        self.labeller = labeller

    def set_epoch(self, epoch: int) -> None:
        """Change the random stream (call once per epoch)."""
        self._epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def photo(self, index: int) -> np.ndarray:
        """Photo ``index`` as uint8 RGB, downscaled to ``max_side`` (cached)."""
        if index not in self._cache:
            bgr = cv2.imread(str(self.paths[index]), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read photo {self.paths[index]}")
            h, w = bgr.shape[:2]
            scale = min(1.0, self.max_side / max(h, w))
            if scale < 1.0:
                bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            self._cache[index] = np.ascontiguousarray(bgr[:, :, ::-1])
        return self._cache[index]

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self._epoch, index])
        image = self.photo(int(rng.integers(len(self.paths))))
        h, w = image.shape[:2]
        ch, cw = self.crop
        # the window keeps the crop's aspect; its width is log-uniform between the crop's width
        # (finest detail) and the largest window that fits the photo (whole scene)
        largest = min(w, h * cw / ch)
        smallest = min(float(cw), largest)
        win_w = float(np.exp(rng.uniform(np.log(smallest), np.log(largest))))
        win_h = win_w * ch / cw
        x0 = float(rng.uniform(0.0, w - win_w))
        y0 = float(rng.uniform(0.0, h - win_h))
        window = image[int(y0): int(y0 + win_h), int(x0): int(x0 + win_w)]
        sample = cv2.resize(window, (cw, ch), interpolation=cv2.INTER_AREA if win_w > cw else cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            sample = sample[:, ::-1]
        if self.degrade is not None:
            sample = self.degrade(np.ascontiguousarray(sample), rng)
        sample = np.ascontiguousarray(sample)
        image_tensor = torch.from_numpy(sample).permute(2, 0, 1).float() / 255.0
        if self.labeller is None:
            return {"image": image_tensor, "labels": torch.full(self.crop, UNLABELLED, dtype=torch.long),
                    "has_labels": False}
        labels = np.asarray(self.labeller(sample))
        if labels.shape != self.crop:
            raise ValueError(f"labeller returned {labels.shape} for a {self.crop} crop")
        return {"image": image_tensor, "labels": torch.from_numpy(labels.astype(np.int64)), "has_labels": True}
