"""Label maps for real training frames from the segmenter the codec runs with (``data.real_labels``).

At run time the codec never sees ground truth: SAMM, the semantic branch and (through the
decoded map) SPADE all see the bundled segmenter's map of the camera frame. Training on real
frames marked "unlabelled" therefore trains a condition the deployed codec never gets. With
``real_labels: segmenter`` the real footage and the photo-library crops are labelled by that
segmenter, so the semantic branch learns to code the maps it will be sent and the image branch
learns to decode real frames under them (wrong guesses included; ``data.label_noise`` adds more).

:class:`CachedLabeller` keeps the maps of recently seen frames (video frames recur every epoch).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

__all__ = ["CachedLabeller", "segmenter_labeller"]


class CachedLabeller:
    """Wrap ``labeller`` (RGB uint8 ``(H, W, 3)`` -> labels ``(H, W)``) with an LRU cache.

    Frames are keyed by a BLAKE2b digest of their shape and bytes, so equal frames hit whatever
    array object carries them.

    Args:
        labeller: the callable to cache.
        max_entries: maps kept (a 256x512 map is 128 kB).
    """

    def __init__(self, labeller: Callable[[np.ndarray], np.ndarray], max_entries: int = 2048) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.labeller = labeller
        self.max_entries = int(max_entries)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """The labels of ``image`` (a copy: callers may change them)."""
        image = np.ascontiguousarray(image)
        key = hashlib.blake2b(repr(image.shape).encode() + image.tobytes(), digest_size=16).digest()
        if key in self._cache:
            self._cache.move_to_end(key)
            self.hits += 1
            return self._cache[key].copy()
        self.misses += 1
        labels = np.asarray(self.labeller(image), dtype=np.uint8)
        self._cache[key] = labels
        if len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return labels.copy()

    def __getstate__(self) -> dict:  # DataLoader workers start with an empty cache
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state


def segmenter_labeller(spec: str = "bundled", max_entries: int = 2048) -> CachedLabeller:
    """The run-time segmenter as a cached labeller.

    ``make_segmenter(spec)`` on the CPU at the nodes' default precision.
    """
    from sqgan_ros.segmentation.factory import make_segmenter

    return CachedLabeller(make_segmenter(spec, device="cpu", precision="auto").segment, max_entries)
