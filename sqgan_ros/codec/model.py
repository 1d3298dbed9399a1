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
import torch.nn.functional as F
from torch import nn

from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols
from sqgan_ros.codec.blocks import fast_path
from sqgan_ros.codec.config import BranchConfig, ModelConfig
from sqgan_ros.codec.decoders import Decoder
from sqgan_ros.codec.demasker import AdaptiveDemasker
from sqgan_ros.codec.encoders import Encoder
from sqgan_ros.codec.precision import full_precision
from sqgan_ros.codec.quantizer import EMAVectorQuantizer
from sqgan_ros.codec.samm import SAMM, keep_count, select_latents
from sqgan_ros.codec.spade import ConditionPyramid

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


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
class BranchOutput:
    """Training/eval output of one branch.

    Args:
        output: the decoded tensor: logits ``[B, 20, H, W]`` (semantic) or image
            ``[B, 3, H, W]`` in [0, 1] scale, not clamped (image). Also as ``.logits`` / ``.image``.
        codebook_loss: scalar commitment loss over the kept latents.
        keep_mask: bool ``[B, N]``, the latents SAMM kept.
        scores: SAMM scores ``[B, N]`` (differentiable).
        indices: codebook indices ``[B, N]`` of all latents (only kept ones are sent).
        perplexity: scalar codebook perplexity over the kept latents.
        kind: ``"semantic"`` or ``"image"``.
    """

    output: torch.Tensor
    codebook_loss: torch.Tensor
    keep_mask: torch.Tensor
    scores: torch.Tensor
    indices: torch.Tensor
    perplexity: torch.Tensor
    kind: str

    @property
    def logits(self) -> torch.Tensor:
        """Semantic logits ``[B, 20, H, W]`` (semantic branch only)."""
        if self.kind != "semantic":
            raise AttributeError("an image-branch output has .image, not .logits")
        return self.output

    @property
    def image(self) -> torch.Tensor:
        """Decoded image ``[B, 3, H, W]`` (image branch only)."""
        if self.kind != "image":
            raise AttributeError("a semantic-branch output has .logits, not .image")
        return self.output


@dataclass(frozen=True)
class BranchAnalysis:
    """Everything the transmitter knows about one branch before selecting latents.

    Args:
        scores: raw SAMM scores ``[B, N]``.
        indices: codebook index of every latent ``[B, N]`` (int64).
        class_fractions: fraction of each class's pixels under each latent ``[B, 20, N]``.
        grid: latent grid (h, w).
        latents: the projected latents before quantization ``[B, N, D]`` (float32), or None;
            INTER frames use them to tell a real change from a latent that merely crossed a
            codebook cell boundary.
    """

    scores: torch.Tensor
    indices: torch.Tensor
    class_fractions: torch.Tensor
    grid: tuple[int, int]
    latents: torch.Tensor | None = None


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


def check_labels(labels: torch.Tensor, num_classes: int) -> None:
    """Raise unless ``labels`` is an integer ``[B, H, W]`` tensor with values in [0, num_classes).

    Raises:
        ValueError: wrong shape or values out of range.
        TypeError: not an integer tensor.
    """
    if labels.dim() != 3:
        raise ValueError(f"labels must be [B, H, W], got shape {tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got {labels.dtype}")
    if labels.numel():
        low, high = torch.aminmax(labels)
        if int(low) < 0 or int(high) >= num_classes:
            raise ValueError(f"label values must be in [0, {num_classes})")


