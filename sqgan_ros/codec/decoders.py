"""VQ-GAN-style decoder, optionally with SPADE group norm on the (decoded) label map.

::

    tokens [B, D, h, w] -> 3x3 conv -> middle: Res, [Attn], Res
      -> per level (coarse to fine): Res x n [+ Attn at the latent level],
         Upsample (nearest + 3x3 conv, optionally narrowing to the next level's width)
      -> (SPADE-)GN -> SiLU -> head -> [B, out, H, W]

Two heads (``BranchConfig.head``):

- ``pixel_shuffle``: k x k conv to ``out * f * f`` channels, pixel-shuffle(f). Each of the f x f
  sub-pixel phases has weights of its own, so a decoder that has not learned them alike paints
  a pattern of period f (the vertical stripes of the first bundled model).
- ``upsample_conv``: k x k conv to ``HEAD_CHANNELS`` channels at 1/f, bilinear upsampling by f,
  SiLU, 3x3 conv to ``out`` at full resolution. Every output pixel is made by the same weights,
  so no fixed-period pattern can be learned; ~0.1 GMAC more at 256x512.

The image branch decodes with SPADE residual blocks conditioned on s_hat, so the receiver can
paint regions whose latents were not sent; the semantic branch uses plain group norm. With a
pixel-shuffle head (``stem_factor`` > 1) no layer runs at full resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import AttnBlock, ResBlock, Upsample, fast_path, group_norm
from sqgan_ros.codec.config import BranchConfig
from sqgan_ros.codec.spade import ConditionPyramid, SPADEGroupNorm, SpadeResBlock

HEADS = ("pixel_shuffle", "upsample_conv")
HEAD_CHANNELS = 32  # width of the upsample_conv head at full resolution


class Decoder(nn.Module):
    """Decoder of one branch.

    Args:
        config: the branch's architecture.
        out_channels: output channels (3 for images, 20 logits for label maps).
        num_classes: channels of the SPADE condition.
    """

    def __init__(self, config: BranchConfig, out_channels: int, num_classes: int) -> None:
        super().__init__()
        ch = config.channels
        self.spade = config.decoder_spade

        def res(cin: int, cout: int) -> nn.Module:
            if self.spade:
                return SpadeResBlock(cin, cout, num_classes, config.spade_hidden, config.spade_kernel)
            return ResBlock(cin, cout)

        self.conv_in = nn.Conv2d(config.codebook_dim, ch[-1], 3, padding=1)
        blocks: list[nn.Module] = [res(ch[-1], ch[-1])]
        if config.decoder_attention:
            blocks.append(AttnBlock(ch[-1]))
        blocks.append(res(ch[-1], ch[-1]))
        prev = ch[-1]
        for level in reversed(range(len(ch))):
            for _ in range(config.decoder_res_blocks):
                blocks.append(res(prev, ch[level]))
                prev = ch[level]
                if config.decoder_attention and level == len(ch) - 1:
                    blocks.append(AttnBlock(prev))
            if level != 0:
                width = ch[level - 1] if config.narrow_upsample else prev
                blocks.append(Upsample(prev, width))
                prev = width
        self.blocks = nn.ModuleList(blocks)
        f = config.stem_factor
        self.norm_out: nn.Module = (SPADEGroupNorm(prev, num_classes, config.spade_hidden, config.spade_kernel)
                                    if self.spade else group_norm(prev))
        self.head_kind = config.head
        self.factor = f
        if config.head == "upsample_conv":
            self.conv_mid: nn.Module | None = nn.Conv2d(prev, HEAD_CHANNELS, config.patch_kernel,
                                                        padding=config.patch_kernel // 2)
            self.conv_out = nn.Conv2d(HEAD_CHANNELS, out_channels, 3, padding=1)
            self.head: nn.Module = nn.Identity()
        else:
            self.conv_mid = None
            self.conv_out = nn.Conv2d(prev, out_channels * f * f, config.patch_kernel,
                                      padding=config.patch_kernel // 2)
            self.head = nn.PixelShuffle(f) if f > 1 else nn.Identity()

    @property
    def shuffled(self) -> bool:
        """True with the pixel-shuffle head (``forward_unshuffled`` is then available)."""
        return self.conv_mid is None

    def forward(self, tokens: torch.Tensor, cond: ConditionPyramid | None = None) -> torch.Tensor:
        """Decode ``tokens [B, D, h, w]``; ``cond`` (the label map) is required with SPADE."""
        if self.conv_mid is None:
            return self.head(self.forward_unshuffled(tokens, cond))
        h = self.conv_mid(self._features(tokens, cond))
        if self.factor > 1:
            h = F.interpolate(h, scale_factor=self.factor, mode="bilinear", align_corners=False)
        return self.conv_out(F.silu(h, inplace=True) if fast_path() else F.silu(h))

    def forward_unshuffled(self, tokens: torch.Tensor, cond: ConditionPyramid | None = None) -> torch.Tensor:
        """The output before the pixel-shuffle head: ``[B, out * f * f, H/f, W/f]``.

        Channel ``c * f * f + i * f + j`` is output channel ``c`` at offset ``(i, j)`` of each
        f x f cell (``pixel_shuffle`` order). Per-pixel reductions over output channels (the
        receiver's argmax) are cheaper here than on the shuffled map. Pixel-shuffle head only.
        """
        if self.conv_mid is not None:
            raise ValueError("forward_unshuffled needs the pixel_shuffle head")
        return self.conv_out(self._features(tokens, cond))

    def _features(self, tokens: torch.Tensor, cond: ConditionPyramid | None) -> torch.Tensor:
        """Everything before the head: ``SiLU(norm(blocks(conv_in(tokens))))`` at 1/f."""
        if self.spade and cond is None:
            raise ValueError("this decoder uses SPADE: pass the label condition")
        h = self.conv_in(tokens)
        for block in self.blocks:
            h = block(h, cond) if isinstance(block, SpadeResBlock) else block(h)
        h = self.norm_out(h, cond) if self.spade else self.norm_out(h)
        return F.silu(h, inplace=True) if fast_path() else F.silu(h)
