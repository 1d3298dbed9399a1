"""VQ-GAN-style encoder shared by both branches, with an optional semantic positional encoding.

::

    x [B, in, H, W] -> stem (k x k conv, or pixel-unshuffle(f) + k x k conv)   (+ semantic PE)
      -> per level: ResBlock x n, Downsample (all but the last level)
      -> middle: ResBlock, [AttnBlock], ResBlock -> GN -> SiLU -> 3x3 conv -> [B, latent, H/F, W/F]

Semantic positional encoding (image branch, SQ-GAN): the one-hot label map at the stem's
resolution -> 3x3 conv -> ReLU -> 1x1 conv -> one channel, broadcast-added to the stem features.
With a pixel-unshuffle stem it runs at 1/f resolution, where it is cheap.

The semantic branch's input is the one-hot label map: at inference ``encode_labels`` builds its
pixel-unshuffled form directly from the integer labels (one scatter at 1/f resolution), never
the full-resolution one-hot map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import AttnBlock, Downsample, ResBlock, fast_path, group_norm
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
        self.stem_factor = f
        self.in_channels = in_channels
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
        return self._trunk(self.stem(x), cond)

    def encode_labels(self, cond: ConditionPyramid) -> torch.Tensor:
        """``forward(cond.base, cond)`` for an encoder whose input is the one-hot condition.

        Args:
            cond: the label condition (its channels are this encoder's input channels).
        """
        if cond.shape[1] != self.in_channels:
            raise ValueError(f"condition has {cond.shape[1]} channels, this encoder takes {self.in_channels}")
        if fast_path() and cond.labels is not None and self.stem_factor > 1:
            unshuffled = unshuffled_one_hot(cond.labels, self.in_channels, self.stem_factor)
            return self._trunk(self.stem[1](unshuffled), cond)
        return self.forward(cond.base, cond)

    def _trunk(self, h: torch.Tensor, cond: ConditionPyramid | None) -> torch.Tensor:
        if self.semantic_pe is not None:
            if cond is None:
                raise ValueError("this encoder has a semantic positional encoding: pass the label condition")
            h = h + self.semantic_pe(cond.at(h.shape[-2:]))
        h = self.norm_out(self.body(h))
        return self.conv_out(F.silu(h, inplace=True) if fast_path() else F.silu(h))


def unshuffled_one_hot(labels: torch.Tensor, num_classes: int, factor: int) -> torch.Tensor:
    """``pixel_unshuffle(one_hot(labels), factor)`` built directly: ``[B, C * f * f, H/f, W/f]``.

    Channel ``c * f * f + i * f + j`` is 1 where the pixel at offset ``(i, j)`` of the cell has
    class ``c``. Equal, bit for bit and in memory layout (channels-last), to the two-step version,
    with a tenth of its memory traffic.

    Args:
        labels: integer labels ``[B, H, W]`` in [0, num_classes), H and W multiples of ``factor``.
        num_classes: classes of the one-hot map.
        factor: pixel-unshuffle factor.
    """
    b, height, width = labels.shape
    if height % factor or width % factor:
        raise ValueError(f"label map {height}x{width} is not a multiple of the factor {factor}")
    offsets = torch.arange(factor * factor, device=labels.device)
    cells = F.pixel_unshuffle(labels.view(b, 1, height, width).to(torch.int32).float(), factor)
    index = cells.permute(0, 2, 3, 1).long() * (factor * factor) + offsets  # [B, h, w, f*f]
    out = torch.zeros(b, height // factor, width // factor, num_classes * factor * factor,
                      device=labels.device)
    # Channels-last, as pixel_unshuffle of a permuted one-hot map is: the stem conv then picks
    # the same kernel and the features match the reference bit for bit.
    return out.scatter_(3, index, 1.0).permute(0, 3, 1, 2)
