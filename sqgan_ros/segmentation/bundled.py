"""``BundledSegmenter``: our small real-time network, stored as one ``.safetensors`` file.

File layout (never unpickled)::

    tensors:  SegNet state dict (float32)
    metadata: {"sqgan_ros_segmenter": JSON {"format_version": 1,
                                            "config": SegNetConfig.to_dict(),
                                            "classes": sqgan_ros.labels.CLASS_NAMES,
                                            "info": {...free-form: training command, mIoU...}}}

Loading is strict: a missing or unexpected tensor, a wrong shape, another class set or an
unknown format version raises :class:`SegmenterFileError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from sqgan_ros.bundled_models import SEGMENTER_MODEL_NAME, bundled_model_path
from sqgan_ros.codec.precision import autocast, prepare_model, resolve_precision
from sqgan_ros.labels import CLASS_NAMES
from sqgan_ros.segmentation.base import Segmenter, check_batch
from sqgan_ros.segmentation.network import SegNet, SegNetConfig

__all__ = [
    "BundledSegmenter",
    "SegmenterFileError",
    "DEFAULT_MODEL_PATH",
    "save_segnet",
    "load_segnet",
]

FORMAT_VERSION = 1
_METADATA_KEY = "sqgan_ros_segmenter"

#: The trained bundled segmenter (``models/segmenter.safetensors`` of a source checkout, or
#: ``share/sqgan_ros/models/`` of a colcon install: :mod:`sqgan_ros.bundled_models`).
DEFAULT_MODEL_PATH: Path = bundled_model_path(SEGMENTER_MODEL_NAME)


class SegmenterFileError(ValueError):
    """A segmenter model file is missing, malformed or does not match the network."""


def save_segnet(path: str | Path, net: SegNet, info: Mapping[str, Any] | None = None) -> None:
    """Write ``net`` (weights + config + class set + ``info``) to a ``.safetensors`` file.

    Args:
        path: destination file.
        net: the network to save.
        info: JSON-serialisable free-form facts (training command, measured mIoU, ...).
    """
    if not isinstance(net, SegNet):
        raise TypeError(f"net must be a SegNet, got {type(net).__name__}")
    header = {
        "format_version": FORMAT_VERSION,
        "config": net.config.to_dict(),
        "classes": list(CLASS_NAMES),
        "info": dict(info or {}),
    }
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(path), metadata={_METADATA_KEY: json.dumps(header, sort_keys=True)})


def load_segnet(path: str | Path) -> tuple[SegNet, dict[str, Any]]:
    """Load a file written by :func:`save_segnet`.

    Args:
        path: the ``.safetensors`` file.

    Returns:
        ``(net in eval mode on CPU, info dict)``.

    Raises:
        SegmenterFileError: missing file, not safetensors, missing/foreign metadata, another
            class set, or tensors that do not match the network exactly.
    """
    path = Path(path)
    if not path.is_file():
        raise SegmenterFileError(f"segmenter model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SegmenterFileError(f"{path} is not a readable safetensors file: {exc}") from exc
    if _METADATA_KEY not in metadata:
        raise SegmenterFileError(f"{path} has no {_METADATA_KEY!r} metadata; not a sqgan_ros segmenter")
    try:
        header = json.loads(metadata[_METADATA_KEY])
        version = header["format_version"]
        config = SegNetConfig.from_dict(header["config"])
        classes = tuple(header["classes"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SegmenterFileError(f"{path}: malformed segmenter metadata: {exc}") from exc
    if version != FORMAT_VERSION:
        raise SegmenterFileError(f"{path}: unsupported format_version {version} (expected {FORMAT_VERSION})")
    if classes != CLASS_NAMES:
        raise SegmenterFileError(f"{path}: model classes {classes} differ from sqgan_ros.labels.CLASS_NAMES")
    net = SegNet(config)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise SegmenterFileError(f"{path}: tensors do not match SegNet: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape or tensor.dtype != expected[name].dtype:
            raise SegmenterFileError(
                f"{path}: tensor {name!r} is {tuple(tensor.shape)} {tensor.dtype}, "
                f"network expects {tuple(expected[name].shape)} {expected[name].dtype}")
    net.load_state_dict(tensors, strict=True)
    return net.eval(), dict(header.get("info", {}))


class BundledSegmenter(Segmenter):
    """The bundled real-time segmenter (:class:`~sqgan_ros.segmentation.network.SegNet`).

    Frames of any size are resized (area / bilinear) to the network's ``input_size``; the
    predicted labels are resized back with nearest-neighbour sampling.

    Args:
        path: ``.safetensors`` file from :func:`save_segnet`; defaults to
            :data:`DEFAULT_MODEL_PATH`.
        device: torch device to run on (``"cpu"``, ``"cuda"``, ...).
        net: use this network instead of loading a file (tests, training evaluation). The
            segmenter runs a BatchNorm-folded snapshot of it (:meth:`SegNet.fused`), so later
            changes to ``net`` do not reach the segmenter.
        precision: compute precision (:mod:`sqgan_ros.codec.precision`); float32 by default, so
            the evaluation segmenter is the same everywhere; the encoder node passes its own.
        min_confidence: pixels whose top class probability is below this are ``unlabelled``
            (:attr:`Segmenter.min_confidence`; 0 keeps every guess).
    """

    reports_confidence = True

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu",
                 net: SegNet | None = None, precision: str = "float32", min_confidence: float = 0.0) -> None:
        self.min_confidence = min_confidence
        if net is not None and path is not None:
            raise ValueError("pass either path or net, not both")
        if net is None:
            self.path: Path | None = Path(path) if path is not None else DEFAULT_MODEL_PATH
            net, self.info = load_segnet(self.path)
        else:
            if not isinstance(net, SegNet):
                raise TypeError(f"net must be a SegNet, got {type(net).__name__}")
            self.path, self.info = None, {}
        self.device = torch.device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.net = net
        self._runner = prepare_model(net.fused().to(self.device), self.dtype)

    @property
    def name(self) -> str:
        """``bundled SegNet HxW (<file name>)``, or ``(in-memory)`` for a network passed directly."""
        where = self.path.name if self.path is not None else "in-memory"
        h, w = self.net.config.input_size
        return f"bundled SegNet {h}x{w} ({where})"

    @property
    def input_size(self) -> tuple[int, int]:
        """``(H, W)`` the network runs at."""
        return self.net.config.input_size

    def segment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Resize to ``input_size`` (antialiased when shrinking), predict at this segmenter's precision, resize the labels back (nearest)."""
        images = check_batch(images)
        h, w = images.shape[-2:]
        size = self.input_size
        x = images.to(self.device, torch.float32)
        if (h, w) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                              antialias=h > size[0] or w > size[1])
        with torch.inference_mode(), autocast(self.device, self.dtype):
            labels = self._runner.predict(x, self.min_confidence)
        if (h, w) != size:
            labels = F.interpolate(labels[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()
        return labels
