"""EMA vector quantizer (VQ-VAE-2 / VQ-GAN style) with dead-code restart.

One module holds the codebook and its EMA state in buffers. A training step runs small named
steps (after lucidrains' ``vector_quantize_pytorch``)::

    z [M, D] --nearest code (float32, autocast off)--> indices [M] --lookup--> q [M, D]
       |                                                      |
       +--> batch statistics (counts, sums; all-reduced under torch.distributed)
              -> _track_cluster_sizes -> _update_embedding_sums
              -> _smoothed_cluster_sizes (Laplace) -> _update_embeddings
              -> _restart_dead_codes (random batch features, broadcast from rank 0)

The codebook is never trained by gradients; the loss returned is the commitment term
``beta * ||z - sg(q)||^2`` and ``q`` is passed straight through (``z + sg(q - z)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class QuantizerOutput:
    """Result of quantizing a set of vectors.

    Args:
        quantized: ``[M, D]`` code vectors (straight-through in training).
        indices: ``[M]`` int64 codebook indices.
        commitment_loss: scalar ``beta * mean((z - sg(q))^2)``.
        perplexity: scalar, exp of the entropy of the code usage in this batch.
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    commitment_loss: torch.Tensor
    perplexity: torch.Tensor


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


class EMAVectorQuantizer(nn.Module):
    """Codebook of ``codebook_size`` vectors of dimension ``dim``, updated by EMA.

    Args:
        codebook_size: number of codes K.
        dim: code dimension D.
        decay: EMA decay (0.99 in the paper).
        beta: commitment loss weight (0.25).
        eps: Laplace smoothing constant of the cluster sizes.
        dead_threshold: codes whose EMA cluster size falls below this are restarted.
    """

    def __init__(self, codebook_size: int, dim: int, decay: float = 0.99, beta: float = 0.25,
                 eps: float = 1e-5, dead_threshold: float = 1e-3) -> None:
        super().__init__()
        if codebook_size < 2 or dim < 1:
            raise ValueError(f"need codebook_size >= 2 and dim >= 1, got {codebook_size}, {dim}")
        self.codebook_size = int(codebook_size)
        self.dim = int(dim)
        self.decay = float(decay)
        self.beta = float(beta)
        self.eps = float(eps)
        self.dead_threshold = float(dead_threshold)
        embedding = torch.randn(codebook_size, dim) / dim ** 0.5
        self.register_buffer("embedding", embedding)
        self.register_buffer("cluster_size", torch.ones(codebook_size))
        self.register_buffer("embedding_sum", embedding.clone())

    # -- lookup ------------------------------------------------------------------------------
    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices ``[M]`` of the nearest codes to ``z [M, D]`` (squared L2, float32)."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"expected [M, {self.dim}] vectors, got shape {tuple(z.shape)}")
        with torch.autocast(device_type=z.device.type, enabled=False):
            z32 = z.float()
            codes = self.embedding.float()
            distance = (z32.pow(2).sum(1, keepdim=True) - 2.0 * z32 @ codes.t()
                        + codes.pow(2).sum(1)[None, :])
            return distance.argmin(dim=1)

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Code vectors for ``indices`` (any shape ``S``) -> ``S + [D]``.

        Raises:
            ValueError: an index is outside ``[0, codebook_size)``.
        """
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"indices must be an integer tensor, got {indices.dtype}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.codebook_size):
            raise ValueError(f"codebook indices must be in [0, {self.codebook_size})")
        return F.embedding(indices.long(), self.embedding)

    # -- forward -----------------------------------------------------------------------------
    def forward(self, z: torch.Tensor, update_mask: torch.Tensor | None = None) -> QuantizerOutput:
        """Quantize ``z [M, D]``; in training mode also update the codebook by EMA.

        Args:
            z: vectors to quantize.
            update_mask: optional bool ``[M]``: only these rows feed the EMA update, the
                commitment loss and the perplexity (the latents SAMM kept). Default: all rows.
        """
        indices = self.nearest(z)
        if update_mask is None:
            update_mask = torch.ones(z.shape[0], dtype=torch.bool, device=z.device)
        with torch.autocast(device_type=z.device.type, enabled=False):
            z32 = z.float()
            used_z = z32[update_mask]
            used_idx = indices[update_mask]
            onehot = F.one_hot(used_idx, self.codebook_size).float()
            if self.training:
                self._ema_step(used_z.detach(), onehot)
            quantized = self.decode_indices(indices)
            if used_z.shape[0]:
                commitment = self.beta * F.mse_loss(used_z, quantized[update_mask].detach())
            else:
                commitment = z32.sum() * 0.0
            usage = onehot.mean(0)
            perplexity = torch.exp(-(usage * torch.log(usage + 1e-10)).sum())
        if self.training or z.requires_grad:
            quantized = z32 + (quantized - z32).detach()
        return QuantizerOutput(quantized.to(z.dtype), indices, commitment, perplexity)

    # -- EMA steps ---------------------------------------------------------------------------
    @torch.no_grad()
    def _ema_step(self, z: torch.Tensor, onehot: torch.Tensor) -> None:
        counts, sums = self._batch_statistics(z, onehot)
        self._track_cluster_sizes(counts)
        self._update_embedding_sums(sums)
        self._update_embeddings(self._smoothed_cluster_sizes())
        self._restart_dead_codes(z)

    @torch.no_grad()
    def _batch_statistics(self, z: torch.Tensor, onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-code counts ``[K]`` and feature sums ``[K, D]``, summed over DDP ranks."""
        counts = onehot.sum(0)
        sums = onehot.t() @ z
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        return counts, sums

    @torch.no_grad()
    def _track_cluster_sizes(self, counts: torch.Tensor) -> None:
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1.0 - self.decay)

    @torch.no_grad()
    def _update_embedding_sums(self, sums: torch.Tensor) -> None:
        self.embedding_sum.mul_(self.decay).add_(sums, alpha=1.0 - self.decay)

    @torch.no_grad()
    def _smoothed_cluster_sizes(self) -> torch.Tensor:
        """Laplace-smoothed cluster sizes (no division by zero for unused codes)."""
        total = self.cluster_size.sum()
        return (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total

    @torch.no_grad()
    def _update_embeddings(self, smoothed: torch.Tensor) -> None:
        self.embedding.copy_(self.embedding_sum / smoothed[:, None])

    @torch.no_grad()
    def _restart_dead_codes(self, z: torch.Tensor) -> None:
        """Replace codes whose EMA usage fell below ``dead_threshold`` by random batch features.

        The replacement rows are drawn on rank 0 and broadcast, so DDP ranks keep identical
        codebooks. The restarted codes get cluster size 1 and a matching embedding sum.
        """
        dead = self.cluster_size < self.dead_threshold
        if _distributed():
            dead = dead.to(torch.uint8)
            dist.all_reduce(dead, op=dist.ReduceOp.MAX)
            dead = dead.bool()
        n_dead = int(dead.sum())
        if n_dead == 0 or z.shape[0] == 0:
            return
        picks = torch.randint(0, z.shape[0], (n_dead,), device=z.device)
        replacement = z[picks].to(self.embedding.dtype)
        if _distributed():
            dist.broadcast(replacement, src=0)
        self.embedding[dead] = replacement
        self.embedding_sum[dead] = replacement
        self.cluster_size[dead] = 1.0
