"""Convolutional building blocks shared by the encoders and decoders (VQ-GAN style).

ResBlock (GN -> SiLU -> conv, twice, plus a skip), strided-conv Downsample, nearest+conv
Upsample and single-head spatial self-attention (``AttnBlock``).

Inference fast paths: when autograd is off (``torch.no_grad`` / ``torch.inference_mode``) the
blocks work in place where no gradient needs the overwritten value, and ``Upsample`` runs its
3x3 conv at the coarse resolution as four 2x2 sub-pixel convs (2.25x fewer multiply-adds, same
result up to float rounding). ``fast_inference(False)`` switches every fast path of the codec
off, which is how the tests compare both paths on the same weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

_FAST_INFERENCE = True


@contextlib.contextmanager
def fast_inference(enabled: bool) -> Iterator[None]:
    """Enable or disable the codec's inference fast paths inside a ``with`` block.

    Args:
        enabled: False runs the reference (training) operations even without autograd.
    """
    global _FAST_INFERENCE
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    previous, _FAST_INFERENCE = _FAST_INFERENCE, enabled
    try:
        yield
    finally:
        _FAST_INFERENCE = previous


def fast_path() -> bool:
    """True when the inference fast paths may run: autograd off and not disabled."""
    return _FAST_INFERENCE and not torch.is_grad_enabled()


def num_groups(channels: int, max_groups: int = 32) -> int:
    """Largest group count <= ``max_groups`` that divides ``channels`` (for GroupNorm)."""
    for groups in range(min(max_groups, channels), 0, -1):
        if channels % groups == 0:
            return groups
    return 1


def group_norm(channels: int, affine: bool = True) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups and eps 1e-6, as VQ-GAN."""
    return nn.GroupNorm(num_groups(channels), channels, eps=1e-6, affine=affine)


class ResBlock(nn.Module):
    """Residual block: GN -> SiLU -> 3x3 conv -> GN -> SiLU -> 3x3 conv, plus a (1x1) skip.

    Args:
        in_channels: input channels.
        out_channels: output channels.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x [B, in, h, w]`` to ``[B, out, h, w]`` (in-place activations on the fast path)."""
        if fast_path():
            h = self.conv1(F.silu(self.norm1(x), inplace=True))
            h = self.conv2(F.silu(self.norm2(h), inplace=True))
            return h.add_(self.skip(x))
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 3x3 conv (asymmetric zero pad, as VQ-GAN).

    Args:
        channels: input and output channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x [B, C, h, w]`` to ``[B, C, h // 2, w // 2]``."""
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour upsampling then a 3x3 conv.

    Args:
        channels: input channels.
        out_channels: output channels (default: ``channels``); narrowing here saves the cost of
            a wide conv at the finer resolution.
    """

    def __init__(self, channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, out_channels or channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x [B, C, h, w]`` to ``[B, out, 2h, 2w]``; the fast path convolves at the coarse resolution."""
        if fast_path():
            return upsample_conv_subpixel(x, self.conv.weight, self.conv.bias)
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def subpixel_weights(weight: torch.Tensor) -> torch.Tensor:
    """2x2 kernels ``[4 * out, in, 2, 2]`` equal to nearest-2x upsampling then ``weight`` (3x3).

    Output row ``2y`` of the upsampled conv reads coarse rows ``y - 1`` (kernel row 0) and ``y``
    (rows 1 + 2); row ``2y + 1`` reads rows ``y`` (rows 0 + 1) and ``y + 1`` (row 2); the same
    holds for columns. Phases are ordered ``(row phase, column phase)`` within each output
    channel, as ``pixel_shuffle`` expects.

    Args:
        weight: 3x3 conv weight ``[out, in, 3, 3]``.
    """
    if weight.dim() != 4 or weight.shape[-2:] != (3, 3):
        raise ValueError(f"expected a 3x3 conv weight, got shape {tuple(weight.shape)}")
    rows = (torch.stack([weight[:, :, 0], weight[:, :, 1] + weight[:, :, 2]], 2),
            torch.stack([weight[:, :, 0] + weight[:, :, 1], weight[:, :, 2]], 2))
    phases = []
    for r in rows:  # r: [out, in, 2, 3]
        for cols in ((r[..., 0], r[..., 1] + r[..., 2]), (r[..., 0] + r[..., 1], r[..., 2])):
            phases.append(torch.stack(cols, -1))
    out, cin = weight.shape[:2]
    return torch.stack(phases, 1).reshape(4 * out, cin, 2, 2)


def upsample_conv_subpixel(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``conv3x3(nearest_upsample_2x(x))`` (padding 1) computed at the coarse resolution.

    One 2x2 conv with ``4 * out`` channels over ``x`` zero-padded by one gives, for each output
    phase, an ``(h + 1) x (w + 1)`` map; phase ``(a, b)`` is its crop starting at ``(a, b)``.

    Args:
        x: input ``[B, in, h, w]``.
        weight: 3x3 conv weight ``[out, in, 3, 3]``.
        bias: conv bias ``[out]`` or None.
    """
    b, _, h, w = x.shape
    out = weight.shape[0]
    phase_bias = None if bias is None else bias.repeat_interleave(4)
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), subpixel_weights(weight), phase_bias)
    y = y.view(b, out, 2, 2, h + 1, w + 1)
    rows = [torch.stack([y[:, :, a, c, a:a + h, c:c + w] for c in (0, 1)], -1) for a in (0, 1)]
    # [B, out, h, w, 2 (col phase)] per row phase -> [B, out, h, 2, w, 2] -> [B, out, 2h, 2w]
    return torch.stack(rows, 3).reshape(b, out, 2 * h, 2 * w)


class AttnBlock(nn.Module):
    """Single-head self-attention over all spatial positions, with a residual connection.

    Args:
        channels: feature channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x [B, C, h, w]`` plus the projected attention output, same shape."""
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1))
        out = out.squeeze(1).transpose(-1, -2).reshape(b, c, h, w)
        return x + self.proj(out)
