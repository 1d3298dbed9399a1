"""``make_segmenter``: build a :class:`Segmenter` from a short spec string (a ROS parameter)."""

from __future__ import annotations

from pathlib import Path

import torch

from sqgan_ros.segmentation.base import NullSegmenter, Segmenter
from sqgan_ros.segmentation.bundled import BundledSegmenter
from sqgan_ros.segmentation.external import ClassMapping, OnnxSegmenter, Preprocessing, TorchScriptSegmenter

__all__ = ["make_segmenter", "SPEC_HELP"]

SPEC_HELP = ("'bundled' (our real-time network), 'none' (all unlabelled), "
             "a TorchScript file (*.pt, *.ts) or an ONNX file (*.onnx)")


def make_segmenter(spec: str, *, device: str | torch.device = "cpu",
                   class_mapping: ClassMapping | str | Path | None = None,
                   preprocessing: Preprocessing | None = None,
                   bundled_path: str | Path | None = None, precision: str = "float32") -> Segmenter:
    """Build a segmenter.

    Labels that arrive on a ROS topic are not a segmenter: the encoder node matches them by
    stamp and passes them through :class:`~sqgan_ros.segmentation.base.ExternalLabels`.

    Args:
        spec: ``"bundled"`` | ``"none"`` | path ending ``.pt``/``.ts`` | path ending ``.onnx``.
        device: torch device (bundled and TorchScript).
        class_mapping: ``{their_id: our_class_name}`` or a YAML path (model files only).
        preprocessing: input normalisation (model files only).
        bundled_path: weights of the bundled network (default: the packaged file).
        precision: compute precision of the bundled network (``sqgan_ros.codec.precision``).

    Raises:
        TypeError: ``spec`` is not a string.
        ValueError: unknown spec, or options that do not apply to it.
        FileNotFoundError: a model file does not exist.
    """
    if not isinstance(spec, str):
        raise TypeError(f"segmenter spec must be a string, got {type(spec).__name__}")
    key = spec.strip()
    lowered = key.lower()
    if lowered in ("bundled", "none"):
        if class_mapping is not None or preprocessing is not None:
            raise ValueError(f"class_mapping/preprocessing apply to model files, not to {lowered!r}")
        if lowered == "none":
            return NullSegmenter()
        return BundledSegmenter(bundled_path, device=device, precision=precision)
    suffix = Path(key).suffix.lower()
    if suffix in (".pt", ".ts"):
        return TorchScriptSegmenter(key, class_mapping, preprocessing, device=device)
    if suffix == ".onnx":
        if torch.device(device).type != "cpu":
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        else:
            providers = None
        return OnnxSegmenter(key, class_mapping, preprocessing, providers=providers)
    raise ValueError(f"unknown segmenter {spec!r}; expected {SPEC_HELP}")
