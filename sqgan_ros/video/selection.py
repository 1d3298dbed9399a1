"""INTER-frame selection: which latents to update against a reference state (torch).

For one branch of one frame, with the analysis of the current frame (SAMM score and codebook
index of every latent) and the reference state the decoder holds::

    stale    = not known in the reference  |  index differs from the reference's
               (with change_threshold > 0: codeword distance > threshold * RMS codeword norm)
    target   = the latents an INTRA frame would keep now (SAMM top-k, class-weight biased)
    refresh  = stale latents inside this frame's rolling refresh window (always sent)
    updates  = refresh + the top latents of (stale & (target | known)) by biased SAMM score
               (the order of ``Transmitter.select``), up to the frame's budget k

So the decoder holds at least what an INTRA frame would have sent wherever the budget allows,
latents it holds are corrected when they change, and latents nobody asked for are left to the
de-masker (as in an INTRA frame) until the rolling refresh fills them. A static scene sends
(almost) nothing; moving people and signs refresh first when their class weight is high, and
the budget bounds every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sqgan_ros.bitstream.symbols import BranchSymbols
from sqgan_ros.codec.model import BranchAnalysis
from sqgan_ros.codec.samm import class_mass, is_neutral
from sqgan_ros.video.state import BranchState

__all__ = ["priority_order", "stale_latents", "select_updates", "refresh_window", "BranchUpdate"]


def priority_order(scores: torch.Tensor, class_fractions: torch.Tensor | None = None,
                   class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """All positions ``(N,)`` in SAMM selection order (the order ``select_latents`` keeps them).

    Args:
        scores: raw SAMM scores ``(N,)``.
        class_fractions: ``(C, N)`` class fraction under each latent (needed with weights).
        class_weights: ``(C,)`` run-time class weights, or None (rank by raw score).
    """
    scores = scores.detach().float()
    by_raw = scores.argsort(descending=True, stable=True)
    if is_neutral(class_weights):
        return by_raw
    if class_fractions is None:
        raise ValueError("class weights need the class fractions of each latent")
    biased = (scores * class_mass(class_fractions.unsqueeze(0), class_weights)[0])
    by_biased = biased[by_raw].argsort(descending=True, stable=True)
    return by_raw[by_biased]


def stale_latents(current: np.ndarray, reference: BranchState, codebook: torch.Tensor | None = None,
                  change_threshold: float = 0.0, latents: torch.Tensor | None = None) -> np.ndarray:
    """Bool ``(N,)``: latents whose reference value is missing or differs from ``current``.

    With ``change_threshold > 0`` a held latent whose index changed is stale only when the change
    matters, in units of the codebook's RMS codeword norm ``rms``:

    * with ``latents`` (the unquantized latents ``z``): when keeping the reference codeword costs
      more than ``change_threshold * rms`` of extra distance to ``z``,
      ``|z - e_ref| - |z - e_cur| > change_threshold * rms``. A latent that sits between two
      codewords and flips between them from frame to frame (sensor noise, compression of the
      camera stream) then stays put, while a latent that really moved is updated;
    * without: when the two codewords are more than ``change_threshold * rms`` apart.

    Args:
        current: int64 ``(N,)`` codebook indices of the current frame.
        reference: the reference state.
        codebook: ``(K, D)`` codewords (needed when ``change_threshold > 0``).
        change_threshold: relative distance below which a changed index is not stale.
        latents: ``(N, D)`` unquantized latents of the current frame, or None.
    """
    current = np.asarray(current, dtype=np.int64)
    if current.shape != (reference.num_cells,):
        raise ValueError(f"current indices must have shape ({reference.num_cells},), "
                         f"got {current.shape}")
    differs = current != reference.indices
    if change_threshold > 0.0 and differs.any():
        if codebook is None:
            raise ValueError("change_threshold > 0 needs the codebook")
        book = codebook.detach().float().cpu()
        rms = float(book.pow(2).sum(dim=1).mean().sqrt())
        where = np.flatnonzero(differs & reference.known)
        cur = book[torch.from_numpy(current[where])]
        ref = book[torch.from_numpy(reference.indices[where])]
        if latents is not None:
            if latents.shape != (reference.num_cells, book.shape[1]):
                raise ValueError(f"latents must have shape ({reference.num_cells}, {book.shape[1]}), "
                                 f"got {tuple(latents.shape)}")
            z = latents.detach().float().cpu()[torch.from_numpy(where)]
            dist = ((z - ref).norm(dim=1) - (z - cur).norm(dim=1)).numpy()
        else:
            dist = (cur - ref).norm(dim=1).numpy()
        differs[where] = dist > change_threshold * rms
    return ~reference.known | differs


def refresh_window(num_cells: int, fraction: float, counter: int) -> np.ndarray:
    """Bool ``(N,)``: the ``counter``-th window of a rolling refresh covering ``fraction`` per frame.

    Windows are contiguous runs of ``ceil(fraction * N)`` flat positions that wrap around, so
    ``ceil(1 / fraction)`` consecutive windows cover the grid.

    Args:
        num_cells: latents in the grid.
        fraction: share of the grid per window, in [0, 1] (0: empty window).
        counter: frame counter (any int >= 0).
    """
    window = np.zeros(num_cells, dtype=bool)
    size = min(num_cells, math.ceil(fraction * num_cells)) if fraction > 0 else 0
    if size:
        start = (counter * size) % num_cells
        window[(start + np.arange(size)) % num_cells] = True
    return window


@dataclass(frozen=True)
class BranchUpdate:
    """The updates of one branch and what they leave behind.

    Args:
        symbols: positions (increasing) and new indices of the updated latents.
        stale_left: latents the decoder holds that stay stale (changed but not updated).
    """

    symbols: BranchSymbols
    stale_left: int


def select_updates(analysis: BranchAnalysis, row: int, reference: BranchState, k: int,
                   class_weights: torch.Tensor | None = None, *, refresh: np.ndarray | None = None,
                   codebook: torch.Tensor | None = None,
                   change_threshold: float = 0.0) -> BranchUpdate:
    """The update symbols of one branch of batch item ``row`` against ``reference``.

    Args:
        analysis: the branch's analysis (``Transmitter.analyse``).
        row: batch item.
        reference: state the decoder holds for the reference frame.
        k: budget of latents (>= 0); the refresh window may add to it when larger.
        class_weights: ``(C,)`` run-time class weights or None.
        refresh: bool ``(N,)`` rolling refresh window, or None.
        codebook: ``(K, D)`` codewords (for ``change_threshold``).
        change_threshold: see :class:`sqgan_ros.video.policy.VideoConfig`.

    Returns:
        The updated latents and the count of held latents left stale.
    """
    if analysis.grid != reference.grid:
        raise ValueError(f"analysis grid {analysis.grid} differs from the reference grid "
                         f"{reference.grid}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    current = analysis.indices[row].cpu().numpy().astype(np.int64)
    latents = None if analysis.latents is None else analysis.latents[row]
    stale = stale_latents(current, reference, codebook, change_threshold, latents)
    if refresh is None:
        forced = np.zeros_like(stale)
    else:
        exact = stale if change_threshold <= 0.0 else stale_latents(current, reference)
        forced = exact & refresh
    chosen = forced.copy()
    room = k - int(forced.sum())
    if room > 0:
        order = priority_order(analysis.scores[row], analysis.class_fractions[row],
                               None if class_weights is None
                               else class_weights.to(analysis.scores.device)).cpu().numpy()
        target = np.zeros_like(stale)
        target[order[:k]] = True
        wanted = stale & ~forced & (target | reference.known)
        candidates = order[wanted[order]]
        chosen[candidates[:room]] = True
    positions = np.flatnonzero(chosen)
    stale_left = int((stale & reference.known & ~chosen).sum())
    return BranchUpdate(BranchSymbols(analysis.grid, positions, current[positions]), stale_left)
