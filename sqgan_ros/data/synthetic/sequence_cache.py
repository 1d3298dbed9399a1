"""Pre-rendered synthetic street sequences: render once, replay at no CPU cost.

Rendering a 256x512 street frame live costs 40-90 ms of CPU, a third to a half of a 2-core
robot's budget at 10 frames/s, which a real camera does not take. ``render_sequence_cache``
renders frames ``0..n-1`` of ``StreetSequence(seed, size)`` once (in parallel) into a folder;
:class:`SequenceCache` memory-maps them, so a camera source replays them for the cost of a copy.

::

    <cache dir>/synthetic_s<seed>_<h>x<w>_n<frames>_<generator hash>/
        images.npy  uint8 (n, h, w, 3) RGB      labels.npy  uint8 (n, h, w)      meta.json (last)

The folder name carries a hash of the generator's source files, so frames from an older
generator are never replayed. The folder appears atomically (rendered under a temporary name,
then renamed), so a reader never sees a half-written cache.

CLI: ``python -m sqgan_ros.data.synthetic.sequence_cache --seed 0 --frames 200``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Environment variable naming the cache folder (default ``$XDG_CACHE_HOME/sqgan_ros`` or
#: ``~/.cache/sqgan_ros``).
CACHE_ENV = "SQGAN_CACHE_DIR"
#: Most frames a cache may hold (a 256x512 frame takes 0.5 MB).
MAX_FRAMES = 100_000
_META = "meta.json"
_IMAGES = "images.npy"
_LABELS = "labels.npy"
_FORMAT = "sqgan_ros.synthetic_sequence_cache"


def default_cache_dir() -> Path:
    """``$SQGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/sqgan_ros``, else ``~/.cache/sqgan_ros``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "sqgan_ros"


@functools.cache
def generator_version() -> str:
    """Hex sha256 of the generator's source files (what decides the rendered pixels)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        if path.name in ("sequence_cache.py", "benchmark.py"):
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _check(seed: int, size: tuple[int, int], frames: int) -> tuple[int, tuple[int, int], int]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    h, w = (int(v) for v in size)
    if not (16 <= h <= 4096 and 16 <= w <= 4096):
        raise ValueError(f"size must be within 16..4096 pixels per side, got {size}")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 1 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be an int in 1..{MAX_FRAMES}, got {frames!r}")
    return int(seed), (h, w), int(frames)


def cache_path(seed: int, size: tuple[int, int], frames: int, root: str | Path | None = None) -> Path:
    """The folder of the cache of ``frames`` frames of sequence ``seed`` at ``size``."""
    seed, (h, w), frames = _check(seed, size, frames)
    base = Path(root).expanduser() if root is not None else default_cache_dir()
    return base / f"synthetic_s{seed}_{h}x{w}_n{frames}_{generator_version()[:12]}"


@dataclass(frozen=True)
class SequenceCache:
    """Memory-mapped pre-rendered frames of one synthetic sequence.

    Args:
        path: the cache folder.
        seed: sequence seed.
        images: ``uint8 (n, h, w, 3)`` RGB (read-only memory map).
        labels: ``uint8 (n, h, w)`` class ids (read-only memory map).
    """

    path: Path
    seed: int
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index % len(self)`` as fresh arrays ``(image, labels)``."""
        i = int(index) % len(self)
        return np.array(self.images[i]), np.array(self.labels[i])

    @classmethod
    def open(cls, path: str | Path) -> SequenceCache:
        """Open a complete cache folder; raises ``ValueError`` for anything else."""
        path = Path(path)
        try:
            meta = json.loads((path / _META).read_text())
            images = np.load(path / _IMAGES, mmap_mode="r")
            labels = np.load(path / _LABELS, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a complete synthetic sequence cache: {exc}") from exc
        n = meta.get("frames") if isinstance(meta, dict) else None
        if (meta.get("format") != _FORMAT or images.dtype != np.uint8 or labels.dtype != np.uint8
                or images.ndim != 4 or images.shape[3] != 3 or images.shape[:3] != labels.shape
                or images.shape[0] != n or meta.get("generator") != generator_version()):
            raise ValueError(f"{path} is not a synthetic sequence cache of this generator "
                             f"(images {images.shape}, labels {labels.shape})")
        return cls(path, int(meta["seed"]), images, labels)


def find_cache(seed: int, size: tuple[int, int], frames: int,
               root: str | Path | None = None) -> SequenceCache | None:
    """The complete cache of these frames, or None when there is none (or it is unreadable)."""
    path = cache_path(seed, size, frames, root)
    if not path.is_dir():
        return None
    try:
        return SequenceCache.open(path)
    except ValueError:
        return None


def _render(args: tuple[int, tuple[int, int], int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    from sqgan_ros.data.synthetic.sequence import StreetSequence  # noqa: PLC0415 - worker process

    seed, size, start, stop = args
    sequence = StreetSequence(seed, size=size)
    frames = [sequence.render(i) for i in range(start, stop)]
    return start, np.stack([f[0] for f in frames]), np.stack([f[1] for f in frames])


def render_sequence_cache(seed: int, size: tuple[int, int] = (256, 512), frames: int = 200,
                          root: str | Path | None = None, workers: int = 2) -> SequenceCache:
    """Render frames ``0..frames-1`` of ``StreetSequence(seed, size)`` into the cache (reused if there).

    Args:
        seed: sequence seed.
        size: ``(height, width)``.
        frames: number of frames.
        root: cache folder (default :func:`default_cache_dir`).
        workers: rendering processes (1 renders in this process).
    """
    seed, size, frames = _check(seed, size, frames)
    final = cache_path(seed, size, frames, root)
    found = find_cache(seed, size, frames, root)
    if found is not None:
        return found
    if final.is_dir():  # there, but incomplete or unreadable: render it again
        shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=final.name + ".tmp", dir=final.parent))
    try:
        images = np.lib.format.open_memmap(tmp / _IMAGES, "w+", np.uint8, (frames, *size, 3))
        labels = np.lib.format.open_memmap(tmp / _LABELS, "w+", np.uint8, (frames, *size))
        step = max(1, min(16, frames // max(1, workers)))
        jobs = [(seed, size, i, min(frames, i + step)) for i in range(0, frames, step)]
        if workers <= 1:
            results = map(_render, jobs)
            _store(results, images, labels)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                _store(pool.map(_render, jobs), images, labels)
        images.flush()
        labels.flush()
        del images, labels
        meta = {"format": _FORMAT, "seed": seed, "size": list(size), "frames": frames,
                "generator": generator_version()}
        (tmp / _META).write_text(json.dumps(meta, indent=1))
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same cache first
            if find_cache(seed, size, frames, root) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SequenceCache.open(final)


def _store(results, images: np.ndarray, labels: np.ndarray) -> None:
    for start, image_block, label_block in results:
        images[start:start + len(image_block)] = image_block
        labels[start:start + len(label_block)] = label_block


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: render (or find) a cache and print its folder."""
    parser = argparse.ArgumentParser(description="Pre-render a synthetic street sequence for replay.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 512), metavar=("H", "W"))
    parser.add_argument("--root", type=Path, default=None, help=f"cache folder (default ${CACHE_ENV} "
                        "or ~/.cache/sqgan_ros)")
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    cache = render_sequence_cache(args.seed, tuple(args.size), args.frames, args.root, args.workers)
    print(cache.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
