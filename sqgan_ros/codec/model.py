"""SQ-GAN: two masked-VQ branches (semantic map, image) and their transmitter / receiver split.

Pezone, Barbarossa, Caire, "SQ-GAN: Semantic Image Communications Using Masked Vector
Quantization", IEEE TCCN 2025. Three doors, as CompressAI models:

- ``SemanticBranch.forward`` / ``ImageBranch.forward``: training (all latents quantized, top-k
  mask applied before the de-masker, EMA codebook update, commitment loss).
- ``Transmitter.compress`` (= ``analyse`` then ``select``): label map + image -> FrameSymbols.
- ``Receiver.decompress``: FrameSymbols -> label map and image, using nothing else::

    transmitter                                   |  receiver
    labels --onehot--> Enc_s -> SAMM_s -> VQ_s ---+-> codes -> ADM_s -> Dec_s -> argmax s_hat
    image, labels ---> Enc_x -> SAMM_x -> VQ_x ---+-> codes -> ADM_x -> Dec_x(SPADE on s_hat) -> image
                   (keep top-k per branch, biased by run-time class weights)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols
from sqgan_ros.codec.branches import Branch, BranchAnalysis, BranchOutput, ImageBranch, SemanticBranch, check_labels, check_labels_match
from sqgan_ros.codec.config import ModelConfig
from sqgan_ros.codec.samm import keep_count, region_priority, select_latents
from sqgan_ros.codec.spade import ConditionPyramid

__all__ = ["KeepRatios", "FrameAnalysis", "SQGAN", "Transmitter", "Receiver", "BranchOutput", "BranchAnalysis"]


@dataclass(frozen=True)
class KeepRatios:
    """Fraction of latents each branch keeps, each in (0, 1]; k = max(1, round(r * N)).

    Args:
        semantic: keep ratio of the semantic-map branch.
        image: keep ratio of the image branch.
    """

    semantic: float
    image: float

    def __post_init__(self) -> None:
        for name in ("semantic", "image"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(f"keep ratio {name} must be a number, got {type(value).__name__}")
            keep_count(float(value), 1)  # validates the range
            object.__setattr__(self, name, float(value))

    @classmethod
    def both(cls, ratio: float) -> KeepRatios:
        """The same ratio for both branches."""
        return cls(ratio, ratio)


@dataclass(frozen=True)
class FrameAnalysis:
    """Per-branch analyses of a batch of frames.

    Args:
        semantic: the semantic branch's analysis.
        image: the image branch's analysis.
    """

    semantic: BranchAnalysis
    image: BranchAnalysis

    def latents_of(self, row: int) -> dict[str, torch.Tensor | None]:
        """Projected latents ``[N, D]`` of batch item ``row`` per branch (None where not kept)."""
        return {name: None if ana.latents is None else ana.latents[row]
                for name, ana in (("semantic", self.semantic), ("image", self.image))}


class SQGAN(nn.Module):
    """The whole model: ``.semantic`` and ``.image`` branches, ``.transmitter`` and ``.receiver``.

    Args:
        config: model configuration (see ``sqgan_ros.codec.config.PRESETS``).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.semantic = SemanticBranch(config.semantic, config.num_classes)
        self.image = ImageBranch(config.image, config.num_classes)

    @property
    def transmitter(self) -> Transmitter:
        """The sending half (shares this model's weights)."""
        return Transmitter(self)

    @property
    def receiver(self) -> Receiver:
        """The receiving half (shares this model's weights)."""
        return Receiver(self)


