"""Rate-distortion optimised choice of codebook indices (encoder side only).

The quantizer maps each kept latent ``z`` to its nearest codeword. Under entropy coding the
nearest codeword is not always the best choice: a codeword almost as close but much more probable
under the model's priors costs fewer bits for a change the decoder cannot see. As HEVC's RDOQ does
for transform coefficients, the encoder picks, for each kept latent::

    i* = argmin_i  ||z - e_i||^2  +  lambda * D0 * bits(i | context)

``bits`` is the information content of index ``i`` under the same tables the range coder uses
(the index context of the left/upper kept neighbour when the priors have contexts,
:mod:`sqgan_ros.bitstream.index_context`), ``D0`` the mean squared distance of the frame's kept
latents to their nearest codewords (so ``lambda`` is unit-free: 0.1 trades one bit for a tenth of
the typical quantization error), and the choice runs over the whole codebook. Contexts depend on
the neighbours' choices, so the choice runs in ``passes`` rounds, each under the contexts of the
previous round's indices (the first round's come from the nearest codewords).

Nothing changes for the decoder: the stream format, the priors and the model id are the same,
and a decoder cannot tell whether its encoder used this. What it saves in bytes is measured by
``python -m sqgan_ros.tools.bench --breakdown`` (its last two columns send the nearest codewords
instead; the committed run is docs/evaluation/bench/breakdown.json). Its effect on quality
(PSNR, LPIPS, decoded-map mIoU against nearest codewords) was measured once on 24 synthetic test
scenes without a committed artifact (the table is in this file's history, 86ed836): small at
every keep ratio, but no committed command reproduces it, so it is not quoted. Its CPU cost
grows with the number of kept latents (a full-codebook search per latent and pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sqgan_ros.bitstream.priors import EntropyPriors
from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols

BRANCH_NAMES: tuple[str, str] = ("semantic", "image")


@dataclass(frozen=True)
class IndexRDO:
    """Rate weights of the index choice per branch (0: nearest codeword, the paper's choice).

    Args:
        semantic: lambda of the semantic branch (its indices decide the decoded label map, so it
            is kept lower than the image branch's).
        image: lambda of the image branch.
        passes: rounds of the choice (each under the contexts of the previous round's indices).
    """

    semantic: float = 0.2
    image: float = 0.4
    passes: int = 2

    def __post_init__(self) -> None:
        for name in BRANCH_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"IndexRDO.{name} must be a finite number >= 0, got {value!r}")
        if isinstance(self.passes, bool) or not isinstance(self.passes, int) or self.passes < 1:
            raise ValueError(f"IndexRDO.passes must be an int >= 1, got {self.passes!r}")

    @property
    def enabled(self) -> bool:
        """Whether any branch trades distortion for rate."""
        return self.semantic > 0 or self.image > 0

    def weight(self, branch: str) -> float:
        """Lambda of ``branch`` ("semantic" or "image")."""
        if branch not in BRANCH_NAMES:
            raise ValueError(f"unknown branch {branch!r}")
        return float(getattr(self, branch))


#: The encoders' default: measured to cost no visible quality on the default model.
DEFAULT_INDEX_RDO = IndexRDO()
#: Nearest-codeword indices (what the quantizer picks; the paper's behaviour).
NEAREST_INDICES = IndexRDO(semantic=0.0, image=0.0)


class IndexChooser:
    """Re-chooses the indices of selected latents for one model's codebooks and priors.

    Args:
        codebooks: ``{"semantic": [K, D], "image": [K, D]}`` codewords of the model.
        priors: the model's entropy priors (the tables the range coder will use).
    """

    def __init__(self, codebooks: dict[str, torch.Tensor], priors: EntropyPriors) -> None:
        if set(codebooks) != set(BRANCH_NAMES):
            raise ValueError(f"need the codebooks of {BRANCH_NAMES}, got {sorted(codebooks)}")
        if not isinstance(priors, EntropyPriors):
            raise TypeError(f"priors must be EntropyPriors, got {type(priors).__name__}")
        self._codebooks = {name: book.detach().float() for name, book in codebooks.items()}
        self._norms = {name: book.pow(2).sum(1) for name, book in self._codebooks.items()}
        self._priors = {name: priors.branch(name) for name in BRANCH_NAMES}
        self._bits = {name: tables.context_index_bits.astype(np.float32)
                      for name, tables in self._priors.items()}
        for name in BRANCH_NAMES:
            if self._bits[name].shape[1] != self._codebooks[name].shape[0]:
                raise ValueError(f"{name}: priors and codebook disagree on the codebook size")

    def refine(self, symbols: FrameSymbols, latents: dict[str, torch.Tensor | None],
               rdo: IndexRDO) -> FrameSymbols:
        """The same kept positions with rate-distortion chosen indices.

        Args:
            symbols: the frame's selected latents (nearest-codeword indices).
            latents: per branch, the projected latents ``[N, D]`` of this frame (``None``: the
                branch is left as it is).
            rdo: the rate weights.
        """
        if not rdo.enabled:
            return symbols
        branches = {}
        for name in BRANCH_NAMES:
            branch, z = symbols.branch(name), latents.get(name)
            lam = rdo.weight(name)
            branches[name] = branch if z is None or lam == 0 or not branch.k else \
                self._refine_branch(name, branch, z, lam, rdo)
        return FrameSymbols(**branches)

    def _refine_branch(self, name: str, branch: BranchSymbols, latents: torch.Tensor, lam: float,
                       rdo: IndexRDO) -> BranchSymbols:
        book, tables, bits = self._codebooks[name], self._priors[name], self._bits[name]
        n = branch.grid[0] * branch.grid[1]
        if latents.dim() != 2 or latents.shape[0] != n or latents.shape[1] != book.shape[1]:
            raise ValueError(f"{name}: expected latents [{n}, {book.shape[1]}], got "
                             f"{tuple(latents.shape)}")
        with torch.inference_mode():
            z = latents.detach().to(book.device, torch.float32)[torch.tensor(branch.positions,
                                                                             dtype=torch.long)]
            distance = (z.pow(2).sum(1, keepdim=True) - 2.0 * z @ book.t()
                        + self._norms[name][None, :]).clamp_min_(0.0).cpu().numpy()
        rows = np.arange(branch.k)
        indices = distance.argmin(axis=1)  # numpy: its row argmin is ~10x faster than torch's on CPU
        scale = float(distance[rows, indices].astype(np.float64).mean())
        if not scale > 0.0:  # every latent sits on a codeword: nothing to trade
            return branch
        weight = np.float32(lam * scale)
        for _ in range(rdo.passes):
            contexts = tables.index_contexts_of(branch.grid, branch.positions, indices)
            indices = (bits[contexts] * weight + distance).argmin(axis=1)
        return BranchSymbols(branch.grid, branch.positions, indices.astype(np.int64))


def model_codebooks(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``{"semantic": [K, D], "image": [K, D]}`` codewords of an SQGAN."""
    return {name: getattr(model, name).quantizer.embedding.detach() for name in BRANCH_NAMES}


__all__ = ["DEFAULT_INDEX_RDO", "IndexChooser", "IndexRDO", "NEAREST_INDICES", "model_codebooks"]
