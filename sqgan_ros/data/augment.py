"""Augmentation applied identically to image and label map (labels always nearest-neighbour).

As in SQ-GAN (Pezone et al., TCCN 2025): copy-paste of connected components of important classes
(traffic light/sign, person/rider) from another image of the batch into both the image and the
semantic map (p = 0.9), small rotation, random resize-crop, colour jitter, sharpness; plus
horizontal flip and :func:`random_crop` for training crops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from sqgan_ros.labels import CLASS_INDEX, UNLABELLED

#: Classes whose connected components are copy-pasted by default.
PASTE_CLASSES: tuple[str, ...] = ("traffic_light", "traffic_sign", "person", "rider")


def _check_pair(image: np.ndarray, labels: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise TypeError("image must be a uint8 numpy array (H, W, 3)")
    if not isinstance(labels, np.ndarray) or labels.shape != image.shape[:2]:
        raise ValueError(f"labels must be a numpy array of shape {image.shape[:2]}")


def random_crop(image: np.ndarray, labels: np.ndarray, size: tuple[int, int],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Crop the same random window of ``size`` (H, W) from image and labels.

    Args:
        image: RGB uint8 (H, W, 3).
        labels: Label map (H, W).
        size: Crop (height, width), at most the image size.
        rng: Random generator.
    """
    _check_pair(image, labels)
    ch, cw = size
    h, w = labels.shape
    if ch > h or cw > w or ch <= 0 or cw <= 0:
        raise ValueError(f"crop {size} does not fit an image of size {(h, w)}")
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(image[y:y + ch, x:x + cw]), np.ascontiguousarray(labels[y:y + ch, x:x + cw])


@dataclass(frozen=True)
class PasteOp:
    """One pasted component: rows ``y0:y0+h``, source columns ``x0:x0+w`` go to ``x0+dx``."""

    cid: int
    y0: int
    x0: int
    dx: int
    mask: np.ndarray  # bool (h, w)


def plan_paste(src_labels: np.ndarray, rng: np.random.Generator, classes: Sequence[str] = PASTE_CLASSES,
               max_objects: int = 4, min_pixels: int = 12) -> list[PasteOp]:
    """Choose connected components of ``classes`` in a label map and where to paste them.

    Args:
        src_labels: Source label map (H, W).
        rng: Random generator.
        classes: Class names to paste.
        max_objects: At most this many components.
        min_pixels: Ignore smaller components.
    """
    unknown = [c for c in classes if c not in CLASS_INDEX]
    if unknown:
        raise ValueError(f"unknown class names {unknown}")
    h, w = src_labels.shape
    comps = []
    for name in classes:
        cid = CLASS_INDEX[name]
        mask = (src_labels == cid).astype(np.uint8)
        if not mask.any():
            continue
        n, cc, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for k in range(1, n):
            if stats[k, cv2.CC_STAT_AREA] >= min_pixels:
                x0, y0, bw, bh = (int(v) for v in stats[k, :4])
                comps.append(PasteOp(cid, y0, x0, 0, cc[y0:y0 + bh, x0:x0 + bw] == k))
    ops = []
    for j in rng.permutation(len(comps))[:max_objects]:
        op = comps[j]
        bw = op.mask.shape[1]
        dx = int(rng.integers(-op.x0, w - op.x0 - bw + 1)) if rng.random() < 0.5 else 0
        ops.append(PasteOp(op.cid, op.y0, op.x0, dx, op.mask))
    return ops


def apply_paste(ops: Sequence[PasteOp], dst_image, dst_labels, src_image, channels_first: bool = False) -> None:
    """Apply paste operations in place (numpy (H,W,3) or torch/numpy [3,H,W] with ``channels_first``)."""
    for op in ops:
        bh, bw = op.mask.shape
        ys, xs, xd = slice(op.y0, op.y0 + bh), slice(op.x0, op.x0 + bw), slice(op.x0 + op.dx, op.x0 + op.dx + bw)
        if isinstance(dst_labels, torch.Tensor):
            m = torch.from_numpy(op.mask).to(dst_labels.device)
            dst_labels[ys, xd][m] = op.cid
            for c in range(3):
                dst_image[c, ys, xd][m] = src_image[c, ys, xs][m]
        else:
            dst_labels[ys, xd][op.mask] = op.cid
            if channels_first:
                dst_image[:, ys, xd][:, op.mask] = src_image[:, ys, xs][:, op.mask]
            else:
                dst_image[ys, xd][op.mask] = src_image[ys, xs][op.mask]


