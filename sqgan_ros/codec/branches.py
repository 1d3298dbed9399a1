"""The two branches of SQ-GAN: encoder, SAMM scoring, quantizer, de-masker and decoder per branch.

    SemanticBranch: label map (one-hot) -> latents -> SAMM -> codebook -> de-masker -> logits
    ImageBranch:    image (ImageNet-normalised), conditioned on the labels -> ... -> image

:class:`sqgan_ros.codec.model.SQGAN` holds one of each; the transmitter and receiver use their
``analyse`` / ``synthesise_from_indices`` doors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.codec.blocks import fast_path
from sqgan_ros.codec.config import BranchConfig
from sqgan_ros.codec.decoders import Decoder
from sqgan_ros.codec.demasker import AdaptiveDemasker
from sqgan_ros.codec.encoders import Encoder
from sqgan_ros.codec.precision import full_precision
from sqgan_ros.codec.quantizer import EMAVectorQuantizer
from sqgan_ros.codec.samm import SAMM, keep_count, select_latents
from sqgan_ros.codec.spade import ConditionPyramid

__all__ = ["BranchOutput", "BranchAnalysis", "check_labels", "check_labels_match", "one_hot_labels", "Branch", "SemanticBranch",
           "ImageBranch"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


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


def check_labels_match(x: torch.Tensor, labels: torch.Tensor) -> None:
    """Raise unless the image batch and the label batch have the same batch size and H x W."""
    if labels.dim() != 3 or labels.shape[0] != x.shape[0] or labels.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"labels {tuple(labels.shape)} must be [B, H, W] matching the image "
                         f"{tuple(x.shape)}")


class Branch(nn.Module):
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


class SemanticBranch(Branch):
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


class ImageBranch(Branch):
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
        check_labels_match(x, labels)
        check_labels_match(x, decoder_labels)
        cond = ConditionPyramid(one_hot_labels(labels, self.num_classes))
        dec_cond = ConditionPyramid(one_hot_labels(decoder_labels, self.num_classes))
        out, *rest = self._run(x, cond, dec_cond, keep_ratio)
        return BranchOutput(self.denormalise(out), *rest, kind=self.kind)
