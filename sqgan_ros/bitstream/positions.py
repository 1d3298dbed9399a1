"""Context model for the keep mask: which of the N grid cells hold a kept latent.

The mask is coded cell by cell in anti-diagonal order (d = row + col, then row), so that all
cells of one anti-diagonal depend only on earlier diagonals and are coded in one batched
range-coder call. Each cell is a binary event with probability::

    odds(keep) = odds(rho) * R[ctx, bin(rho)]
    rho = remaining_k / remaining_cells   (at the start of the diagonal; k is in the header)
    ctx = left + 2 * up + 4 * up_left     (neighbours already coded; outside the grid = 0)

``R`` (fixed point, ``ODDS_ONE`` = 1.0) is learned from training masks
(:func:`sqgan_ros.codec.prior_fitting.fit_priors`); ``R = 1`` everywhere gives the enumerative model
(cost close to ``log2 C(N, k)``), used by :meth:`EntropyPriors.uniform`. Coding stops as soon
as the remaining cells are determined (``remaining_k`` is 0 or equals ``remaining_cells``),
so k = 0 and k = N cost no position bits. The probabilities use integer tables and one
correctly rounded division (no exp/log), so encoder and decoder agree bit-exactly on any
IEEE-754 machine. The model does not
depend on the grid size: tables learned on one grid code any other.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import constriction
import numpy as np

from sqgan_ros.bitstream.errors import BitstreamError

#: Number of neighbour contexts (left, up, up-left).
NUM_CONTEXTS: int = 8
#: Density-bin edges for rho in units of 1/65536 (logits -4.375 .. 4.375 step 0.625).
DENSITY_EDGES: tuple[int, ...] = (815, 1506, 2758, 4971, 8714, 14595, 22849, 32768, 42687,
                                  50941, 56822, 60565, 62778, 64030, 64721)
NUM_DENSITY_BINS: int = len(DENSITY_EDGES) + 1
#: Fixed-point 1.0 for odds ratios and probabilities.
ODDS_ONE: int = 1 << 16
#: Odds ratios are clipped to [1/64, 64].
MIN_ODDS: int = ODDS_ONE >> 6
MAX_ODDS: int = ODDS_ONE << 6
#: Identifies this model in serialised priors.
POSITION_MODEL_NAME: str = "antidiagonal-lu3-rho16-v1"

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)
_CONTEXT_WEIGHTS = np.array([1, 2, 4], dtype=np.int64)


@dataclass(frozen=True)
class _Geometry:
    """Anti-diagonal scan of an (h, w) grid; neighbour indices point at slot N (always 0)."""

    num_cells: int
    order: np.ndarray        # (N,) flat cell index in coding order
    starts: tuple[int, ...]  # diagonal d spans order[starts[d]:starts[d + 1]]
    left: np.ndarray         # (N,) flat index of the left neighbour, in coding order
    up: np.ndarray
    up_left: np.ndarray
    diagonals: tuple[tuple[np.ndarray, np.ndarray], ...]  # per diagonal: (cells, neighbours (3, n))


@functools.lru_cache(maxsize=16)
def _geometry(height: int, width: int) -> _Geometry:
    rows, cols = np.divmod(np.arange(height * width, dtype=np.int64), width)
    order = np.lexsort((rows, rows + cols))
    rows, cols = rows[order], cols[order]
    n = height * width
    left = np.where(cols > 0, order - 1, n)
    up = np.where(rows > 0, order - width, n)
    up_left = np.where((rows > 0) & (cols > 0), order - width - 1, n)
    lengths = np.bincount(rows + cols, minlength=height + width - 1)
    starts = tuple(int(v) for v in np.concatenate(([0], np.cumsum(lengths))))
    neighbours = np.stack([left, up, up_left])
    diagonals = tuple((order[b:e], np.ascontiguousarray(neighbours[:, b:e]))
                      for b, e in zip(starts[:-1], starts[1:]))
    return _Geometry(n, order, starts, left, up, up_left, diagonals)


def density_bin(remaining_k: int | np.ndarray, remaining_cells: int | np.ndarray) -> np.ndarray:
    """Density bin of ``rho = remaining_k / remaining_cells`` (integer arithmetic).

    Args:
        remaining_k: kept cells not yet coded.
        remaining_cells: cells not yet coded (> 0).
    """
    rho = (np.asarray(remaining_k, dtype=np.int64) << 16) // np.asarray(remaining_cells,
                                                                        dtype=np.int64)
    return np.searchsorted(np.asarray(DENSITY_EDGES), rho, side="right")


def _keep_probability(odds: np.ndarray, remaining_k: np.ndarray | int,
                      remaining_cells: np.ndarray | int) -> np.ndarray:
    """Keep probability ``k R / (k R + (c - k) ODDS_ONE)`` in float64.

    Every operand is an integer below 2**53, so the products and sum are exact and the one
    division is correctly rounded: encoder and decoder agree bit for bit on any IEEE-754
    machine (no transcendental functions are involved).
    """
    weighted = np.asarray(remaining_k, dtype=np.float64) * odds
    rest = (np.asarray(remaining_cells, dtype=np.int64)
            - np.asarray(remaining_k, dtype=np.int64)) * ODDS_ONE
    return weighted / (weighted + rest.astype(np.float64))


@dataclass(frozen=True)
class CodedCells:
    """The binary events the position coder sends for one mask.

    Args:
        bits: int32 keep bit of each coded cell, in coding order.
        contexts: neighbour context of each coded cell.
        remaining_k: kept cells not yet coded, at the start of each cell's diagonal.
        remaining_cells: cells not yet coded, at the start of each cell's diagonal.
    """

    bits: np.ndarray
    contexts: np.ndarray
    remaining_k: np.ndarray
    remaining_cells: np.ndarray


def coded_cells(grid: tuple[int, int], positions: np.ndarray) -> CodedCells:
    """Events the coder sends for a keep mask (shared by the encoder and the statistics).

    Args:
        grid: latent grid ``(h, w)``.
        positions: strictly increasing flat indices of kept cells.
    """
    geo = _geometry(*grid)
    n = geo.num_cells
    padded = np.zeros(n + 1, dtype=np.int64)
    padded[positions] = 1
    bits = padded[geo.order]
    contexts = padded[geo.left] + 2 * padded[geo.up] + 4 * padded[geo.up_left]
    starts = np.asarray(geo.starts)
    before = np.concatenate(([0], np.cumsum(bits)))[starts[:-1]]
    rem_k = positions.size - before
    rem_cells = n - starts[:-1]
    determined = np.flatnonzero((rem_k == 0) | (rem_k == rem_cells))
    stop = int(determined[0]) if determined.size else len(rem_k)
    end = int(starts[stop])
    lengths = np.diff(starts)[:stop]
    return CodedCells(bits=bits[:end].astype(np.int32), contexts=contexts[:end],
                      remaining_k=np.repeat(rem_k[:stop], lengths),
                      remaining_cells=np.repeat(rem_cells[:stop], lengths))


def flat_odds_table() -> np.ndarray:
    """Odds ratios of 1 everywhere: the enumerative model, about ``log2 C(N, k)`` bits."""
    return np.full((NUM_CONTEXTS, NUM_DENSITY_BINS), ODDS_ONE, dtype=np.int64)


def _cell_probabilities(cells: CodedCells, odds_table: np.ndarray) -> np.ndarray:
    odds = odds_table[cells.contexts, density_bin(cells.remaining_k, cells.remaining_cells)]
    return _keep_probability(odds.astype(np.float64), cells.remaining_k, cells.remaining_cells)


def choose_flat(grid: tuple[int, int], positions: np.ndarray, odds_table: np.ndarray) -> bool:
    """Whether the flat model codes this mask in fewer (ideal) bits than the learned one.

    The encoder signals the choice with one header bit per branch, so a mask unlike the
    training masks (e.g. random) never costs more than ``log2 C(N, k)`` (< N bits, the
    paper's bitmap) plus one bit.

    Args:
        grid: latent grid ``(h, w)``.
        positions: strictly increasing flat indices of kept cells.
        odds_table: the learned odds ratios.
    """
    cells = coded_cells(grid, positions)
    if not cells.bits.size:
        return False
    kept = cells.bits.astype(bool)
    costs = []
    for table in (odds_table, flat_odds_table()):
        prob = _cell_probabilities(cells, table)
        costs.append(-np.log2(np.where(kept, prob, 1.0 - prob)).sum())
    return bool(costs[1] < costs[0])


def encode_positions(encoder: constriction.stream.queue.RangeEncoder, grid: tuple[int, int],
                     positions: np.ndarray, odds_table: np.ndarray) -> None:
    """Append a keep mask to a range encoder.

    Args:
        encoder: range encoder to append to.
        grid: latent grid ``(h, w)``.
        positions: strictly increasing flat indices of kept cells.
        odds_table: int64 ``(NUM_CONTEXTS, NUM_DENSITY_BINS)`` fixed-point odds ratios.
    """
    cells = coded_cells(grid, positions)
    if not cells.bits.size:
        return
    encoder.encode(cells.bits, _BERNOULLI, _cell_probabilities(cells, odds_table))


def decode_positions(decoder: constriction.stream.queue.RangeDecoder, grid: tuple[int, int],
                     keep_count: int, odds_table: np.ndarray) -> np.ndarray:
    """Read a keep mask written by :func:`encode_positions`.

    Args:
        decoder: range decoder positioned at the mask.
        grid: latent grid ``(h, w)`` (from the header, already bounded).
        keep_count: number of kept cells k (from the header, ``<= h * w``).
        odds_table: the same table the encoder used.

    Returns:
        int64 strictly increasing flat positions.

    Raises:
        BitstreamError: the decoded mask disagrees with ``keep_count``.
    """
    geo = _geometry(*grid)
    n = geo.num_cells
    padded = np.zeros(n + 1, dtype=np.int64)
    remaining = keep_count
    odds_rows = np.ascontiguousarray(odds_table.T, dtype=np.float64)  # per bin: each context
    weights = _CONTEXT_WEIGHTS
    for begin, (cells, neighbours) in zip(geo.starts, geo.diagonals):
        cells_left = n - begin
        if remaining == 0:
            break
        if remaining == cells_left:
            padded[geo.order[begin:]] = 1
            remaining = 0
            break
        rest = float((cells_left - remaining) * ODDS_ONE)
        weighted = remaining * odds_rows[bisect.bisect_right(
            DENSITY_EDGES, (remaining << 16) // cells_left)]
        prob = weighted / (weighted + rest)
        bits = decoder.decode(_BERNOULLI, prob[weights @ padded[neighbours]])
        padded[cells] = bits
        remaining -= int(np.count_nonzero(bits))
        if remaining < 0 or remaining > cells_left - cells.size:
            raise BitstreamError("corrupted payload: keep mask disagrees with the header's "
                                 "keep count")
    if remaining:
        raise BitstreamError("corrupted payload: keep mask disagrees with the header's keep count")
    return np.flatnonzero(padded[:n])
