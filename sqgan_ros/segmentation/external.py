"""Segmenters that run a user's own model file: TorchScript (``.pt``/``.ts``) or ONNX (``.onnx``).

The model's class ids are mapped to ours by a *class mapping* ``{their_id: our_class_name}``
(a dict, or a YAML file holding one); ids the mapping does not name become ``unlabelled``.
Without a mapping the model is assumed to predict Cityscapes trainIds (0..18 are ours 1:1).

Trust: ``torch.jit.load`` does not unpickle arbitrary Python classes, but a TorchScript or ONNX
file is still a program that runs on your machine; load only model files you trust.

Accepted model outputs: logits ``[B, C, h, w]`` (argmax over ``C``), integer labels
``[B, h, w]``, or a dict / tuple whose ``"out"`` entry / first element is one of those
(torchvision-style segmentation models). Labels are resized back to the frame size
(nearest-neighbour).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from sqgan_ros.labels import CLASS_INDEX, NUM_LABELLED_CLASSES, UNLABELLED
from sqgan_ros.segmentation.base import Segmenter, check_batch, top_class

__all__ = [
    "ClassMapping",
    "Preprocessing",
    "TorchScriptSegmenter",
    "OnnxSegmenter",
    "load_class_mapping",
]

ClassMapping = Mapping[int, str]


def load_class_mapping(mapping: ClassMapping | str | Path | None) -> dict[int, int]:
    """Parse a class mapping into ``{their_id: our_index}``.

    Args:
        mapping: ``{their_id: our_class_name}`` (ids may be ints or digit strings), a path to a
            YAML file holding such a mapping, or ``None`` for Cityscapes trainIds
            (``{i: i for i in 0..18}``).

    Raises:
        ValueError: unreadable YAML, negative/non-integer ids, or unknown class names.
        TypeError: if the mapping is not a mapping.
    """
    if mapping is None:
        return {i: i for i in range(NUM_LABELLED_CLASSES)}
    if isinstance(mapping, (str, Path)):
        path = Path(mapping)
        try:
            mapping = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read class mapping {path}: {exc}") from exc
        if mapping is None:
            mapping = {}
    if not isinstance(mapping, Mapping):
        raise TypeError(f"class mapping must map their_id -> class name, got {type(mapping).__name__}")
    result: dict[int, int] = {}
    for key, name in mapping.items():
        try:
            their_id = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"class mapping key {key!r} is not an integer id") from None
        if isinstance(key, float) or their_id < 0:
            raise ValueError(f"class mapping key {key!r} must be a non-negative integer")
        if name not in CLASS_INDEX:
            raise ValueError(f"class mapping {key!r} -> {name!r}: unknown class name; "
                             f"known: {', '.join(CLASS_INDEX)}")
        result[their_id] = CLASS_INDEX[name]
    return result


@dataclass(frozen=True)
class Preprocessing:
    """How to feed a frame to a foreign model.

    Args:
        input_size: ``(H, W)`` to resize frames to, or ``None`` to run at the frame's size
            (ONNX models with fixed input dims use those).
        mean: per-channel mean subtracted after scaling to ``value_range`` (RGB order).
        std: per-channel std divided by after subtracting ``mean``.
        value_range: ``1.0`` (pixels in ``[0, 1]``) or ``255.0`` (pixels in ``[0, 255]``).
        bgr: feed channels in BGR order (OpenCV-trained models).
    """

    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    value_range: float = 1.0
    bgr: bool = False

    def __post_init__(self) -> None:
        if self.input_size is not None:
            size = tuple(int(v) for v in self.input_size)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"input_size must be (H, W) with positive ints, got {self.input_size}")
            object.__setattr__(self, "input_size", size)
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need three values (R, G, B)")
        if any(not np.isfinite(s) or s <= 0 for s in self.std):
            raise ValueError(f"std must be positive, got {self.std}")
        if self.value_range not in (1.0, 255.0):
            raise ValueError(f"value_range must be 1.0 or 255.0, got {self.value_range}")

    @classmethod
    def imagenet(cls, input_size: tuple[int, int] | None = None) -> Preprocessing:
        """ImageNet mean/std on ``[0, 1]`` pixels (torchvision, mmseg-style models)."""
        return cls(input_size=input_size)

    @classmethod
    def raw(cls, input_size: tuple[int, int] | None = None) -> Preprocessing:
        """Pixels in ``[0, 1]``, no normalisation (models that normalise inside)."""
        return cls(input_size=input_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))

    def apply(self, images: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Resize, scale, normalise and reorder a ``[B, 3, H, W]`` batch in ``[0, 1]``.

        Args:
            images: the batch.
            size: overrides ``input_size`` (used for fixed-size ONNX inputs).
        """
        size = size or self.input_size
        x = images.float()
        if size is not None and tuple(x.shape[-2:]) != tuple(size):
            shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * self.value_range - mean) / std
        if self.bgr:
            x = x.flip(1)
        return x.contiguous()


