"""The paper's rate accounting as a real format: keep bitmap + fixed-width indices.

SQ-GAN (Pezone et al., IEEE TCCN 2025) counts, per branch, one bit per grid cell for the map
of kept positions plus ``ceil(log2(codebook_size))`` bits per kept index. This module packs
exactly those bits (MSB first; per branch: bitmap in raster order, then the indices in
position order), zero-padded to a byte once at the end.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sqgan_ros.bitstream.errors import BitstreamError
from sqgan_ros.bitstream.header import StreamLayout
from sqgan_ros.bitstream.symbols import BRANCHES, BranchSymbols, FrameSymbols


def index_width(codebook_size: int) -> int:
    """Bits per index, ``ceil(log2(codebook_size))`` (0 for a one-entry codebook).

    Args:
        codebook_size: number of codebook entries (>= 1).
    """
    if codebook_size < 1:
        raise ValueError(f"codebook_size must be >= 1, got {codebook_size}")
    return (codebook_size - 1).bit_length()


def fixed_length_bits(symbols: FrameSymbols, codebook_sizes: Mapping[str, int]) -> int:
    """The paper's bit count of a frame (both branches, no header): ``sum N + k * width``.

    Args:
        symbols: the frame's symbols.
        codebook_sizes: codebook size per branch ("semantic", "image").
    """
    return sum(symbols.branch(name).num_cells
               + symbols.branch(name).k * index_width(codebook_sizes[name])
               for name in BRANCHES)


def _index_bits(indices: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((indices[:, None] >> shifts) & 1).astype(np.uint8).ravel()


def pack_fixed_length(symbols: FrameSymbols, codebook_sizes: Mapping[str, int]) -> bytes:
    """Pack a frame's symbols in the fixed-length layout.

    Args:
        symbols: the frame's symbols (indices already checked against the codebooks).
        codebook_sizes: codebook size per branch.
    """
    parts = []
    for name in BRANCHES:
        branch = symbols.branch(name)
        bitmap = np.zeros(branch.num_cells, dtype=np.uint8)
        bitmap[branch.positions] = 1
        parts += [bitmap, _index_bits(branch.indices, index_width(codebook_sizes[name]))]
    return np.packbits(np.concatenate(parts)).tobytes()


def unpack_fixed_length(payload: bytes, layout: StreamLayout,
                        codebook_sizes: Mapping[str, int]) -> FrameSymbols:
    """Read a payload written by :func:`pack_fixed_length`.

    Args:
        payload: the payload bytes (between header and checksum).
        layout: grids and keep counts from the header.
        codebook_sizes: codebook size per branch.

    Raises:
        BitstreamError: wrong length, non-zero padding, bitmap disagreeing with the keep
            count, or an index outside its codebook.
    """
    widths = [index_width(codebook_sizes[name]) for name in BRANCHES]
    total = sum(g[0] * g[1] + k * w for g, k, w in zip(layout.grids, layout.keep_counts, widths))
    if len(payload) != (total + 7) // 8:
        raise BitstreamError(f"corrupted payload: {len(payload)} bytes where the header "
                             f"implies {(total + 7) // 8}")
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
    if bits[total:].any():
        raise BitstreamError("corrupted payload: non-zero padding bits")
    branches, offset = {}, 0
    for name, grid, k, width in zip(BRANCHES, layout.grids, layout.keep_counts, widths):
        n = grid[0] * grid[1]
        positions = np.flatnonzero(bits[offset:offset + n]).astype(np.int64)
        offset += n
        if positions.size != k:
            raise BitstreamError(f"corrupted payload: {name} bitmap has {positions.size} "
                                 f"kept cells, header says {k}")
        fields = bits[offset:offset + k * width].reshape(k, width).astype(np.int64)
        offset += k * width
        indices = fields @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))
        if k and indices.max() >= codebook_sizes[name]:
            raise BitstreamError(f"corrupted payload: {name} index {int(indices.max())} is "
                                 f"outside the codebook of size {codebook_sizes[name]}")
        branches[name] = BranchSymbols(grid=grid, positions=positions, indices=indices)
    return FrameSymbols(**branches)
