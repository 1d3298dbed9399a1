"""Fitting the entropy priors after training: statistics of the training set's symbols -> tables.

The counterpart of CompressAI's ``update()``. Run once at export (``sqgan_ros.training.export``);
the result, :class:`~sqgan_ros.bitstream.EntropyPriors`, is stored with the model and is all the
wire format (``sqgan_ros.bitstream``) needs at run time::

    FrameSymbols of the training set --fit_priors--> EntropyPriors (index counts, position odds,
        + codebook_groups (k-means of each codebook)      index context tables) --> model file

numpy only (no torch): the fitting reads symbols and codebook arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from sqgan_ros.bitstream import positions as pos
from sqgan_ros.bitstream.index_context import NUM_GROUPS, NUM_INDEX_CONTEXTS, index_contexts
from sqgan_ros.bitstream.priors import MAX_COUNT, BranchPriors, EntropyPriors, check_codebook_sizes
from sqgan_ros.bitstream.symbols import BRANCHES, FrameSymbols

__all__ = ["CONTEXT_PSEUDO_COUNT", "fit_priors", "codebook_groups"]

#: Pseudo-count pulling each context's index distribution towards the unconditional one.
CONTEXT_PSEUDO_COUNT: float = 400.0
_CONTEXT_TOTAL = 1 << 20  # each context's smoothed distribution is stored as counts summing to ~this
_RHO_BUCKETS = 1024  # histogram resolution of rho for fitting the position model
_ODDS_PRIOR_VAR = 4.0  # Gaussian prior variance on log odds ratios (shrinks sparse cells to 1)
_MAX_LOG_ODDS = math.log(pos.MAX_ODDS / pos.ODDS_ONE)


def fit_priors(symbols: Iterable[FrameSymbols], codebook_sizes: Mapping[str, int],
               code_groups: Mapping[str, np.ndarray] | None = None) -> EntropyPriors:
    """Learn the tables from symbols of the training set (run after training).

    Index counts are the observed frequencies plus one (so every index stays codable),
    scaled down if they would overflow uint32. Position odds ratios are a MAP logistic
    fit per (neighbour context, density bin); cells with little data stay near 1. With
    ``code_groups`` (e.g. :func:`codebook_groups` of
    each codebook) the index context tables are learned too: per context, the observed
    counts plus ``CONTEXT_PSEUDO_COUNT`` pseudo-counts spread like the unconditional
    distribution (so rare contexts fall back to it).

    Args:
        symbols: frames produced by the trained transmitter (any grid sizes; INTRA).
        codebook_sizes: codebook size per branch ("semantic", "image").
        code_groups: per branch, the ``(K,)`` group of each codeword; None: no contexts.

    Raises:
        ValueError: a symbol's index is outside its codebook, or bad code groups.
        TypeError: an item is not ``FrameSymbols``.
    """
    sizes = check_codebook_sizes(codebook_sizes)
    groups = _check_code_groups(code_groups, sizes)
    counts = {name: np.zeros(size, dtype=np.int64) for name, size in sizes.items()}
    context = {name: np.zeros((NUM_INDEX_CONTEXTS, size), dtype=np.int64)
               for name, size in sizes.items()}
    stats = {name: _PositionStatistics() for name in BRANCHES}
    for frame in symbols:
        if not isinstance(frame, FrameSymbols):
            raise TypeError(f"expected FrameSymbols, got {type(frame).__name__}")
        for name in BRANCHES:
            branch = frame.branch(name)
            if branch.k and branch.indices.max() >= sizes[name]:
                raise ValueError(f"{name} index {int(branch.indices.max())} is outside "
                                 f"its codebook of size {sizes[name]}")
            counts[name] += np.bincount(branch.indices, minlength=sizes[name])
            stats[name].add(branch.grid, branch.positions)
            if groups is not None and branch.k:
                ctx = index_contexts(branch.grid, branch.positions, branch.indices, groups[name])
                np.add.at(context[name], (ctx, branch.indices), 1)
    tables = {}
    for name in BRANCHES:
        observed = counts[name]
        scale = max(1.0, float(observed.max()) / (MAX_COUNT - 1))
        floored = np.floor(observed / scale).astype(np.int64) + 1
        extra = {}
        if groups is not None:
            extra = {"code_groups": groups[name],
                     "context_counts": _smoothed_context_counts(context[name], floored)}
        tables[name] = BranchPriors(sizes[name], floored, stats[name].fit_odds(), **extra)
    return EntropyPriors(**tables)


class _PositionStatistics:
    """Histogram of coded mask cells by (context, density bin, rho bucket) and outcome."""

    def __init__(self) -> None:
        shape = (pos.NUM_CONTEXTS, pos.NUM_DENSITY_BINS, _RHO_BUCKETS)
        self.kept = np.zeros(shape, dtype=np.int64)
        self.dropped = np.zeros(shape, dtype=np.int64)

    def add(self, grid: tuple[int, int], positions: np.ndarray) -> None:
        cells = pos.coded_cells(grid, positions)
        if not cells.bits.size:
            return
        rho = (cells.remaining_k << 16) // cells.remaining_cells
        flat = ((cells.contexts * pos.NUM_DENSITY_BINS
                 + pos.density_bin(cells.remaining_k, cells.remaining_cells)) * _RHO_BUCKETS
                + (rho * _RHO_BUCKETS >> 16))
        size = self.kept.size
        self.kept += np.bincount(flat, weights=cells.bits, minlength=size).astype(
            np.int64).reshape(self.kept.shape)
        self.dropped += np.bincount(flat, weights=1 - cells.bits, minlength=size).astype(
            np.int64).reshape(self.kept.shape)

    def fit_odds(self) -> np.ndarray:
        """MAP logistic fit of log R per (context, bin) with offset logit(rho)."""
        rho = (np.arange(_RHO_BUCKETS) + 0.5) / _RHO_BUCKETS
        offset = np.log(rho / (1.0 - rho))
        log_r = np.zeros(self.kept.shape[:2])
        for _ in range(30):
            p = 1.0 / (1.0 + np.exp(-(log_r[..., None] + offset)))
            grad = (self.kept * (1.0 - p) - self.dropped * p).sum(-1) - log_r / _ODDS_PRIOR_VAR
            hess = ((self.kept + self.dropped) * p * (1.0 - p)).sum(-1) + 1.0 / _ODDS_PRIOR_VAR
            log_r = np.clip(log_r + np.clip(grad / hess, -1.0, 1.0), -_MAX_LOG_ODDS, _MAX_LOG_ODDS)
        odds = np.round(np.exp(log_r) * pos.ODDS_ONE)
        return np.clip(odds, pos.MIN_ODDS, pos.MAX_ODDS).astype(np.int64)


def _check_code_groups(code_groups: Mapping[str, np.ndarray] | None,
                       sizes: dict[str, int]) -> dict[str, np.ndarray] | None:
    if code_groups is None:
        return None
    if not isinstance(code_groups, Mapping) or set(code_groups) != set(BRANCHES):
        raise ValueError(f"code_groups must map exactly {BRANCHES} to group arrays")
    out = {}
    for name in BRANCHES:
        groups = np.asarray(code_groups[name])
        if groups.shape != (sizes[name],) or groups.dtype.kind not in "iu" \
                or groups.min() < 0 or groups.max() >= NUM_GROUPS:
            raise ValueError(f"code_groups[{name!r}] must be {sizes[name]} integers in "
                             f"[0, {NUM_GROUPS})")
        out[name] = groups.astype(np.int64)
    return out


def _smoothed_context_counts(observed: np.ndarray, unconditional: np.ndarray) -> np.ndarray:
    """Per context: observed counts + pseudo-counts shaped like ``unconditional``, as integers."""
    prior = unconditional / unconditional.sum()
    probs = (observed + CONTEXT_PSEUDO_COUNT * prior) / (
        observed.sum(axis=1, keepdims=True) + CONTEXT_PSEUDO_COUNT)
    return np.maximum(1, np.round(probs * _CONTEXT_TOTAL)).astype(np.int64)


def codebook_groups(codebook: np.ndarray, groups: int = NUM_GROUPS, iterations: int = 25,
                    seed: int = 0) -> np.ndarray:
    """Group codewords by k-means (deterministic: seeded k-means++ start, fixed iterations).

    Args:
        codebook: ``(K, D)`` codewords.
        groups: number of groups (at most K).
        iterations: Lloyd iterations.
        seed: seed of the k-means++ start.

    Returns:
        int64 ``(K,)`` group of every codeword in ``[0, groups)``.
    """
    book = np.asarray(codebook, dtype=np.float64)
    if book.ndim != 2 or not len(book):
        raise ValueError(f"codebook must be a non-empty (K, D) array, got shape {book.shape}")
    if not np.isfinite(book).all():
        raise ValueError("codebook must be finite")
    groups = min(int(groups), len(book))
    rng = np.random.default_rng(seed)
    centres = [book[rng.integers(len(book))]]
    for _ in range(1, groups):
        d2 = np.min([((book - c) ** 2).sum(1) for c in centres], axis=0)
        total = d2.sum()
        pick = rng.choice(len(book), p=d2 / total) if total > 0 else rng.integers(len(book))
        centres.append(book[pick])
    centre = np.stack(centres)
    assign = np.zeros(len(book), dtype=np.int64)
    for _ in range(iterations):
        assign = ((book[:, None, :] - centre[None]) ** 2).sum(-1).argmin(1)
        for g in range(groups):
            members = book[assign == g]
            if len(members):
                centre[g] = members.mean(0)
    return assign
