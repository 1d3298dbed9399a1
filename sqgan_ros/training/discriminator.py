"""Semantic-aware PatchGAN discriminator (SQ-GAN, Pezone et al., IEEE TCCN 2025; pix2pix PatchGAN).

    input [B,C,H,W] -> conv4 s2 (64) -> LReLU -> conv4 s2 (128) -> LReLU -> conv4 s2 (256) -> LReLU
                    -> conv4 s1 (512) -> LReLU -> conv4 s1 (1) -> patch logits [B,1,h,w]

Spectral norm instead of batch norm: no batch statistics, so real and fake go through in one call
(needed under DDP, where two forward passes before one backward are not allowed) and small per-GPU
batches do not matter.

Semantic awareness:
- image branch: the fake is blended toward the real image on unimportant classes (sky, vegetation),
  so the discriminator cannot tell them apart there and the generator gets no GAN gradient there;
- semantic branch: the discriminator compares softmax probabilities with the one-hot map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, UNIMPORTANT_CLASSES


class PatchDiscriminator(nn.Module):
    """PatchGAN with ``num_layers`` stride-2 stages (paper: 3 layers, 64 filters).

    Args:
        in_channels: 3 for images, 20 for semantic maps.
        base_channels: filters of the first layer.
        num_layers: number of stride-2 downsampling convolutions.
    """

    def __init__(self, in_channels: int, base_channels: int = 64, num_layers: int = 3) -> None:
        super().__init__()
        if in_channels < 1 or base_channels < 1 or num_layers < 1:
            raise ValueError("in_channels, base_channels and num_layers must be >= 1")
        layers: list[nn.Module] = []
        ch_in, ch_out = in_channels, base_channels
        for i in range(num_layers + 1):
            stride = 2 if i < num_layers else 1
            layers += [spectral_norm(nn.Conv2d(ch_in, ch_out, 4, stride, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch_in, ch_out = ch_out, min(ch_out * 2, base_channels * 8)
        layers.append(spectral_norm(nn.Conv2d(ch_in, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patch logits ``[B,1,h,w]`` for ``x`` ``[B,in_channels,H,W]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected [B,{self.in_channels},H,W], got {tuple(x.shape)}")
        return self.net(x)


def unimportant_mask(labels: torch.Tensor, classes: tuple[str, ...] = UNIMPORTANT_CLASSES) -> torch.Tensor:
    """Float mask ``[B,1,H,W]``: 1 where the label is one of ``classes`` (default sky, vegetation)."""
    ids = torch.tensor([CLASS_INDEX[name] for name in classes], device=labels.device)
    return torch.isin(labels, ids).unsqueeze(1).float()


def blend_unimportant(fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Replace the fake by the real image on unimportant classes (gradient flows elsewhere only).

    Args:
        fake: reconstruction ``[B,3,H,W]``.
        real: original ``[B,3,H,W]``.
        labels: ``LongTensor[B,H,W]`` (ground truth).
    """
    mask = unimportant_mask(labels).to(fake.dtype)
    return fake * (1.0 - mask) + real.detach() * mask


def image_disc_input(image: torch.Tensor) -> torch.Tensor:
    """Map images in [0, 1] to the discriminator's [-1, 1] range."""
    return image * 2.0 - 1.0


def semantic_disc_input(logits: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Semantic discriminator input: softmax of ``logits`` (fake) or one-hot of ``labels`` (real).

    Args:
        logits: ``[B,20,H,W]`` decoder logits, or None.
        labels: ``LongTensor[B,H,W]``, or None. Exactly one of the two must be given.
    """
    if (logits is None) == (labels is None):
        raise ValueError("pass exactly one of logits or labels")
    if logits is not None:
        return torch.softmax(logits.float(), dim=1)
    return F.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2).float()
