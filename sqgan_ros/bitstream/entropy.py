"""Codebook indices: a static categorical model per branch, range coded in one batch."""

from __future__ import annotations

import constriction
import numpy as np

from sqgan_ros.bitstream.priors import BranchPriors


def encode_indices(encoder: constriction.stream.queue.RangeEncoder, indices: np.ndarray,
                   priors: BranchPriors) -> None:
    """Append codebook indices to a range encoder.

    Args:
        encoder: range encoder to append to.
        indices: int64 ``(k,)`` indices, already checked to be ``< priors.codebook_size``.
        priors: tables of the branch.
    """
    if indices.size and priors.codebook_size > 1:  # a 1-entry codebook carries no information
        encoder.encode(indices.astype(np.int32), priors.index_model)


def decode_indices(decoder: constriction.stream.queue.RangeDecoder, count: int,
                   priors: BranchPriors) -> np.ndarray:
    """Read ``count`` codebook indices written by :func:`encode_indices`.

    Args:
        decoder: range decoder positioned at the indices.
        count: number of indices k (from the header).
        priors: the same tables the encoder used.

    Returns:
        int64 ``(count,)`` indices in ``[0, codebook_size)``.
    """
    if count == 0 or priors.codebook_size == 1:
        return np.zeros(count, dtype=np.int64)
    return decoder.decode(priors.index_model, count).astype(np.int64)
