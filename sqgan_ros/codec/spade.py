"""SPADE group norm: group normalisation modulated per pixel by a label map.

Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization" (CVPR 2019), with
GroupNorm instead of BatchNorm as in SQ-GAN's decoder and score predictor::

    x ----> GroupNorm (no affine) ----> * (1 + gamma) + beta ----> out
    cond -> resize to x -> conv k x k -> ReLU -+-> conv k x k -> gamma
                                               +-> conv k x k -> beta

The condition is a soft one-hot label map ``[B, C, h, w]`` at any resolution: it is average
pooled (when larger) or nearest-upsampled (when smaller) to the feature resolution, and the
resized maps are cached per forward pass through ``ConditionPyramid``. Built from integer labels
(``ConditionPyramid.from_labels``), the pooled maps are class counts per cell (one ``bincount``),
and the full-resolution one-hot map is only made if something asks for it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import fast_path, group_norm


class ConditionPyramid:
    """A label condition resized on demand to each feature resolution, cached by size.

    Args:
        cond: soft one-hot label map ``[B, C, h, w]`` (float).
    """

    def __init__(self, cond: torch.Tensor) -> None:
        if cond.dim() != 4:
            raise ValueError(f"condition must be [B, C, h, w], got shape {tuple(cond.shape)}")
        self._base: torch.Tensor | None = cond
        self._labels: torch.Tensor | None = None
        self._shape = tuple(cond.shape)
        self._dtype = cond.dtype
        self._cache: dict[tuple[int, int], torch.Tensor] = {tuple(cond.shape[-2:]): cond}

    @classmethod
    def from_labels(cls, labels: torch.Tensor, num_classes: int) -> ConditionPyramid:
        """The condition of integer ``labels [B, H, W]`` (values in [0, num_classes)), one-hot.

        Pooled levels that divide the label map evenly are exact class fractions counted per
        cell, equal to average pooling the one-hot map; the one-hot map itself is built lazily.

        Args:
            labels: integer label map ``[B, H, W]``; values are not checked here.
            num_classes: channels of the one-hot condition.
        """
        if labels.dim() != 3 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"labels must be an integer [B, H, W] tensor, got {labels.dtype} "
                             f"{tuple(labels.shape)}")
        self = cls.__new__(cls)
        self._base = None
        self._labels = labels
        self._shape = (labels.shape[0], int(num_classes), labels.shape[1], labels.shape[2])
        self._dtype = torch.float32
        self._cache = {}
        return self

    @property
    def base(self) -> torch.Tensor:
        """The full-resolution condition ``[B, C, H, W]``."""
        if self._base is None:
            labels = self._labels
            onehot = F.one_hot(labels.long(), self._shape[1]).permute(0, 3, 1, 2).to(self._dtype)
            self._base = onehot
            self._cache[tuple(onehot.shape[-2:])] = onehot
        return self._base

    @property
    def labels(self) -> torch.Tensor | None:
        """The integer label map when built with ``from_labels``, else None."""
        return self._labels

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Shape ``(B, C, H, W)`` of the full-resolution condition."""
        return self._shape

    def at(self, size: tuple[int, int]) -> torch.Tensor:
        """The condition at spatial ``size`` (h, w)."""
        size = (int(size[0]), int(size[1]))
        if size not in self._cache:
            h, w = self._shape[-2:]
            if size == (h, w):
                return self.base
            if self._labels is not None and h % size[0] == 0 and w % size[1] == 0:
                resized = self._count_fractions(size)
            elif size[0] <= h and size[1] <= w:
                resized = F.adaptive_avg_pool2d(self.base, size)
            else:
                resized = F.interpolate(self.base, size=size, mode="nearest")
            self._cache[size] = resized
        return self._cache[size]

    def _count_fractions(self, size: tuple[int, int]) -> torch.Tensor:
        """Fraction of each class's pixels per cell of an evenly dividing grid ``size``."""
        b, c, h, w = self._shape
        fy, fx = h // size[0], w // size[1]
        labels = self._labels.long()
        cell_y = torch.arange(h, device=labels.device) // fy
        cell_x = torch.arange(w, device=labels.device) // fx
        cell = (cell_y[:, None] * size[1] + cell_x[None, :]).view(1, h, w)
        batch = torch.arange(b, device=labels.device).view(b, 1, 1) * c
        flat = ((batch + labels) * (size[0] * size[1]) + cell).flatten()
        counts = torch.bincount(flat, minlength=b * c * size[0] * size[1])
        return (counts.to(self._dtype) / float(fy * fx)).view(b, c, size[0], size[1])


class SPADEGroupNorm(nn.Module):
    """Group norm whose scale and shift come from the label map at each pixel.

    Args:
        channels: feature channels to normalise.
        label_channels: channels of the condition (20 classes).
        hidden: hidden channels of the modulation network.
        kernel: kernel size of the modulation convs (1 or 3).
    """

    def __init__(self, channels: int, label_channels: int, hidden: int, kernel: int = 3) -> None:
        super().__init__()
        pad = kernel // 2
        self.norm = group_norm(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, kernel, padding=pad), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, kernel, padding=pad)
        self.beta = nn.Conv2d(hidden, channels, kernel, padding=pad)

    def forward(self, x: torch.Tensor, cond: ConditionPyramid) -> torch.Tensor:
        """Normalise ``x [B, C, h, w]`` and modulate it with ``cond`` resized to (h, w)."""
        act = self.shared(cond.at(x.shape[-2:]))
        if fast_path():
            return self.norm(x).mul_(self.gamma(act).add_(1.0)).add_(self.beta(act))
        return self.norm(x) * (1.0 + self.gamma(act)) + self.beta(act)


class SpadeResBlock(nn.Module):
    """Residual block with SPADE group norms (decoder of the image branch).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        label_channels: channels of the condition.
        hidden: hidden channels of each SPADE modulation network.
        kernel: kernel size of the SPADE modulation convs.
    """

    def __init__(self, in_channels: int, out_channels: int, label_channels: int, hidden: int,
                 kernel: int) -> None:
        super().__init__()
        self.norm1 = SPADEGroupNorm(in_channels, label_channels, hidden, kernel)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = SPADEGroupNorm(out_channels, label_channels, hidden, kernel)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, cond: ConditionPyramid) -> torch.Tensor:
        """Map ``x [B, in, h, w]`` to ``[B, out, h, w]``, both norms modulated by ``cond`` at (h, w)."""
        if fast_path():
            h = self.conv1(F.silu(self.norm1(x, cond), inplace=True))
            h = self.conv2(F.silu(self.norm2(h, cond), inplace=True))
            return h.add_(self.skip(x))
        h = self.conv1(F.silu(self.norm1(x, cond)))
        h = self.conv2(F.silu(self.norm2(h, cond)))
        return self.skip(x) + h
