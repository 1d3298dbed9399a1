"""Adaptive de-masker (ADM): fill in the latents that SAMM did not send.

After MQ-VAE (Huang et al., CVPR 2023) as used by SQ-GAN. Batched (no loop over the batch)::

    q [B, N, D] (codes at kept positions), keep_mask [B, N]
      -> x = where(keep, q, mask_token) + sin/cos 2-D position(grid)
      -> L x [pre-LN self-attention with a key bias on masked positions, pre-LN MLP]
      -> LayerNorm -> [B, N, D]

Attention to a masked key is multiplied by a learnable factor ``b`` (initialised to 0.02) that
is square-rooted at each layer (``b, b^(1/2), b^(1/4), ...``): early layers mostly read real
codes, later ones increasingly trust the filled-in mask tokens. Implemented as the additive
logit bias ``log(b) / 2**l`` on masked keys. Positions are 2-D sinusoidal, computed for any
grid, so training on 8x16 crops and running at 16x32 share one model.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_positions(grid: tuple[int, int], dim: int, device: torch.device | None = None,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """2-D sine/cosine position encoding ``[h*w, dim]`` (rows: first half, columns: second).

    Args:
        grid: (h, w) latent grid.
        dim: encoding width, a multiple of 4.
        device: device of the result.
        dtype: dtype of the result.
    """
    if dim % 4:
        raise ValueError(f"dim must be a multiple of 4, got {dim}")
    h, w = grid
    quarter = dim // 4
    freqs = torch.exp(-math.log(10000.0) * torch.arange(quarter, device=device, dtype=torch.float32) / quarter)
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * freqs
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * freqs
    row = torch.cat([ys.sin(), ys.cos()], dim=1)[:, None, :].expand(h, w, 2 * quarter)
    col = torch.cat([xs.sin(), xs.cos()], dim=1)[None, :, :].expand(h, w, 2 * quarter)
    return torch.cat([row, col], dim=-1).reshape(h * w, dim).to(dtype)


@functools.lru_cache(maxsize=16)
def _cached_positions(grid: tuple[int, int], dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    with torch.inference_mode(False), torch.no_grad():  # a normal tensor, usable with autograd too
        return sinusoidal_positions(grid, dim, device, dtype)


class DemaskerLayer(nn.Module):
    """Pre-LN transformer layer whose attention takes an additive key bias.

    Args:
        dim: token width.
        heads: attention heads.
        ffn_mult: MLP width multiplier.
    """

    def __init__(self, dim: int, heads: int, ffn_mult: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ffn_mult * dim), nn.GELU(), nn.Linear(ffn_mult * dim, dim))

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        """``x [B, N, D]``; ``key_bias [B, 1, 1, N]`` added to the attention logits."""
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=key_bias.to(q.dtype))
        x = x + self.out(att.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class AdaptiveDemasker(nn.Module):
    """Mask token + position encoding + a stack of mask-aware self-attention layers.

    Args:
        dim: token width (the codebook dimension).
        layers: number of attention layers (8 in the paper; 0 keeps only token + position).
        heads: attention heads.
        ffn_mult: MLP width multiplier.
        mask_bias_init: initial attention factor on masked keys (0.02).
    """

    def __init__(self, dim: int, layers: int, heads: int, ffn_mult: int,
                 mask_bias_init: float = 0.02) -> None:
        super().__init__()
        self.dim = dim
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.mask_bias = nn.Parameter(torch.tensor(float(mask_bias_init)))
        self.layers = nn.ModuleList(DemaskerLayer(dim, heads, ffn_mult) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor, keep_mask: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Fill in ``tokens [B, N, D]`` where ``keep_mask [B, N]`` is False; returns ``[B, N, D]``."""
        b, n, d = tokens.shape
        if n != grid[0] * grid[1] or d != self.dim or keep_mask.shape != (b, n):
            raise ValueError(f"tokens {tuple(tokens.shape)} / mask {tuple(keep_mask.shape)} do not "
                             f"match grid {grid} and dim {self.dim}")
        x = torch.where(keep_mask.unsqueeze(-1), tokens, self.mask_token.to(tokens.dtype))
        x = x + _cached_positions((int(grid[0]), int(grid[1])), d, tokens.device, tokens.dtype)
        log_bias = torch.log(self.mask_bias.clamp(1e-6, 1.0))
        missing = (~keep_mask).to(tokens.dtype)[:, None, None, :]
        for depth, layer in enumerate(self.layers):
            x = layer(x, missing * (log_bias * 0.5 ** depth))
        return self.norm(x)
