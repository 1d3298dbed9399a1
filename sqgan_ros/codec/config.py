"""Typed configuration of the SQ-GAN codec: branch and model configs, and the preset table.

Presets (``PRESETS``, ``get_config(name)``):

- ``paper``: the published model (Pezone et al., IEEE TCCN 2025): 256x512, f16, VQ-GAN channel
  multipliers 1,1,2,2,4 on base 128, 1024x256 codebooks, attention at 16x32 in the decoder,
  8 de-masker layers; ~186 M parameters in all. For GPU training.
- ``small``: real time on a 2-core CPU at 256x512 (pixel-unshuffle(4) stem, pixel-shuffle head,
  SPADE at /4 resolution, 1024 x 64 codebooks, 10-bit indices as in the paper).
- ``tiny``: a few thousand parameters, for unit tests.

Configs are frozen dataclasses; ``to_dict`` / ``from_dict`` round-trip them through JSON-safe
dicts, and unknown or missing keys are an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqgan_ros.labels import NUM_CLASSES


@dataclass(frozen=True)
class BranchConfig:
    """Architecture of one branch (encoder, SAMM, quantizer, de-masker, decoder).

    Args:
        channels: feature channels per encoder level (the decoder mirrors them). Every level but
            the last halves the resolution, so the branch downsamples by
            ``stem_factor * 2 ** (len(channels) - 1)``.
        num_res_blocks: residual blocks per encoder level.
        decoder_res_blocks: residual blocks per decoder level (VQ-GAN: num_res_blocks + 1).
        narrow_upsample: the decoder's upsampling conv already narrows to the next level's width
            (cheaper at the finer resolution); False keeps the width as VQ-GAN does.
        stem_factor: pixel-unshuffle factor of the stem (1: a plain 3x3 conv at full resolution).
            The decoder ends with the mirrored pixel-shuffle head.
        patch_kernel: kernel of the stem conv and of the output conv (3 as VQ-GAN; 1 makes a
            pixel-unshuffle stem a cheap patch embedding, useful for the 20-channel label input).
        latent_channels: channels of the encoder output (SAMM input).
        codebook_size: number of codebook entries (1024 -> 10-bit indices).
        codebook_dim: dimension of a codebook vector (also the de-masker width).
        encoder_attention: self-attention in the encoder's middle block.
        decoder_attention: self-attention in the decoder's middle block and lowest level.
        demasker_layers: self-attention layers of the adaptive de-masker.
        demasker_heads: attention heads of the de-masker (must divide ``codebook_dim``).
        demasker_ffn_mult: feed-forward width multiplier of the de-masker.
        score_hidden: hidden channels of SAMM's score predictor.
        spade_hidden: hidden channels of each SPADE modulation network (decoder, score predictor).
        spade_kernel: kernel size of the SPADE modulation convs (3 as SPADE, 1 is cheaper).
        semantic_pe_hidden: hidden channels of the semantic positional encoding added to the
            encoder stem (image branch; 0 disables it).
        decoder_spade: decoder residual blocks use SPADE group norm on the (decoded) label map
            (image branch) instead of plain group norm (semantic branch).
        ema_decay: decay of the EMA codebook update.
        commitment_beta: weight of the commitment loss.
        head: the decoder's last stage, ``pixel_shuffle`` or ``upsample_conv``
            (``sqgan_ros.codec.decoders`` explains both; model files without the key are
            ``pixel_shuffle``).
    """

    channels: tuple[int, ...]
    num_res_blocks: int
    decoder_res_blocks: int
    narrow_upsample: bool
    stem_factor: int
    patch_kernel: int
    latent_channels: int
    codebook_size: int
    codebook_dim: int
    encoder_attention: bool
    decoder_attention: bool
    demasker_layers: int
    demasker_heads: int
    demasker_ffn_mult: int
    score_hidden: int
    spade_hidden: int
    spade_kernel: int
    semantic_pe_hidden: int
    decoder_spade: bool
    ema_decay: float = 0.99
    commitment_beta: float = 0.25
    head: str = "pixel_shuffle"

    def __post_init__(self) -> None:
        if len(self.channels) < 1 or any(int(c) < 1 for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive ints, got {self.channels}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        for name in ("num_res_blocks", "decoder_res_blocks", "stem_factor", "latent_channels", "codebook_size",
                     "codebook_dim", "demasker_heads", "demasker_ffn_mult", "score_hidden",
                     "spade_hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.demasker_layers < 0 or self.semantic_pe_hidden < 0:
            raise ValueError("demasker_layers and semantic_pe_hidden must be >= 0")
        if self.codebook_dim % 4:
            raise ValueError(f"codebook_dim must be a multiple of 4 (2-D sinusoidal positions), "
                             f"got {self.codebook_dim}")
        if self.codebook_dim % self.demasker_heads:
            raise ValueError(f"demasker_heads ({self.demasker_heads}) must divide codebook_dim "
                             f"({self.codebook_dim})")
        if self.patch_kernel not in (1, 3):
            raise ValueError(f"patch_kernel must be 1 or 3, got {self.patch_kernel}")
        if self.spade_kernel not in (1, 3):
            raise ValueError(f"spade_kernel must be 1 or 3, got {self.spade_kernel}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.commitment_beta < 0.0:
            raise ValueError(f"commitment_beta must be >= 0, got {self.commitment_beta}")
        if self.head not in ("pixel_shuffle", "upsample_conv"):
            raise ValueError(f"head must be pixel_shuffle or upsample_conv, got {self.head!r}")

    @property
    def downsampling(self) -> int:
        """Total downsampling factor from pixels to the latent grid."""
        return self.stem_factor * 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class ModelConfig:
    """A whole SQ-GAN model: both branches plus the default image size.

    Args:
        name: preset name (informational; stored in model files).
        image_size: (H, W) the model runs at by default (the API resizes camera images to it).
        semantic: the semantic (label map) branch.
        image: the image branch.
        num_classes: classes of the label map (20: Cityscapes-19 + unlabelled).
    """

    name: str
    image_size: tuple[int, int]
    semantic: BranchConfig
    image: BranchConfig
    num_classes: int = NUM_CLASSES

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(int(s) for s in self.image_size))
        if self.num_classes != NUM_CLASSES:
            raise ValueError(f"num_classes must be {NUM_CLASSES} (sqgan_ros.labels), got {self.num_classes}")
        if self.semantic.downsampling != self.image.downsampling:
            raise ValueError("both branches must share one downsampling factor (same latent grid)")
        self.check_input_size(*self.image_size)

    @property
    def downsampling(self) -> int:
        """Pixels per latent side (16 for f16)."""
        return self.image.downsampling

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """Latent grid (h, w) for an input of ``height`` x ``width`` (validated)."""
        self.check_input_size(height, width)
        return height // self.downsampling, width // self.downsampling

    def check_input_size(self, height: int, width: int) -> None:
        """Raise ValueError unless both sides are positive multiples of the downsampling factor."""
        f = self.downsampling
        if height < f or width < f or height % f or width % f:
            raise ValueError(f"input size {height}x{width} must be a positive multiple of the "
                             f"downsampling factor {f} on both sides")


def to_dict(config: ModelConfig) -> dict[str, Any]:
    """JSON-safe dict of a ModelConfig (tuples become lists)."""
    def conv(value: Any) -> Any:
        if isinstance(value, tuple):
            return [conv(v) for v in value]
        return value
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, BranchConfig):
            # head is written only when it is not the original pixel_shuffle, so the configs (and
            # model ids) of model files made before the key existed stay the same.
            out[f.name] = {bf.name: conv(getattr(value, bf.name)) for bf in dataclasses.fields(value)
                           if not (bf.name == "head" and value.head == "pixel_shuffle")}
        else:
            out[f.name] = conv(value)
    return out


def _require(cls: type, data: Any, where: str) -> None:
    """Every field of ``cls`` without a default must be in ``data`` (a model file states them all)."""
    if not isinstance(data, dict):
        raise TypeError(f"{where} must be a dict, got {type(data).__name__}")
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = required - set(data)
    if missing:
        raise ValueError(f"missing keys in {where}: {sorted(missing)}")


def from_dict(data: dict[str, Any]) -> ModelConfig:
    """Inverse of ``to_dict``, through the one strict config loader (``sqgan_ros.typed_config``).

    Unknown keys, values of the wrong type and missing keys raise ValueError (ConfigError is one).
    """
    from sqgan_ros.typed_config import from_dict as typed_from_dict

    _require(ModelConfig, data, "model config")
    for branch in ("semantic", "image"):
        _require(BranchConfig, data[branch], f"{branch} branch config")
    return typed_from_dict(ModelConfig, data, "model config")


_PAPER_COMMON: dict[str, Any] = dict(
    channels=(128, 128, 256, 256, 512), num_res_blocks=2, decoder_res_blocks=3, narrow_upsample=False,
    stem_factor=1,
    patch_kernel=3, latent_channels=256, codebook_size=1024, codebook_dim=256,
    encoder_attention=True, decoder_attention=True, demasker_layers=8, demasker_heads=8,
    demasker_ffn_mult=4, score_hidden=256, spade_kernel=3,
)

PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(
        name="paper", image_size=(256, 512),
        semantic=BranchConfig(**_PAPER_COMMON, spade_hidden=128, semantic_pe_hidden=0,
                              decoder_spade=False),
        image=BranchConfig(**_PAPER_COMMON, spade_hidden=128, semantic_pe_hidden=128,
                           decoder_spade=True),
    ),
    # Real time on 2 CPU cores at 256x512: nothing runs at full resolution (pixel-unshuffle(4)
    # stem, pixel-shuffle head), SPADE and the semantic PE work at /4 with 1x1 modulation convs,
    # the upsampling convs narrow to the finer level's width, the label branch is narrower
    # (32/64/96, 1x1 patch embedding of its 320 unshuffled channels) than the image branch
    # (64/96/160). FLOPs at 256x512: encoders 0.7 + 2.1 GMAC, decoders 0.9 + 3.2 GMAC,
    # de-maskers 0.3 GMAC. 1024-entry codebooks (10-bit indices as the paper), dims 64 / 128.
    "small": ModelConfig(
        name="small", image_size=(256, 512),
        semantic=BranchConfig(channels=(32, 64, 96), num_res_blocks=1, decoder_res_blocks=1, narrow_upsample=True,
                              stem_factor=4, patch_kernel=1, latent_channels=96,
                              codebook_size=1024, codebook_dim=64, encoder_attention=False,
                              decoder_attention=False, demasker_layers=2, demasker_heads=4,
                              demasker_ffn_mult=2, score_hidden=32, spade_hidden=32,
                              spade_kernel=1, semantic_pe_hidden=0, decoder_spade=False),
        image=BranchConfig(channels=(64, 96, 160), num_res_blocks=1, decoder_res_blocks=1, narrow_upsample=True,
                           stem_factor=4, patch_kernel=3, latent_channels=160,
                           codebook_size=1024, codebook_dim=128, encoder_attention=False,
                           decoder_attention=True, demasker_layers=4, demasker_heads=4,
                           demasker_ffn_mult=2, score_hidden=64, spade_hidden=32,
                           spade_kernel=1, semantic_pe_hidden=32, decoder_spade=True),
    ),
    "tiny": ModelConfig(
        name="tiny", image_size=(32, 64),
        semantic=BranchConfig(channels=(4, 4, 4), num_res_blocks=1, decoder_res_blocks=1, narrow_upsample=True,
                              stem_factor=2, patch_kernel=1, latent_channels=4, codebook_size=16,
                              codebook_dim=8, encoder_attention=False, decoder_attention=False,
                              demasker_layers=1, demasker_heads=2, demasker_ffn_mult=1,
                              score_hidden=4, spade_hidden=4, spade_kernel=1,
                              semantic_pe_hidden=0, decoder_spade=False),
        image=BranchConfig(channels=(4, 4, 4), num_res_blocks=1, decoder_res_blocks=1, narrow_upsample=True,
                           stem_factor=2, patch_kernel=3, latent_channels=4, codebook_size=16,
                           codebook_dim=8, encoder_attention=False, decoder_attention=True,
                           demasker_layers=1, demasker_heads=2, demasker_ffn_mult=1,
                           score_hidden=4, spade_hidden=4, spade_kernel=1,
                           semantic_pe_hidden=4, decoder_spade=True),
    ),
}


# ``small`` with the upsample + conv head on both branches: the same weights everywhere else, so
# ``sqgan-train --init`` starts it from a ``small`` model (only the heads start anew).
PRESETS["small_v2"] = ModelConfig(
    name="small_v2", image_size=PRESETS["small"].image_size,
    semantic=dataclasses.replace(PRESETS["small"].semantic, head="upsample_conv"),
    image=dataclasses.replace(PRESETS["small"].image, head="upsample_conv"),
)


def get_config(name: str) -> ModelConfig:
    """Return the preset ``name`` (``paper``, ``small`` or ``tiny``); unknown names raise ValueError."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
