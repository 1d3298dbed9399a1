"""Codebook indices, range coded after the keep mask of their branch.

Without index contexts in the priors: one static categorical model per branch, coded in one
batch. With them (:mod:`sqgan_ros.bitstream.index_context`): index by index in increasing
position, each under the model of its decoded left/upper neighbour's codeword group.

``flat=True`` (a header flag per branch, chosen by :func:`choose_flat_indices`) codes the indices
uniformly instead, ``log2 K`` bits each: content unlike the training data (whose indices the
tables find improbable) then never costs more than the paper's fixed-length count.
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

from sqgan_ros.bitstream.index_context import context_of, index_contexts
from sqgan_ros.bitstream.priors import BranchPriors
from sqgan_ros.bitstream.symbols import BranchSymbols


@functools.lru_cache(maxsize=8)
def _uniform_model(size: int) -> constriction.stream.model.Categorical:
    return constriction.stream.model.Categorical(np.full(size, 1.0 / size), perfect=False)


def table_index_bits(branch: BranchSymbols, priors: BranchPriors) -> float:
    """Ideal cost in bits of a branch's indices under the learned tables (contexts if present).

    Args:
        branch: kept positions and indices (indices ``< priors.codebook_size``).
        priors: tables of the branch.
    """
    if not branch.k or priors.codebook_size == 1:
        return 0.0
    contexts = priors.index_contexts_of(branch.grid, branch.positions, branch.indices)
    return float(priors.context_index_bits[contexts, branch.indices].sum())


def choose_flat_indices(branch: BranchSymbols, priors: BranchPriors) -> bool:
    """Whether uniform coding (``log2 K`` bits per index) beats the learned tables for this branch.

    Args:
        branch: kept positions and indices.
        priors: tables of the branch.
    """
    if not branch.k or priors.codebook_size == 1:
        return False
    return branch.k * float(np.log2(priors.codebook_size)) < table_index_bits(branch, priors)


def encode_indices(encoder: constriction.stream.queue.RangeEncoder, grid: tuple[int, int],
                   positions: np.ndarray, indices: np.ndarray, priors: BranchPriors,
                   flat: bool = False) -> None:
    """Append codebook indices to a range encoder.

    Args:
        encoder: range encoder to append to.
        grid: latent grid ``(h, w)``.
        positions: int64 ``(k,)`` increasing flat positions of the kept latents.
        indices: int64 ``(k,)`` indices, already checked to be ``< priors.codebook_size``.
        priors: tables of the branch.
        flat: code uniformly instead of under the tables.
    """
    if not indices.size or priors.codebook_size == 1:  # a 1-entry codebook carries no information
        return
    if flat:
        encoder.encode(indices.astype(np.int32), _uniform_model(priors.codebook_size))
        return
    if not priors.has_index_contexts:
        encoder.encode(indices.astype(np.int32), priors.index_model)
        return
    models = priors.context_models
    contexts = index_contexts(grid, positions, indices, priors.code_groups)
    for symbol, context in zip(indices.tolist(), contexts.tolist()):
        encoder.encode(symbol, models[context])


def decode_indices(decoder: constriction.stream.queue.RangeDecoder, grid: tuple[int, int],
                   positions: np.ndarray, priors: BranchPriors, flat: bool = False) -> np.ndarray:
    """Read the indices written by :func:`encode_indices` for the decoded ``positions``.

    Args:
        decoder: range decoder positioned at the indices.
        grid: latent grid ``(h, w)``.
        positions: int64 ``(k,)`` decoded flat positions (k comes from the header).
        priors: the same tables the encoder used.
        flat: the header's flat_indices flag of the branch.

    Returns:
        int64 ``(k,)`` indices in ``[0, codebook_size)``.
    """
    count = len(positions)
    if count == 0 or priors.codebook_size == 1:
        return np.zeros(count, dtype=np.int64)
    if flat:
        return decoder.decode(_uniform_model(priors.codebook_size), count).astype(np.int64)
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
