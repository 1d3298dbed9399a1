"""The ``Segmenter`` contract and the two trivial implementations.

Every segmenter turns one RGB camera frame into a label map over our class set
(:mod:`sqgan_ros.labels`: 19 Cityscapes classes + ``unlabelled`` = 19)::

    image uint8 (H, W, 3) RGB --segment()--> labels uint8 (H, W), values 0..19

whatever size the model itself runs at. Implementations that run a network resize the
image to the network's size and resize the labels back with nearest-neighbour sampling.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np
import torch

from sqgan_ros.labels import NUM_CLASSES, UNLABELLED

__all__ = [
    "Segmenter",
    "NullSegmenter",
    "ExternalLabels",
    "check_image",
    "resize_labels",
    "confident_labels",
    "top_class",
    "check_min_confidence",
]


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate a camera frame and return it as a C-contiguous uint8 ``(H, W, 3)`` array.

    Args:
        image: RGB image, numpy ``uint8`` of shape ``(H, W, 3)`` with ``H, W >= 1``.

    Raises:
        TypeError: if ``image`` is not a numpy array of dtype uint8.
        ValueError: if its shape is not ``(H, W, 3)`` or it is empty.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must be non-empty, got shape {image.shape}")
    return np.ascontiguousarray(image)


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a label map to ``size = (H, W)`` with nearest-neighbour sampling (no new values).

    Args:
        labels: integer label map ``(h, w)``.
        size: target ``(H, W)``.

    Returns:
        ``uint8 (H, W)`` label map (a copy when no resize is needed).
    """
    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"target size must be positive, got {size}")
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    if labels.shape == (height, width):
        return labels.copy()
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


def check_min_confidence(value: float) -> float:
    """Validate a confidence floor: a real number in ``[0, 1)``; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"min_confidence must be a number, got {type(value).__name__}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"min_confidence must be in [0, 1), got {value}")
    return value


def top_class(logits: torch.Tensor, min_confidence: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-pixel best class of ``logits [B, C, H, W]`` and where it is unsure.

    Returns ``(ids [B, H, W], unsure)``: ``unsure`` is a bool mask of the pixels whose top softmax
    probability (``exp(max - logsumexp)``) is below ``min_confidence``, or None when
    ``min_confidence`` is 0. Uses ``max(1)``, several times faster than ``argmax`` on CPU.
    """
    values, ids = logits.max(dim=1)
    if min_confidence <= 0.0:
        return ids, None
    confidence = torch.exp(values.float() - torch.logsumexp(logits.float(), dim=1))
    return ids, confidence < min_confidence


def confident_labels(logits: torch.Tensor, min_confidence: float = 0.0) -> torch.Tensor:
    """Labels over our classes from our-class ``logits [B, 20, H, W]``; ``UNLABELLED`` where unsure.

    A pixel whose top class probability is below ``min_confidence`` gets
    :data:`~sqgan_ros.labels.UNLABELLED` instead of its best guess, so the codec spends no
    class-specific bits or texture on it (SAMM's weights and SPADE see "unlabelled", which the
    image branch is trained on for real frames). ``0`` keeps every guess.
    """
    ids, unsure = top_class(logits, min_confidence)
    return ids if unsure is None else ids.masked_fill(unsure, UNLABELLED)