def copy_paste(dst_image: np.ndarray, dst_labels: np.ndarray, src_image: np.ndarray, src_labels: np.ndarray,
               rng: np.random.Generator, classes: Sequence[str] = PASTE_CLASSES, max_objects: int = 4,
               min_pixels: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Paste connected components of ``classes`` from a source pair into copies of a destination pair.

    Each chosen component keeps its row (and so its scale/depth) and either its column or a random
    new one; the same mask writes the image pixels and the labels, so labels follow pixels exactly.

    Args:
        dst_image: Destination image (not modified).
        dst_labels: Destination label map (not modified).
        src_image: Image the objects are taken from (same size as the destination).
        src_labels: Label map of ``src_image``.
        rng: Random generator.
        classes: Class names to paste.
        max_objects: At most this many components.
        min_pixels: Ignore smaller components.
    """
    _check_pair(dst_image, dst_labels)
    _check_pair(src_image, src_labels)
    if src_labels.shape != dst_labels.shape:
        raise ValueError("source and destination must have the same size")
    image, labels = dst_image.copy(), dst_labels.copy()
    apply_paste(plan_paste(src_labels, rng, classes, max_objects, min_pixels), image, labels, src_image)
    return image, labels


def batch_copy_paste(images: torch.Tensor, labels: torch.Tensor, p: float = 0.9,
                     generator: np.random.Generator | None = None,
                     classes: Sequence[str] = PASTE_CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch-level copy-paste (paper, p = 0.9): each item receives objects from another batch item.

    Args:
        images: float [B, 3, H, W] in [0, 1].
        labels: int64 [B, H, W].
        p: Probability per item.
        generator: numpy Generator (default: a fresh unseeded one).
        classes: Class names to paste.

    Returns:
        New (images, labels) tensors; the inputs are not modified.
    """
    if images.ndim != 4 or images.shape[1] != 3 or labels.ndim != 3 or labels.shape[0] != images.shape[0] \
            or labels.shape[1:] != images.shape[2:]:
        raise ValueError(f"need images [B,3,H,W] and labels [B,H,W], got {tuple(images.shape)}, {tuple(labels.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    rng = generator if generator is not None else np.random.default_rng()
    b = images.shape[0]
    out_img, out_lab = images.clone(), labels.clone()
    if b < 2:
        return out_img, out_lab
    np_lab = labels.detach().cpu().numpy()
    for i in range(b):
        if rng.random() >= p:
            continue
        src = int((i + rng.integers(1, b)) % b)
        apply_paste(plan_paste(np_lab[src], rng, classes), out_img[i], out_lab[i], images[src])
    return out_img, out_lab


@dataclass(frozen=True)
class Augmenter:
    """Per-sample geometric and photometric augmentation (same geometry for image and labels).

    Args:
        p_flip: Horizontal flip probability.
        max_rotation: Maximum rotation in degrees (uniform +-).
        p_rotate: Rotation probability.
        scale: Range of the random resize-crop zoom (>= 1 zooms in).
        p_resize_crop: Resize-crop probability.
        brightness, contrast, saturation: Colour jitter strengths (multiplicative +-).
        hue: Hue jitter in OpenCV hue units (0..180).
        sharpness: Max amount of unsharp masking (negative = blur) in +-.
    """

    p_flip: float = 0.5
    max_rotation: float = 5.0
    p_rotate: float = 0.3
    scale: tuple[float, float] = (1.0, 1.5)
    p_resize_crop: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue: float = 4.0
    sharpness: float = 0.6

    def __call__(self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Augment one pair.

        Args:
            image: RGB uint8 (H, W, 3).
            labels: Label map (H, W), integer.
            rng: Random generator.
        """
        _check_pair(image, labels)
        labels = labels.astype(np.uint8)
        h, w = labels.shape
        if rng.random() < self.p_flip:
            image, labels = image[:, ::-1], labels[:, ::-1]
        if rng.random() < self.p_rotate or rng.random() < self.p_resize_crop:
            angle = float(rng.uniform(-self.max_rotation, self.max_rotation)) if rng.random() < self.p_rotate else 0.0
            zoom = float(rng.uniform(*self.scale)) if rng.random() < self.p_resize_crop else 1.0
            # zoom enough that a rotated frame has no empty corners
            rad = np.deg2rad(abs(angle))
            zoom = max(zoom, np.cos(rad) + np.sin(rad) * max(h / w, w / h))
            cx = w / 2 + float(rng.uniform(-1, 1)) * (w / 2) * (1 - 1 / zoom)
            cy = h / 2 + float(rng.uniform(-1, 1)) * (h / 2) * (1 - 1 / zoom)
            m = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
            m[:, 2] += (w / 2 - cx, h / 2 - cy)
            image = cv2.warpAffine(np.ascontiguousarray(image), m, (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            labels = cv2.warpAffine(np.ascontiguousarray(labels), m, (w, h), flags=cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=UNLABELLED)
        image = self._photometric(np.ascontiguousarray(image), rng)
        return image, np.ascontiguousarray(labels)

    def _photometric(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        img = image.astype(np.float32)
        img *= float(rng.uniform(1 - self.brightness, 1 + self.brightness))
        mean = img.mean()
        img = (img - mean) * float(rng.uniform(1 - self.contrast, 1 + self.contrast)) + mean
        grey = img.mean(axis=2, keepdims=True)
        img = grey + (img - grey) * float(rng.uniform(1 - self.saturation, 1 + self.saturation))
        img = np.clip(img, 0, 255)
        if self.hue > 0:
            hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_RGB2HSV)
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(rng.uniform(-self.hue, self.hue))) % 180).astype(np.uint8)
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        amount = float(rng.uniform(-self.sharpness, self.sharpness))
        if abs(amount) > 0.05:
            blur = cv2.GaussianBlur(img, (0, 0), 1.0)
            img = img + amount * (img - blur)
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)
