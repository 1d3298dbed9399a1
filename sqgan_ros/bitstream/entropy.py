"""Codebook indices, range coded after the keep mask of their branch.

Without index contexts in the priors: one static categorical model per branch, coded in one
batch. With them (:mod:`sqgan_ros.bitstream.index_context`): index by index in increasing
position, each under the model of its decoded left/upper neighbour's codeword group.
"""

from __future__ import annotations

import constriction
import numpy as np

from sqgan_ros.bitstream.index_context import context_of, index_contexts
from sqgan_ros.bitstream.priors import BranchPriors


def encode_indices(encoder: constriction.stream.queue.RangeEncoder, grid: tuple[int, int],
                   positions: np.ndarray, indices: np.ndarray, priors: BranchPriors) -> None:
    """Append codebook indices to a range encoder.

    Args:
        encoder: range encoder to append to.
        grid: latent grid ``(h, w)``.
        positions: int64 ``(k,)`` increasing flat positions of the kept latents.
        indices: int64 ``(k,)`` indices, already checked to be ``< priors.codebook_size``.
        priors: tables of the branch.
    """
    if not indices.size or priors.codebook_size == 1:  # a 1-entry codebook carries no information
        return
    if not priors.has_index_contexts:
        encoder.encode(indices.astype(np.int32), priors.index_model)
        return
    models = priors.context_models
    contexts = index_contexts(grid, positions, indices, priors.code_groups)
    for symbol, context in zip(indices.tolist(), contexts.tolist()):
        encoder.encode(symbol, models[context])


def decode_indices(decoder: constriction.stream.queue.RangeDecoder, grid: tuple[int, int],
                   positions: np.ndarray, priors: BranchPriors) -> np.ndarray:
    """Read the indices written by :func:`encode_indices` for the decoded ``positions``.

    Args:
        decoder: range decoder positioned at the indices.
        grid: latent grid ``(h, w)``.
        positions: int64 ``(k,)`` decoded flat positions (k comes from the header).
        priors: the same tables the encoder used.

    Returns:
        int64 ``(k,)`` indices in ``[0, codebook_size)``.
    """
    count = len(positions)
    if count == 0 or priors.codebook_size == 1:
        return np.zeros(count, dtype=np.int64)
    if not priors.has_index_contexts:
        return decoder.decode(priors.index_model, count).astype(np.int64)
    models, groups, width = priors.context_models, priors.code_groups, grid[1]
    held = np.full(grid[0] * grid[1], -1, dtype=np.int64)
    out = np.empty(count, dtype=np.int64)
    for j, position in enumerate(positions.tolist()):
        index = int(decoder.decode(models[context_of(held, position, width)]))
        out[j] = index
        held[position] = groups[index]
    return out
