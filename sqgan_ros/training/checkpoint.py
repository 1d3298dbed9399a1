"""Resumable training checkpoints without pickle: safetensors for tensors + a JSON sidecar.

    <name>.safetensors   module.<module>.<param>           every module's state_dict
                         optim.<opt>.<param_idx>.<key>     optimizer state tensors (Adam moments, step)
                         rng.torch, rng.cuda.<i>           torch RNG states (uint8)
    <name>.json          format, stage, step, config, optimizer param_groups and scalar state,
                         numpy / python RNG states, free-form ``extra``

Both files are written to temporary names and renamed, tensors first, so a crash leaves either the
previous checkpoint or the new one. Loading is strict: a missing or unexpected key raises.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete or does not fit the modules it is loaded into."""


@dataclass
class CheckpointMeta:
    """Scalar state stored in the JSON sidecar.

    Args:
        stage: training stage (1, 2 or 3).
        step: completed optimizer steps in that stage.
        config: the training config as a dict.
        extra: free-form JSON-compatible information.
    """

    stage: int
    step: int
    config: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(tensors.safetensors, sidecar.json)`` for a checkpoint base path (suffix ignored)."""
    base = Path(path)
    if base.suffix in (".safetensors", ".json"):
        base = base.with_suffix("")
    return base.with_suffix(".safetensors"), base.with_suffix(".json")


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    info = {"numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": [py_version, list(py_state), py_gauss]}
    return tensors, info


def _set_rng_state(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda][: torch.cuda.device_count()])
    name, keys, pos, has_gauss, gauss = info["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    py_version, py_state, py_gauss = info["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))


def _optimizer_split(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_join(tensors: dict[str, torch.Tensor], info: dict[str, Any], prefix: str) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, entry in info["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": info["param_groups"]}


def _unshare(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies; safetensors refuses tensors that share storage."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_checkpoint(path: str | Path, modules: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer], meta: CheckpointMeta) -> Path:
    """Write a checkpoint (tensors + JSON sidecar), atomically per file.

    Args:
        path: base path (``.safetensors`` / ``.json`` are appended).
        modules: named modules whose state_dicts are saved.
        optimizers: named optimizers.
        meta: stage, step, config, extra.

    Returns:
        The path of the tensor file.
    """
    tensor_path, json_path = checkpoint_paths(path)
    tensor_path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module.{name}.{key}"] = value
    optim_info = {}
    for name, opt in optimizers.items():
        opt_tensors, optim_info[name] = _optimizer_split(opt, f"optim.{name}")
        tensors.update(opt_tensors)
    rng_tensors, rng_info = _rng_state()
    tensors.update(rng_tensors)
    sidecar = {"format": CHECKPOINT_FORMAT, "stage": meta.stage, "step": meta.step, "config": meta.config,
               "modules": sorted(modules), "optimizers": optim_info, "rng": rng_info, "extra": meta.extra}
    tmp_tensors = tensor_path.with_suffix(".safetensors.tmp")
    tmp_json = json_path.with_suffix(".json.tmp")
    save_file(_unshare(tensors), str(tmp_tensors), metadata={"format": str(CHECKPOINT_FORMAT)})
    tmp_json.write_text(json.dumps(sidecar), encoding="utf-8")
    tmp_tensors.replace(tensor_path)
    tmp_json.replace(json_path)
    return tensor_path


def read_meta(path: str | Path) -> CheckpointMeta:
    """Read only the JSON sidecar of a checkpoint.

    Args:
        path: base path, ``.safetensors`` or ``.json`` path.
    """
    _, json_path = checkpoint_paths(path)
    if not json_path.is_file():
        raise CheckpointError(f"checkpoint sidecar {json_path} not found")
    sidecar = json.loads(json_path.read_text(encoding="utf-8"))
    if sidecar.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{json_path}: unsupported checkpoint format {sidecar.get('format')!r}")
    return CheckpointMeta(sidecar["stage"], sidecar["step"], sidecar["config"], sidecar.get("extra", {}))


def load_checkpoint(path: str | Path, modules: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    restore_rng: bool = True) -> CheckpointMeta:
    """Load a checkpoint into ``modules`` (strict) and optionally ``optimizers`` and RNG states.

    Args:
        path: base path, ``.safetensors`` or ``.json`` path.
        modules: named modules; each must be in the checkpoint.
        optimizers: named optimizers to restore; None skips optimizer state.
        restore_rng: restore torch/numpy/python RNG states.
    """
    tensor_path, json_path = checkpoint_paths(path)
    meta = read_meta(path)
    if not tensor_path.is_file():
        raise CheckpointError(f"checkpoint tensors {tensor_path} not found")
    sidecar = json.loads(json_path.read_text(encoding="utf-8"))
    tensors = load_file(str(tensor_path))
    for name, module in modules.items():
        prefix = f"module.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f"{tensor_path} holds no module {name!r} (has {sidecar.get('modules')})")
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{tensor_path}: module {name!r} does not fit: {exc}") from None
    for name, opt in (optimizers or {}).items():
        if name not in sidecar["optimizers"]:
            raise CheckpointError(f"{tensor_path} holds no optimizer {name!r}")
        opt.load_state_dict(_optimizer_join(tensors, sidecar["optimizers"][name], f"optim.{name}"))
    if restore_rng:
        _set_rng_state(tensors, sidecar["rng"])
    return meta


def load_initial_weights(path: str | Path, model: nn.Module) -> str:
    """Start a run from the weights at ``path`` (the ``--init`` of ``sqgan-train``).

    ``path`` is either a training checkpoint (base path, ``.safetensors`` or ``.json`` of a
    checkpoint with its JSON sidecar) or an exported model file such as the bundled
    ``models/default.safetensors`` in any weight storage (int4/int8 weights come back as their
    float values): fine-tuning the shipped model on one's own footage needs no checkpoint.
    Optimizer state and RNG are never taken over.

    Args:
        path: the checkpoint or model file.
        model: the SQGAN being trained; a model file must be of the same configuration.

    Returns:
        ``"checkpoint"`` or ``"model file"``: what was loaded.

    Raises:
        CheckpointError: nothing at ``path``, neither kind of file, or another configuration.
    """
    from sqgan_ros.codec.model_file import ModelFileError, load_model

    path = Path(path)
    if checkpoint_paths(path)[1].is_file():
        load_checkpoint(path, {"model": model}, None, restore_rng=False)
        return "checkpoint"
    if not path.is_file():
        raise CheckpointError(f"--init {path}: no such checkpoint or model file")
    try:
        loaded = load_model(path)
    except ModelFileError as exc:
        raise CheckpointError(f"--init {path}: neither a training checkpoint (no {checkpoint_paths(path)[1].name}) "
                              f"nor a model file: {exc}") from None
    config = getattr(model, "config", None)
    if loaded.config != config:
        name = getattr(config, "name", type(model).__name__)
        raise CheckpointError(f"--init {path}: a {loaded.config.name!r} model; this run trains {name!r} "
                              "(the config's model preset must match)")
    model.load_state_dict(loaded.model.state_dict(), strict=True)
    return "model file"
