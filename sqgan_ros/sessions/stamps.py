"""Pairing camera images with label maps that arrive separately, by their exact camera stamp."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["StampMatcher", "stamp_key"]

I = TypeVar("I")  # noqa: E741 - the image side's item
L = TypeVar("L")


def stamp_key(sec: int, nanosec: int) -> int:
    """A ``builtin_interfaces/Time`` as one integer (nanoseconds), for exact matching."""
    return int(sec) * 1_000_000_000 + int(nanosec)


class StampMatcher(Generic[I, L]):
    """Holds whichever side of a pair came first until the other side with the same stamp arrives.

    Images waiting for labels: only the newest ``max_images`` are kept (older ones are dropped
    and counted: their labels are late or lost). Label maps waiting for their image: the newest
    ``max_labels`` (a segmenter that runs ahead of the camera's delivery).

    Args:
        max_labels: label maps kept while waiting for their image (>= 1).
        max_images: images kept while waiting for their labels (>= 1).
    """

    def __init__(self, max_labels: int, max_images: int = 2) -> None:
        if max_labels < 1 or max_images < 1:
            raise ValueError(f"max_labels and max_images must be >= 1, got {max_labels}, {max_images}")
        self.max_labels = int(max_labels)
        self.max_images = int(max_images)
        self._images: OrderedDict[int, I] = OrderedDict()
        self._labels: OrderedDict[int, L] = OrderedDict()
        self.dropped_images = 0

    def add_image(self, key: int, image: I) -> L | None:
        """An image arrived: its labels if they are here (the pair is complete), else None."""
        labels = self._labels.pop(key, None)
        if labels is not None:
            return labels
        self._images[key] = image
        while len(self._images) > self.max_images:
            self._images.popitem(last=False)
            self.dropped_images += 1
        return None

    def add_labels(self, key: int, labels: L) -> I | None:
        """Labels arrived: the waiting image with that stamp (the pair is complete), else None."""
        image = self._images.pop(key, None)
        if image is not None:
            return image
        self._labels[key] = labels
        while len(self._labels) > self.max_labels:
            self._labels.popitem(last=False)
        return None
