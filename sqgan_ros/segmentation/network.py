"""The bundled real-time segmentation network (``SegNet``).

A compact encoder-decoder sized for a 2-core CPU at 256x512 (see ``README.md`` for timings)::

    RGB [B,3,H,W] in [0,1] -> ImageNet-normalise
      -> pixel-unshuffle(4) -> 1x1 conv               /4   c0
      -> n0 DS-residual blocks                         /4   c0 ----------- lateral 1x1 -> d --+
      -> down (3x3 dw s2 + 1x1) -> n1 DS blocks        /8   c1 ----------- lateral 1x1 -> d -+|
      -> down -> n2 DS blocks (dilations 1,2,4,..)     /16  c2 + global-pool context -> d -+ ||
                                                                top-down: upsample + add --+-+
      -> head (DS block at /4 on d channels, 1x1 -> 20 logits) -> bilinear x4 -> [B,20,H,W]

A DS-residual block is ``x + BN(1x1(ReLU(BN(dw3x3(x)))))`` followed by ReLU: depthwise 3x3 for
space, pointwise 1x1 for channels, so pixels are touched cheaply. The pixel-unshuffle stem keeps
full-resolution work to a reshape, which is what makes 256x512 affordable on a CPU.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from sqgan_ros.labels import NUM_CLASSES

__all__ = ["SegNetConfig", "SegNet"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class SegNetConfig:
    """Architecture and input size of :class:`SegNet`.

    Args:
        input_size: ``(H, W)`` the network runs at; frames are resized to it. Multiples of 16.
        channels: encoder widths at /4, /8, /16.
        blocks: number of DS-residual blocks at /4, /8, /16.
        decoder_channels: width of the FPN decoder and head.
        num_classes: output classes (must be ``sqgan_ros.labels.NUM_CLASSES``).
    """

    input_size: tuple[int, int] = (256, 512)
    channels: tuple[int, int, int] = (32, 64, 128)
    blocks: tuple[int, int, int] = (2, 3, 6)
    decoder_channels: int = 64
    num_classes: int = NUM_CLASSES

    def __post_init__(self) -> None:
        size = tuple(int(v) for v in self.input_size)
        if len(size) != 2 or any(v < 16 or v % 16 for v in size):
            raise ValueError(f"input_size must be two multiples of 16, got {self.input_size}")
        for field_name in ("channels", "blocks"):
            value = tuple(int(v) for v in getattr(self, field_name))
            if len(value) != 3 or any(v < (1 if field_name == "channels" else 0) for v in value):
                raise ValueError(f"{field_name} must be three non-negative ints, got {value}")
            object.__setattr__(self, field_name, value)
        object.__setattr__(self, "input_size", size)
        if self.decoder_channels < 1:
            raise ValueError(f"decoder_channels must be >= 1, got {self.decoder_channels}")
        if self.num_classes != NUM_CLASSES:
            raise ValueError(f"num_classes must be {NUM_CLASSES} (sqgan_ros.labels), got {self.num_classes}")

    def to_dict(self) -> dict:
        """JSON-friendly dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> SegNetConfig:
        """Parse :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        if not isinstance(data, dict):
            raise TypeError(f"config must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown SegNetConfig keys: {unknown}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)


def _conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
             dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class DSBlock(nn.Module):
    """Depthwise-separable residual block: ``ReLU(x + BN(1x1(ReLU(BN(dw3x3(x))))))``.

    Args:
        channels: input = output channels.
        dilation: dilation of the depthwise 3x3 (wider context at no extra cost).
    """

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.dw = _conv_bn(channels, channels, 3, groups=channels, dilation=dilation)
        self.pw = _conv_bn(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.pw(F.relu(self.dw(x))))


class Down(nn.Module):
    """Halve the resolution: strided depthwise 3x3, then 1x1 to the new width."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.dw = _conv_bn(cin, cin, 3, stride=2, groups=cin)
        self.pw = _conv_bn(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.pw(F.relu(self.dw(x))))


class SegNet(nn.Module):
    """Bundled real-time segmenter network; see the module docstring for the data flow.

    Args:
        config: architecture; defaults to :class:`SegNetConfig`.
    """

    def __init__(self, config: SegNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or SegNetConfig()
        c0, c1, c2 = self.config.channels
        n0, n1, n2 = self.config.blocks
        d = self.config.decoder_channels
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Sequential(_conv_bn(3 * 16, c0, 1), nn.ReLU(inplace=True))
        self.stage0 = nn.Sequential(*[DSBlock(c0) for _ in range(n0)])
        self.down1 = Down(c0, c1)
        self.stage1 = nn.Sequential(*[DSBlock(c1) for _ in range(n1)])
        self.down2 = Down(c1, c2)
        self.stage2 = nn.Sequential(*[DSBlock(c2, dilation=2 ** (i % 3)) for i in range(n2)])
        self.context = _conv_bn(c2, d, 1)
        self.lat2 = _conv_bn(c2, d, 1)
        self.lat1 = _conv_bn(c1, d, 1)
        self.lat0 = _conv_bn(c0, d, 1)
        self.head = DSBlock(d)
        self.classifier = nn.Conv2d(d, self.config.num_classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits for a batch.

        Args:
            images: ``float32 [B, 3, H, W]`` RGB in ``[0, 1]``, ``H`` and ``W`` multiples of 16.

        Returns:
            ``[B, 20, H, W]`` logits.
        """
        h, w = images.shape[-2:]
        x = (images - self.mean) / self.std
        x0 = self.stage0(self.stem(F.pixel_unshuffle(x, 4)))
        x1 = self.stage1(self.down1(x0))
        x2 = self.stage2(self.down2(x1))
        ctx = F.relu(self.context(x2.mean(dim=(2, 3), keepdim=True)))
        y = F.relu(self.lat2(x2) + ctx)
        y = F.interpolate(y, size=x1.shape[-2:], mode="bilinear", align_corners=False)
        y = F.relu(y + self.lat1(x1))
        y = F.interpolate(y, size=x0.shape[-2:], mode="bilinear", align_corners=False)
        y = F.relu(y + self.lat0(x0))
        logits = self.classifier(self.head(y))
        return F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)

    def predict(self, images: torch.Tensor, min_confidence: float = 0.0) -> torch.Tensor:
        """Label map ``LongTensor [B, H, W]`` for ``images`` (same contract as :meth:`forward`).

        Pixels whose top softmax probability is below ``min_confidence`` are ``unlabelled``
        (:func:`sqgan_ros.segmentation.base.confident_labels`; ``max(1)``, not the 7x slower
        ``argmax(1)`` over channels).
        """
        from sqgan_ros.segmentation.base import confident_labels

        return confident_labels(self.forward(images), min_confidence)

    def fused(self) -> SegNet:
        """An inference copy with every BatchNorm folded into the conv before it (eval only).

        The copy computes the same function as ``self.eval()`` up to float rounding, with one
        memory pass fewer per layer; its state dict differs, so save the unfused network.
        """
        net = copy.deepcopy(self).eval()
        for module in net.modules():
            if isinstance(module, nn.Sequential) and len(module) == 2 \
                    and isinstance(module[0], nn.Conv2d) and isinstance(module[1], nn.BatchNorm2d):
                conv, bn = module[0], module[1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                  conv.padding, conv.dilation, conv.groups, bias=True)
                with torch.no_grad():
                    fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                    fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
                module[0], module[1] = fused, nn.Identity()
        return net
