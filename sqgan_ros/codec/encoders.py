"""VQ-GAN-style encoder shared by both branches, with an optional semantic positional encoding.

::

    x [B, in, H, W] -> stem (k x k conv, or pixel-unshuffle(f) + k x k conv)   (+ semantic PE)
      -> per level: ResBlock x n, Downsample (all but the last level)
      -> middle: ResBlock, [AttnBlock], ResBlock -> GN -> SiLU -> 3x3 conv -> [B, latent, H/F, W/F]

Semantic positional encoding (image branch, SQ-GAN): the one-hot label map at the stem's
resolution -> 3x3 conv -> ReLU -> 1x1 conv -> one channel, broadcast-added to the stem features.
With a pixel-unshuffle stem it runs at 1/f resolution, where it is cheap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import AttnBlock, Downsample, ResBlock, group_norm
from sqgan_ros.codec.config import BranchConfig
from sqgan_ros.codec.spade import ConditionPyramid


class Encoder(nn.Module):
    """Encoder of one branch.

    Args:
        config: the branch's architecture.
        in_channels: input channels (3 for images, 20 for one-hot label maps).
        num_classes: channels of the label condition (semantic positional encoding).
    """

    def __init__(self, config: BranchConfig, in_channels: int, num_classes: int) -> None:
        super().__init__()
        ch = config.channels
        f = config.stem_factor
        self.stem = nn.Sequential(nn.PixelUnshuffle(f) if f > 1 else nn.Identity(),
                                  nn.Conv2d(in_channels * f * f, ch[0], config.patch_kernel,
                                            padding=config.patch_kernel // 2))
        self.semantic_pe: nn.Module | None = None
        if config.semantic_pe_hidden > 0:
            self.semantic_pe = nn.Sequential(
                nn.Conv2d(num_classes, config.semantic_pe_hidden, 3, padding=1), nn.ReLU(),
                nn.Conv2d(config.semantic_pe_hidden, 1, 1))
        layers: list[nn.Module] = []
        prev = ch[0]
        for level, channels in enumerate(ch):
            for _ in range(config.num_res_blocks):
                layers.append(ResBlock(prev, channels))
                prev = channels
            if level != len(ch) - 1:
                layers.append(Downsample(prev))
        layers.append(ResBlock(prev, prev))
        if config.encoder_attention:
            layers.append(AttnBlock(prev))
        layers.append(ResBlock(prev, prev))
        self.body = nn.Sequential(*layers)
        self.norm_out = group_norm(prev)
        self.conv_out = nn.Conv2d(prev, config.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: ConditionPyramid | None = None) -> torch.Tensor:
        """Features ``[B, latent_channels, H/F, W/F]``; ``cond`` is needed with a semantic PE."""
        h = self.stem(x)
        if self.semantic_pe is not None:
            if cond is None:
                raise ValueError("this encoder has a semantic positional encoding: pass the label condition")
            h = h + self.semantic_pe(cond.at(h.shape[-2:]))
        return self.conv_out(F.silu(self.norm_out(self.body(h))))
