"""Model files: one ``.safetensors`` file with weights, config, class set and entropy priors.

Layout::

    tensors:  the model's state_dict (parameters and persistent buffers, e.g. the codebooks)
    metadata: {"sqgan_ros": canonical JSON {format_version, preset, config, classes, priors, extra,
                                           weights_dtype},
               "model_id":  hex sha256 over that JSON and every tensor}

Floating-point tensors are stored as ``weights_dtype`` (absent = ``float32``): ``float32``,
``float16`` (half the file), ``int8`` or ``int4`` (per-row / per-group scaled integers, a quarter
and about a sixth of float32; see :mod:`sqgan_ros.codec.weight_storage`). The model computes in
float32 (or the run-time precision) after loading whatever the storage.

The model id is ``sha256(json || for name in sorted(tensors): name, dtype, shape, raw bytes)``.
It is recomputed on load and must match, so a corrupted or edited file is refused; its first 8
bytes (``short_id``, 16 hex characters) travel in every frame header, so a decoder with other
weights refuses frames instead of showing garbage. Loading is strict (no unknown or missing
tensors) and never unpickles.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sqgan_ros.bitstream import EntropyPriors
from sqgan_ros.codec.config import ModelConfig, from_dict, to_dict
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.codec.weight_storage import STORAGES, pack_state, unpack_state
from sqgan_ros.labels import CLASS_NAMES

FORMAT_VERSION: int = 1
_META_KEY = "sqgan_ros"
_ID_KEY = "model_id"
#: Storage formats of floating-point tensors in a model file.
WEIGHT_DTYPES: tuple[str, ...] = STORAGES


class ModelFileError(ValueError):
    """A model file is missing, not a safetensors file, corrupt, edited, or does not fit."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run, with what was stored alongside it.

    Args:
        model: the SQGAN in eval mode, gradients off.
        config: its configuration.
        priors: entropy priors of the bitstream.
        model_id: hex sha256 of the file's content.
        extra_metadata: the free-form metadata saved with the model.
    """

    model: SQGAN
    config: ModelConfig
    priors: EntropyPriors
    model_id: str
    extra_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        """First 16 hex characters of the id (the 8 bytes sent in frame headers)."""
        return self.model_id[:16]

    @property
    def id_bytes(self) -> bytes:
        """The 8-byte model id of frame headers."""
        return bytes.fromhex(self.short_id)


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, ASCII)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def compute_model_id(meta_json: str, tensors: dict[str, torch.Tensor]) -> str:
    """Hex sha256 over the canonical metadata JSON and every tensor (sorted names)."""
    digest = hashlib.sha256(meta_json.encode("utf-8"))
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(str(tensor.dtype).encode("ascii") + b"\0")
        digest.update(repr(tuple(tensor.shape)).encode("ascii") + b"\0")
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def default_priors(config: ModelConfig) -> EntropyPriors:
    """Uniform priors for a model that has no trained entropy tables yet."""
    return EntropyPriors.uniform({"semantic": config.semantic.codebook_size,
                                  "image": config.image.codebook_size})


def save_model(path: str | Path, model: SQGAN, priors: EntropyPriors | None = None,
               extra_metadata: dict[str, Any] | None = None, weights_dtype: str = "float32") -> str:
    """Write ``model`` (+ priors, + JSON-safe ``extra_metadata``) to ``path``; return the model id.

    Args:
        path: destination ``.safetensors`` file.
        model: the model to store.
        priors: trained entropy priors; None stores uniform priors.
        extra_metadata: free-form JSON-safe information (training run, data, ...).
        weights_dtype: storage of floating-point tensors: ``"float32"``, ``"float16"``,
            ``"int8"`` or ``"int4"``.
    """
    if not isinstance(model, SQGAN):
        raise TypeError(f"model must be an SQGAN, got {type(model).__name__}")
    if weights_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weights_dtype must be one of {list(WEIGHT_DTYPES)}, got {weights_dtype!r}")
    config = model.config
    priors = default_priors(config) if priors is None else priors
    if not isinstance(priors, EntropyPriors):
        raise TypeError(f"priors must be EntropyPriors, got {type(priors).__name__}")
    _check_priors(priors, config)
    meta = {"format_version": FORMAT_VERSION, "preset": config.name, "config": to_dict(config),
            "classes": list(CLASS_NAMES), "priors": priors.to_dict(), "extra": dict(extra_metadata or {})}
    if weights_dtype != "float32":
        meta["weights_dtype"] = weights_dtype
    meta_json = canonical_json(meta)
    tensors = pack_state(model.state_dict(), weights_dtype)
    model_id = compute_model_id(meta_json, tensors)
    save_file(tensors, str(path), metadata={_META_KEY: meta_json, _ID_KEY: model_id})
    return model_id


def _check_priors(priors: EntropyPriors, config: ModelConfig) -> None:
    expected = {"semantic": config.semantic.codebook_size, "image": config.image.codebook_size}
    if priors.codebook_sizes != expected:
        raise ModelFileError(f"priors are for codebooks {priors.codebook_sizes}, the model has {expected}")


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except ModelFileError:
        raise
    except Exception as exc:  # safetensors raises several types for malformed files
        raise ModelFileError(f"{path} is not a readable safetensors model file: {exc}") from exc
    return metadata, tensors


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load and verify a model file; the model comes back in eval mode with gradients off.

    Args:
        path: the ``.safetensors`` file.
        device: where to put the model.

    Raises:
        ModelFileError: not a safetensors file, missing metadata, id mismatch (corrupt or
            edited), unknown/missing tensors, wrong shapes, unsupported format version.
    """
    path = Path(path)
    metadata, tensors = _read(path)
    if _META_KEY not in metadata or _ID_KEY not in metadata:
        raise ModelFileError(f"{path} has no sqgan_ros metadata; it is not an sqgan_ros model file")
    meta_json = metadata[_META_KEY]
    stored_id = metadata[_ID_KEY]
    if compute_model_id(meta_json, tensors) != stored_id:
        raise ModelFileError(f"{path}: model id mismatch; the file is corrupt or was edited")
    try:
        meta = json.loads(meta_json)
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"unsupported model file format version {meta.get('format_version')!r}")
        if tuple(meta["classes"]) != CLASS_NAMES:
            raise ModelFileError(f"the model's class set {meta['classes']} differs from sqgan_ros.labels")
        config = from_dict(meta["config"])
        priors = EntropyPriors.from_dict(meta["priors"])
        extra = dict(meta.get("extra", {}))
        storage = meta.get("weights_dtype", "float32")
        if storage not in WEIGHT_DTYPES:
            raise ModelFileError(f"{path}: unknown weights_dtype {storage!r}")
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid metadata: {exc}") from exc
    _check_priors(priors, config)
    model = SQGAN(config)
    try:
        state = unpack_state(tensors, model.state_dict(), storage)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc} ({config.name!r} model, {storage} storage)") from None
    model.load_state_dict(state, strict=True)  # copies into the float32 parameters
    model.to(device).eval().requires_grad_(False)
    return LoadedModel(model, config, priors, stored_id, extra)


def convert_model_file(source: str | Path, out: str | Path, weights_dtype: str) -> str:
    """Store a model file's weights in another format (same config and priors); return the new id.

    The new file's extra metadata records the source's model id under ``converted_from``.

    Args:
        source: model file to read.
        out: model file to write (may not be ``source``).
        weights_dtype: storage of the new file (see :func:`save_model`).

    Raises:
        ModelFileError: ``source`` is not a valid model file.
        ValueError: unknown ``weights_dtype`` or ``out`` is ``source``.
    """
    if Path(out).resolve() == Path(source).resolve():
        raise ValueError("write the converted model to another file than its source")
    loaded = load_model(source)
    extra = dict(loaded.extra_metadata)
    extra["converted_from"] = loaded.model_id
    return save_model(out, loaded.model, loaded.priors, extra, weights_dtype=weights_dtype)