class Transmitter:
    """Label map + image -> kept positions and codebook indices per branch.

    Args:
        model: the SQGAN whose encoders, SAMMs and codebooks are used.
    """

    def __init__(self, model: SQGAN) -> None:
        self.model = model

    @torch.no_grad()
    def analyse(self, image: torch.Tensor, labels: torch.Tensor) -> FrameAnalysis:
        """Scores and indices of all latents of both branches (selection is a separate step).

        Args:
            image: ``[B, 3, H, W]`` in [0, 1].
            labels: LongTensor ``[B, H, W]`` in [0, 20).
        """
        branch = self.model.image
        x = branch.normalise(image)
        check_labels_match(x, labels)
        check_labels(labels, self.model.config.num_classes)
        cond = ConditionPyramid.from_labels(labels, self.model.config.num_classes)
        semantic = self.model.semantic.analyse_condition(cond)
        return FrameAnalysis(semantic, branch.analyse(x, cond))

    @staticmethod
    def select(analysis: FrameAnalysis, keep_ratios: KeepRatios,
               class_weights: torch.Tensor | None = None,
               region: tuple[float, float, float, float] | None = None,
               image_size: tuple[int, int] | None = None) -> list[FrameSymbols]:
        """Keep the top-k latents of each branch (biased by ``class_weights``) -> symbols.

        Args:
            analysis: output of ``analyse``.
            keep_ratios: per-branch keep ratios.
            class_weights: ``[20]`` run-time class weights (None: the paper's selection).
            region: ``(x, y, width, height)`` in model pixels whose latents (of both branches)
                are kept before any other, then those of a margin around it
                (``samm.region_priority``); None: no region.
            image_size: ``(H, W)`` the analysed frame had (needed with ``region``).
        """
        if region is not None and image_size is None:
            raise ValueError("a region needs the image size it is given in")
        if not isinstance(keep_ratios, KeepRatios):
            raise TypeError(f"keep_ratios must be KeepRatios, got {type(keep_ratios).__name__}")
        if class_weights is not None:
            class_weights = torch.as_tensor(class_weights, dtype=torch.float32)
            if not torch.all(torch.isfinite(class_weights)) or bool((class_weights < 0).any()):
                raise ValueError("class weights must be finite and >= 0")
        per_branch = []
        for ana, ratio in ((analysis.semantic, keep_ratios.semantic), (analysis.image, keep_ratios.image)):
            n = ana.scores.shape[1]
            cw = None if class_weights is None else class_weights.to(ana.scores.device)
            prio = None if region is None else region_priority(ana.grid, image_size, region)
            mask = select_latents(ana.scores, keep_count(ratio, n), ana.class_fractions, cw, prio).cpu()
            indices = ana.indices.cpu()
            per_branch.append([BranchSymbols(ana.grid, row.nonzero().flatten().numpy(),
                                             idx[row].numpy()) for row, idx in zip(mask, indices)])
        return [FrameSymbols(semantic=s, image=i) for s, i in zip(*per_branch)]

    def compress(self, image: torch.Tensor, labels: torch.Tensor, keep_ratios: KeepRatios,
                 class_weights: torch.Tensor | None = None) -> list[FrameSymbols]:
        """``analyse`` then ``select``: one FrameSymbols per batch item."""
        return self.select(self.analyse(image, labels), keep_ratios, class_weights)


class Receiver:
    """Kept positions + codebook indices -> decoded label map and image.

    Args:
        model: the SQGAN whose codebooks, de-maskers and decoders are used.
    """

    def __init__(self, model: SQGAN) -> None:
        self.model = model

    def _batch(self, symbols: list[BranchSymbols], branch: Branch) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        grid = symbols[0].grid
        if any(s.grid != grid for s in symbols):
            raise ValueError("all frames of a batch must share one latent grid")
        n = grid[0] * grid[1]
        device = next(branch.parameters()).device
        indices = torch.zeros(len(symbols), n, dtype=torch.int64)
        mask = torch.zeros(len(symbols), n, dtype=torch.bool)
        for row, s in enumerate(symbols):
            if s.k and int(s.indices.max()) >= branch.config.codebook_size:
                raise ValueError(f"codebook index out of range for a {branch.config.codebook_size}-entry codebook")
            positions = torch.from_numpy(np.array(s.positions))
            indices[row, positions] = torch.from_numpy(np.array(s.indices))
            mask[row, positions] = True
        return indices.to(device), mask.to(device), grid

    @torch.no_grad()
    def decompress(self, symbols: list[FrameSymbols]) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode a batch of frames sharing one grid.

        Returns:
            ``(image [B, 3, H, W] in [0, 1] clamped, labels LongTensor [B, H, W])``.
        """
        if not symbols or not all(isinstance(s, FrameSymbols) for s in symbols):
            raise TypeError("decompress needs a non-empty list of FrameSymbols")
        if symbols[0].semantic.grid != symbols[0].image.grid:
            raise ValueError("semantic and image grids differ")
        sem = self.model.semantic
        idx, mask, grid = self._batch([s.semantic for s in symbols], sem)
        labels = sem.labels_from_indices(idx, mask, grid)
        img = self.model.image
        idx, mask, grid = self._batch([s.image for s in symbols], img)
        cond = ConditionPyramid.from_labels(labels, self.model.config.num_classes)
        out = img.denormalise(img.synthesise_from_indices(idx, mask, grid, cond).float())
        return out.clamp(0.0, 1.0), labels