def one_hot_labels(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Float one-hot ``[B, C, H, W]`` of ``labels [B, H, W]``; values must be in [0, C)."""
    check_labels(labels, num_classes)
    return F.one_hot(labels.long(), num_classes).permute(0, 3, 1, 2).float()


class _Branch(nn.Module):
    """Encoder, SAMM, quantizer, de-masker and decoder of one branch."""

    kind = ""

    def __init__(self, config: BranchConfig, in_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        self.encoder = Encoder(config, in_channels, num_classes)
        self.samm = SAMM(config.latent_channels, config.codebook_dim, config.score_hidden, num_classes,
                         config.spade_hidden, config.spade_kernel)
        self.quantizer = EMAVectorQuantizer(config.codebook_size, config.codebook_dim,
                                            decay=config.ema_decay, beta=config.commitment_beta)
        self.demasker = AdaptiveDemasker(config.codebook_dim, config.demasker_layers,
                                         config.demasker_heads, config.demasker_ffn_mult)
        self.decoder = Decoder(config, out_channels, num_classes)

    @property
    def last_layer_weight(self) -> torch.Tensor:
        """Weight of the decoder's last conv (VQ-GAN's adaptive GAN weight)."""
        return self.decoder.conv_out.weight

    def _grid(self, height: int, width: int) -> tuple[int, int]:
        f = self.config.downsampling
        if height < f or width < f or height % f or width % f:
            raise ValueError(f"input size {height}x{width} must be a positive multiple of the "
                             f"downsampling factor {f} on both sides")
        return height // f, width // f

    def _encode(self, x: torch.Tensor, cond: ConditionPyramid) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Scores ``[B, N]`` and projected latents ``[B, N, D]`` for every position."""
        grid = self._grid(x.shape[-2], x.shape[-1])
        return self._score_and_project(self.encoder(x, cond), cond, grid)

    def _score_and_project(self, h: torch.Tensor, cond: ConditionPyramid,
                           grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        with full_precision(h):  # selection and codebook search never see reduced precision
            h = h.float()
            scores = self.samm.score(h, cond)
            return scores, self.samm.project(h, scores), grid

    def _tokens(self, codes: torch.Tensor, keep_mask: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """De-masked codes as a decoder input ``[B, D, h, w]``."""
        filled = self.demasker(codes, keep_mask, grid)
        return filled.transpose(1, 2).reshape(filled.shape[0], -1, grid[0], grid[1])

    def _synthesise(self, codes: torch.Tensor, keep_mask: torch.Tensor, grid: tuple[int, int],
                    cond: ConditionPyramid | None) -> torch.Tensor:
        return self.decoder(self._tokens(codes, keep_mask, grid), cond)

    def _codes(self, indices: torch.Tensor, keep_mask: torch.Tensor) -> torch.Tensor:
        return self.quantizer.decode_indices(torch.where(keep_mask, indices, torch.zeros_like(indices)))

    def _run(self, x: torch.Tensor, cond: ConditionPyramid, dec_cond: ConditionPyramid | None,
             keep_ratio: float) -> tuple[torch.Tensor, ...]:
        scores, z, grid = self._encode(x, cond)
        b, n, d = z.shape
        keep = select_latents(scores, keep_count(keep_ratio, n))
        quant = self.quantizer(z.reshape(b * n, d), update_mask=keep.reshape(-1))
        out = self._synthesise(quant.quantized.reshape(b, n, d), keep, grid, dec_cond)
        return out, quant.commitment_loss, keep, scores, quant.indices.reshape(b, n), quant.perplexity

    def analyse(self, x: torch.Tensor, cond: ConditionPyramid) -> BranchAnalysis:
        """Scores and codebook indices of all latents (no selection, no EMA update)."""
        return self._analysis(*self._encode(x, cond), cond)

    def _analysis(self, scores: torch.Tensor, z: torch.Tensor, grid: tuple[int, int],
                  cond: ConditionPyramid) -> BranchAnalysis:
        b, n, d = z.shape
        indices = self.quantizer.nearest(z.reshape(b * n, d)).reshape(b, n)
        fractions = cond.at(grid).flatten(2)
        return BranchAnalysis(scores, indices, fractions, grid, z)

    def synthesise_from_indices(self, indices: torch.Tensor, keep_mask: torch.Tensor,
                                grid: tuple[int, int], cond: ConditionPyramid | None = None) -> torch.Tensor:
        """Decode from codebook ``indices [B, N]`` (ignored where ``keep_mask`` is False)."""
        return self._synthesise(self._codes(indices, keep_mask), keep_mask, grid, cond)


class SemanticBranch(_Branch):
    """G_s: compresses the one-hot semantic map; decodes 20 logits per pixel.

    Args:
        config: branch architecture.
        num_classes: label classes (20).
    """

    kind = "semantic"

    def __init__(self, config: BranchConfig, num_classes: int) -> None:
        super().__init__(config, num_classes, num_classes, num_classes)

    def forward(self, labels: torch.Tensor, keep_ratio: float) -> BranchOutput:
        """Training/eval pass. Args: labels LongTensor ``[B, H, W]``; keep_ratio in (0, 1]."""
        onehot = one_hot_labels(labels, self.num_classes)
        out = self._run(onehot, ConditionPyramid(onehot), None, keep_ratio)
        return BranchOutput(*out, kind=self.kind)

    def analyse_condition(self, cond: ConditionPyramid) -> BranchAnalysis:
        """``analyse(cond.base, cond)``; at inference the one-hot map is never built.

        Args:
            cond: the label condition (``ConditionPyramid.from_labels`` for the fast path).
        """
        grid = self._grid(cond.shape[-2], cond.shape[-1])
        return self._analysis(*self._score_and_project(self.encoder.encode_labels(cond), cond, grid), cond)

    def labels_from_indices(self, indices: torch.Tensor, keep_mask: torch.Tensor,
                            grid: tuple[int, int]) -> torch.Tensor:
        """``synthesise_from_indices(...).argmax(1)``: decoded labels LongTensor ``[B, H, W]``.

        At inference the argmax runs before the pixel-shuffle head (same values, no full-size
        logits tensor reduced across its strided channel axis).
        """
        codes = self._codes(indices, keep_mask)
        if not fast_path() or not self.decoder.shuffled:
            return self._synthesise(codes, keep_mask, grid, None).argmax(dim=1)
        out = self.decoder.forward_unshuffled(self._tokens(codes, keep_mask, grid))
        b, _, h, w = out.shape
        f = self.config.stem_factor
        best = out.view(b, self.num_classes, f * f, h, w).max(dim=1).indices  # [B, f*f, h, w]
        return F.pixel_shuffle(best, f).squeeze(1) if f > 1 else best.squeeze(1)


class ImageBranch(_Branch):
    """G_x: compresses the image conditioned on the label map; SPADE decoder on s_hat.

    Args:
        config: branch architecture.
        num_classes: label classes (20).
    """

    kind = "image"

    def __init__(self, config: BranchConfig, num_classes: int) -> None:
        super().__init__(config, 3, 3, num_classes)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` in [0, 1] -> ImageNet-normalised."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be [B, 3, H, W], got shape {tuple(image.shape)}")
        if not image.dtype.is_floating_point:
            raise TypeError(f"image must be a float tensor in [0, 1], got {image.dtype}")
        return (image - self.mean) / self.std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of ``normalise``."""
        return x * self.std + self.mean

    def forward(self, image: torch.Tensor, labels: torch.Tensor, decoder_labels: torch.Tensor,
                keep_ratio: float) -> BranchOutput:
        """Training/eval pass.

        Args:
            image: ``[B, 3, H, W]`` in [0, 1].
            labels: LongTensor ``[B, H, W]``, condition of the encoder and SAMM.
            decoder_labels: LongTensor ``[B, H, W]``, SPADE condition of the decoder (ground truth
                in stage 2, decoded s_hat in stage 3 and at the receiver).
            keep_ratio: fraction of latents kept, in (0, 1].
        """
        x = self.normalise(image)
        _check_labels_match(x, labels)
        _check_labels_match(x, decoder_labels)
        cond = ConditionPyramid(one_hot_labels(labels, self.num_classes))
        dec_cond = ConditionPyramid(one_hot_labels(decoder_labels, self.num_classes))
        out, *rest = self._run(x, cond, dec_cond, keep_ratio)
        return BranchOutput(self.denormalise(out), *rest, kind=self.kind)


def _check_labels_match(x: torch.Tensor, labels: torch.Tensor) -> None:
    if labels.dim() != 3 or labels.shape[0] != x.shape[0] or labels.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"labels {tuple(labels.shape)} must be [B, H, W] matching the image "
                         f"{tuple(x.shape)}")


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
        _check_labels_match(x, labels)
        check_labels(labels, self.model.config.num_classes)
        cond = ConditionPyramid.from_labels(labels, self.model.config.num_classes)
        semantic = self.model.semantic.analyse_condition(cond)
        return FrameAnalysis(semantic, branch.analyse(x, cond))

    @staticmethod
    def select(analysis: FrameAnalysis, keep_ratios: KeepRatios,
               class_weights: torch.Tensor | None = None) -> list[FrameSymbols]:
        """Keep the top-k latents of each branch (biased by ``class_weights``) -> symbols.

        Args:
            analysis: output of ``analyse``.
            keep_ratios: per-branch keep ratios.
            class_weights: ``[20]`` run-time class weights (None: the paper's selection).
        """
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
            mask = select_latents(ana.scores, keep_count(ratio, n), ana.class_fractions, cw).cpu()
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

    def _batch(self, symbols: list[BranchSymbols], branch: _Branch) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
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
