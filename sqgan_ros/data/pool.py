"""A pre-rendered pool of synthetic scenes on disk, so training does not render on the hot path.

Rendering a 256x512 scene costs ~30-100 ms of one core; a training step on a 2-core CPU wants
8-16 frames per second. The pool renders ``count`` scenes of one split once (in parallel
processes), stores them as two ``.npy`` arrays (memory-mapped on read) plus a JSON note of the
split, size and seeds, and is reused by every later run with the same parameters.

::

    FramePool.build(path, split="train", count=3000, size=(256, 512), workers=2)
    pool = FramePool.open(path)           # images (N,H,W,3) uint8, labels (N,H,W) uint8
"""

from __future__ import annotations

import json
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sqgan_ros.data.splits import SPLIT_SEEDS

_META = "pool.json"
_IMAGES = "images.npy"
_LABELS = "labels.npy"


def _render(args: tuple[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    from sqgan_ros.data.synthetic import render_scene

    seed, size = args
    return render_scene(seed, size)


@dataclass(frozen=True)
class FramePool:
    """Rendered synthetic frames of one split.

    Args:
        path: Folder holding the pool.
        split: Synthetic split the seeds come from.
        first_seed: Seed of frame 0 (frame i has seed first_seed + i).
        images: (N, H, W, 3) uint8 RGB (memory-mapped).
        labels: (N, H, W) uint8 class ids (memory-mapped).
    """

    path: Path
    split: str
    first_seed: int
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def open(cls, path: str | Path) -> FramePool:
        """Open a pool written by :meth:`build`; raises ``ValueError`` if it is incomplete."""
        path = Path(path)
        meta_file = path / _META
        if not meta_file.is_file():
            raise ValueError(f"{path} is not a complete frame pool (no {_META}); build it first")
        meta = json.loads(meta_file.read_text())
        images = np.load(path / _IMAGES, mmap_mode="r")
        labels = np.load(path / _LABELS, mmap_mode="r")
        if images.shape[:3] != labels.shape or images.shape[0] != meta["count"]:
            raise ValueError(f"frame pool {path} is inconsistent: images {images.shape}, labels {labels.shape}")
        return cls(path, meta["split"], int(meta["first_seed"]), images, labels)

    @classmethod
    def build(cls, path: str | Path, split: str = "train", count: int = 3000,
              size: tuple[int, int] = (256, 512), workers: int = 2, first_index: int = 0) -> FramePool:
        """Render ``count`` scenes of ``split`` into ``path`` (reused if already built alike).

        Args:
            path: Output folder.
            split: "train", "val" or "test" (seed ranges of :data:`sqgan_ros.data.splits.SPLIT_SEEDS`).
            count: Number of scenes.
            size: Render size (H, W).
            workers: Rendering processes.
            first_index: Index of the first scene inside the split.
        """
        if split not in SPLIT_SEEDS:
            raise ValueError(f"split must be one of {sorted(SPLIT_SEEDS)}, got {split!r}")
        if count <= 0:
            raise ValueError(f"count must be positive, got {count}")
        path = Path(path)
        first_seed = SPLIT_SEEDS[split] + int(first_index)
        meta = {"split": split, "first_seed": first_seed, "count": int(count), "size": list(size)}
        meta_file = path / _META
        if meta_file.is_file() and json.loads(meta_file.read_text()) == meta:
            return cls.open(path)
        path.mkdir(parents=True, exist_ok=True)
        meta_file.unlink(missing_ok=True)
        h, w = size
        images = np.lib.format.open_memmap(path / _IMAGES, mode="w+", dtype=np.uint8, shape=(count, h, w, 3))
        labels = np.lib.format.open_memmap(path / _LABELS, mode="w+", dtype=np.uint8, shape=(count, h, w))
        jobs = [(first_seed + i, (h, w)) for i in range(count)]
        if workers > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for i, (img, lab) in enumerate(pool.imap(_render, jobs, chunksize=8)):
                    images[i], labels[i] = img, lab
        else:
            for i, job in enumerate(jobs):
                images[i], labels[i] = _render(job)
        images.flush()
        labels.flush()
        del images, labels
        meta_file.write_text(json.dumps(meta))
        return cls.open(path)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Pre-render a pool of synthetic scenes for training.")
    parser.add_argument("path")
    parser.add_argument("--split", default="train")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 512))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pool = FramePool.build(args.path, args.split, args.count, tuple(args.size), args.workers)
    print(f"{len(pool)} frames of {pool.split} at {pool.images.shape[1:3]} in {pool.path}")