class Segmenter(ABC):
    """Maps an RGB frame to a label map over :data:`sqgan_ros.labels.CLASS_NAMES`.

    Subclasses implement :meth:`segment_batch` (torch, any device the segmenter runs on) or
    override :meth:`segment` directly; the output always holds values ``0..num_classes-1``,
    with :data:`sqgan_ros.labels.UNLABELLED` for pixels the segmenter cannot name.
    """

    #: Number of output classes, always ``sqgan_ros.labels.NUM_CLASSES`` (20).
    num_classes: int = NUM_CLASSES
    #: Whether :attr:`min_confidence` has an effect (the network gives class scores).
    reports_confidence: bool = False
    _min_confidence: float = 0.0

    @property
    def min_confidence(self) -> float:
        """Pixels whose top class probability is below this become ``unlabelled`` (0 = never).

        Only segmenters that see class scores (:attr:`reports_confidence`) apply it; a model that
        outputs bare labels keeps its labels.
        """
        return self._min_confidence

    @min_confidence.setter
    def min_confidence(self, value: float) -> None:
        self._min_confidence = check_min_confidence(value)

    @property
    @abstractmethod
    def name(self) -> str:
        """Short human-readable description (shown in logs and node diagnostics)."""

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Segment one frame.

        Args:
            image: ``uint8 (H, W, 3)`` RGB.

        Returns:
            ``uint8 (H, W)`` label map, values in ``0..19``.
        """
        image = check_image(image)
        tensor = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
        labels = self.segment_batch(tensor)
        return labels[0].to("cpu", torch.uint8).numpy()

    @abstractmethod
    def segment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Segment a batch.

        Args:
            images: ``float32 [B, 3, H, W]`` RGB in ``[0, 1]``.

        Returns:
            ``LongTensor [B, H, W]`` with values ``0..19``, same size as the input.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def check_batch(images: torch.Tensor) -> torch.Tensor:
    """Validate a ``[B, 3, H, W]`` floating-point batch (shared by the torch implementations)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point in [0, 1], got {images.dtype}")
    if images.shape[0] < 1 or images.shape[2] < 1 or images.shape[3] < 1:
        raise ValueError(f"images must be non-empty, got shape {tuple(images.shape)}")
    return images


class NullSegmenter(Segmenter):
    """Labels every pixel ``unlabelled`` (the ``"none"`` choice: no semantic guidance)."""

    @property
    def name(self) -> str:
        """Always ``none``."""
        return "none"

    def segment(self, image: np.ndarray) -> np.ndarray:
        """A ``uint8 (H, W)`` map of ``UNLABELLED`` the size of the validated ``image``."""
        image = check_image(image)
        return np.full(image.shape[:2], UNLABELLED, dtype=np.uint8)

    def segment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """A ``LongTensor [B, H, W]`` of ``UNLABELLED`` on the batch's device."""
        images = check_batch(images)
        b, _, h, w = images.shape
        return torch.full((b, h, w), UNLABELLED, dtype=torch.long, device=images.device)


class ExternalLabels:
    """Validates a label map that came from elsewhere (e.g. a ROS topic) and fits it to a frame.

    Not a :class:`Segmenter` (it needs the labels as an input); it keeps the encoder node thin:
    ``labels = ExternalLabels().fit(msg_labels, image.shape[:2])``.

    Args:
        out_of_range: what to do with values outside ``0..19``: ``"unlabelled"`` maps them to
            19 (Cityscapes' 255 "ignore" included), ``"error"`` raises ``ValueError``.
    """

    def __init__(self, out_of_range: str = "unlabelled") -> None:
        if out_of_range not in ("unlabelled", "error"):
            raise ValueError(f"out_of_range must be 'unlabelled' or 'error', got {out_of_range!r}")
        self.out_of_range = out_of_range

    def fit(self, labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Return ``labels`` as ``uint8 (H, W)`` of the given size (nearest-neighbour resize).

        Args:
            labels: integer array ``(h, w)`` (or ``(h, w, 1)``, as a mono8 image would give).
            size: ``(H, W)`` of the camera frame the labels belong to.

        Raises:
            TypeError: if ``labels`` is not an integer numpy array.
            ValueError: on a bad shape, or out-of-range values with ``out_of_range="error"``.
        """
        if not isinstance(labels, np.ndarray):
            raise TypeError(f"labels must be a numpy array, got {type(labels).__name__}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels must be an integer array, got {labels.dtype}")
        if labels.ndim == 3 and labels.shape[2] == 1:
            labels = labels[:, :, 0]
        if labels.ndim != 2 or labels.shape[0] < 1 or labels.shape[1] < 1:
            raise ValueError(f"labels must have shape (H, W), got {labels.shape}")
        bad = (labels < 0) | (labels >= NUM_CLASSES)
        if bad.any():
            if self.out_of_range == "error":
                values = np.unique(labels[bad])[:5].tolist()
                raise ValueError(f"label values must be in 0..{NUM_CLASSES - 1}, found {values}")
            labels = np.where(bad, UNLABELLED, labels)
        return resize_labels(labels.astype(np.uint8), size)
