"""SPADE group norm: group normalisation modulated per pixel by a label map.

Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization" (CVPR 2019), with
GroupNorm instead of BatchNorm as in SQ-GAN's decoder and score predictor::

    x ----> GroupNorm (no affine) ----> * (1 + gamma) + beta ----> out
    cond -> resize to x -> conv k x k -> ReLU -+-> conv k x k -> gamma
                                               +-> conv k x k -> beta

The condition is a soft one-hot label map ``[B, C, h, w]`` at any resolution: it is average
pooled (when larger) or nearest-upsampled (when smaller) to the feature resolution, and the
resized maps are cached per forward pass through ``ConditionPyramid``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import group_norm


class ConditionPyramid:
    """A label condition resized on demand to each feature resolution, cached by size.

    Args:
        cond: soft one-hot label map ``[B, C, h, w]`` (float).
    """

    def __init__(self, cond: torch.Tensor) -> None:
        if cond.dim() != 4:
            raise ValueError(f"condition must be [B, C, h, w], got shape {tuple(cond.shape)}")
        self.base = cond
        self._cache: dict[tuple[int, int], torch.Tensor] = {tuple(cond.shape[-2:]): cond}

    def at(self, size: tuple[int, int]) -> torch.Tensor:
        """The condition at spatial ``size`` (h, w)."""
        size = (int(size[0]), int(size[1]))
        if size not in self._cache:
            h, w = self.base.shape[-2:]
            if size[0] <= h and size[1] <= w:
                resized = F.adaptive_avg_pool2d(self.base, size)
            else:
                resized = F.interpolate(self.base, size=size, mode="nearest")
            self._cache[size] = resized
        return self._cache[size]


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
        h = self.conv1(F.silu(self.norm1(x, cond)))
        h = self.conv2(F.silu(self.norm2(h, cond)))
        return self.skip(x) + h