class _MappedSegmenter(Segmenter):
    """Shared part: output parsing, id mapping via a lookup table, resize back.

    :attr:`min_confidence` applies when the model outputs logits (softmax over its own classes);
    a model that outputs integer labels keeps them.
    """

    reports_confidence = True

    def __init__(self, path: str | Path, class_mapping: ClassMapping | str | Path | None,
                 preprocessing: Preprocessing | None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"segmenter model file not found: {self.path}")
        if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
            raise TypeError(f"preprocessing must be a Preprocessing, got {type(preprocessing).__name__}")
        self.preprocessing = preprocessing or Preprocessing.imagenet()
        self.mapping = load_class_mapping(class_mapping)
        size = max(self.mapping, default=-1) + 1
        lut = torch.full((max(size, 1),), UNLABELLED, dtype=torch.long)
        for their_id, ours in self.mapping.items():
            lut[their_id] = ours
        self._lut = lut

    def _to_labels(self, output: Any, size: tuple[int, int]) -> torch.Tensor:
        if isinstance(output, Mapping):
            if "out" not in output:
                raise ValueError(f"model returned a dict without an 'out' entry: keys {list(output)}")
            output = output["out"]
        if isinstance(output, (tuple, list)):
            if not output:
                raise ValueError("model returned an empty sequence")
            output = output[0]
        if isinstance(output, np.ndarray):
            output = torch.from_numpy(output)
        if not isinstance(output, torch.Tensor):
            raise ValueError(f"model output must be a tensor, got {type(output).__name__}")
        if output.ndim == 4 and output.is_floating_point():
            ids, unsure = top_class(output, self.min_confidence)
        elif output.ndim == 4 and output.shape[1] == 1 and not output.is_floating_point():
            ids, unsure = output[:, 0].long(), None
        elif output.ndim == 3 and not output.is_floating_point():
            ids, unsure = output.long(), None
        else:
            raise ValueError("model output must be logits [B, C, h, w] or integer labels [B, h, w], "
                             f"got {tuple(output.shape)} {output.dtype}")
        ids = ids.cpu()
        lut = self._lut
        if ids.numel() and int(ids.max()) >= lut.numel():
            lut = torch.cat([lut, torch.full((int(ids.max()) + 1 - lut.numel(),), UNLABELLED, dtype=torch.long)])
        labels = lut[ids.clamp(min=0)]
        labels[ids < 0] = UNLABELLED
        if unsure is not None:
            labels[unsure.cpu()] = UNLABELLED
        if tuple(labels.shape[-2:]) != tuple(size):
            labels = F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()
        return labels


class TorchScriptSegmenter(_MappedSegmenter):
    """Runs a TorchScript segmentation model (``torch.jit.save`` output).

    Args:
        path: the ``.pt`` / ``.ts`` file. Trusted input (see module docstring).
        class_mapping: ``{their_id: our_class_name}``, a YAML path, or ``None`` (trainIds).
        preprocessing: input resize / normalisation; default ImageNet mean/std at frame size.
        device: torch device to run on.
    """

    def __init__(self, path: str | Path, class_mapping: ClassMapping | str | Path | None = None,
                 preprocessing: Preprocessing | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__(path, class_mapping, preprocessing)
        self.device = torch.device(device)
        try:
            with warnings.catch_warnings():  # torch >= 2.10 marks TorchScript deprecated; it still works
                warnings.simplefilter("ignore", DeprecationWarning)
                self.model = torch.jit.load(str(self.path), map_location=self.device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"{self.path} is not a loadable TorchScript model: {exc}") from exc
        self.model.eval()

    @property
    def name(self) -> str:
        """``TorchScript <file name>``."""
        return f"TorchScript {self.path.name}"

    def segment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Preprocess, run the model on its device, map its classes to ours at the input size."""
        images = check_batch(images)
        x = self.preprocessing.apply(images.to(self.device))
        with torch.inference_mode():
            output = self.model(x)
        return self._to_labels(output, tuple(images.shape[-2:])).to(images.device)


class OnnxSegmenter(_MappedSegmenter):
    """Runs an ONNX segmentation model with onnxruntime (optional dependency).

    Args:
        path: the ``.onnx`` file. Trusted input (see module docstring).
        class_mapping: ``{their_id: our_class_name}``, a YAML path, or ``None`` (trainIds).
        preprocessing: input resize / normalisation; a model with fixed spatial input dims is
            always fed at those dims.
        providers: onnxruntime execution providers; default ``["CPUExecutionProvider"]``.

    Raises:
        ImportError: onnxruntime is not installed (``pip install onnxruntime``).
    """

    def __init__(self, path: str | Path, class_mapping: ClassMapping | str | Path | None = None,
                 preprocessing: Preprocessing | None = None, providers: list[str] | None = None) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise ImportError("OnnxSegmenter needs onnxruntime: pip install onnxruntime "
                              "(or onnxruntime-gpu)") from exc
        super().__init__(path, class_mapping, preprocessing)
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"{self.path} is not a loadable ONNX model: {exc}") from exc
        model_input = self.session.get_inputs()[0]
        self._input_name = model_input.name
        dims = list(model_input.shape)
        fixed = len(dims) == 4 and all(isinstance(d, int) and d > 0 for d in dims[2:])
        self._fixed_size = (int(dims[2]), int(dims[3])) if fixed else None

    @property
    def name(self) -> str:
        """``ONNX <file name>``."""
        return f"ONNX {self.path.name}"

    def segment_batch(self, images: torch.Tensor) -> torch.Tensor:
        """Preprocess on CPU (at the model's fixed input size, if any), run the session, map its classes to ours at the input size."""
        images = check_batch(images)
        x = self.preprocessing.apply(images.cpu(), size=self._fixed_size)
        outputs = self.session.run(None, {self._input_name: x.numpy().astype(np.float32)})
        return self._to_labels(outputs[0], tuple(images.shape[-2:])).to(images.device)
