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
    if loaded.config == config:
        model.load_state_dict(loaded.model.state_dict(), strict=True)
        return "model file"
    if config is not None and _same_but_heads(loaded.config, config):
        fresh = _load_all_but_heads(loaded.model.state_dict(), model)
        return f"model file (decoder heads start anew: {', '.join(fresh)})"
    name = getattr(config, "name", type(model).__name__)
    raise CheckpointError(f"--init {path}: a {loaded.config.name!r} model; this run trains {name!r} "
                          "(the config's model preset must match, or differ only in the decoder heads)")


def _same_but_heads(a: Any, b: Any) -> bool:
    """True when two model configs differ at most in their branches' decoder ``head``."""
    import dataclasses

    def strip(config: Any) -> tuple:
        return (config.image_size, dataclasses.replace(config.semantic, head="pixel_shuffle"),
                dataclasses.replace(config.image, head="pixel_shuffle"))

    return strip(a) == strip(b)


def _load_all_but_heads(source: dict[str, torch.Tensor], model: nn.Module) -> list[str]:
    """Copy every tensor of ``source`` that ``model`` has with the same name and shape.

    Only decoder head tensors (``*.decoder.conv_out.*``, ``*.decoder.conv_mid.*``) may be left
    out; any other difference raises CheckpointError. Returns the tensors left at their init.
    """
    target = model.state_dict()
    fresh = []
    for key, value in target.items():
        if key in source and source[key].shape == value.shape:
            value.copy_(source[key])
        elif ".decoder.conv_out." in key or ".decoder.conv_mid." in key:
            fresh.append(key)
        else:
            raise CheckpointError(f"--init: tensor {key} does not fit ({tuple(value.shape)})")
    return fresh


# ----- committed training state --------------------------------------------------------------
# A training run on a CPU outlives no working session; what carries it on is a small state that
# can be committed: one branch's parameters in float16, its buffers (codebook EMA sums and cluster
# sizes, which must not lose precision) in float32, and the stage, step and config in JSON. No
# optimizer moments (they would triple the size; Adam restarts within its warm-up) and no RNG.

TRAIN_STATE_FORMAT = 1


def save_train_state(path: str | Path, model: nn.Module, branch: str, meta: CheckpointMeta) -> Path:
    """Write the committed training state of ``model.<branch>`` to ``path`` (+ ``.json``).

    Args:
        path: base path (``.safetensors`` / ``.json`` are added).
        model: the SQGAN being trained.
        branch: ``"semantic"`` or ``"image"``: the branch the run trains.
        meta: stage, step and config of the run.

    Returns:
        The tensors' path.
    """
    tensor_path, json_path = checkpoint_paths(path)
    tensor_path.parent.mkdir(parents=True, exist_ok=True)
    module = getattr(model, branch)
    buffers = {name for name, _ in module.named_buffers()}
    tensors = {}
    for name, value in module.state_dict().items():
        value = value.detach().cpu()
        if value.is_floating_point() and name not in buffers:
            value = value.to(torch.float16)
        tensors[name] = value.contiguous().clone()
    tmp_t, tmp_j = tensor_path.with_suffix(".tmp.safetensors"), json_path.with_suffix(".tmp.json")
    save_file(tensors, str(tmp_t))
    tmp_j.write_text(json.dumps({"format": TRAIN_STATE_FORMAT, "branch": branch, "stage": meta.stage,
                                 "step": meta.step, "config": meta.config, "extra": meta.extra},
                                indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp_t.replace(tensor_path)
    tmp_j.replace(json_path)
    return tensor_path


def load_train_state(path: str | Path, model: nn.Module) -> CheckpointMeta:
    """Load a state written by :func:`save_train_state` into its branch of ``model`` (strict).

    Returns:
        The stage, step, config and extra the state was saved with.

    Raises:
        CheckpointError: missing files, another format, or tensors that do not fit the branch.
    """
    tensor_path, json_path = checkpoint_paths(path)
    if not tensor_path.is_file() or not json_path.is_file():
        raise CheckpointError(f"training state {tensor_path.with_suffix('')}: .safetensors/.json missing")
    info = json.loads(json_path.read_text(encoding="utf-8"))
    if info.get("format") != TRAIN_STATE_FORMAT or info.get("branch") not in ("semantic", "image"):
        raise CheckpointError(f"{json_path}: not a training state of format {TRAIN_STATE_FORMAT}")
    module = getattr(model, info["branch"])
    target = module.state_dict()
    tensors = load_file(str(tensor_path))
    if set(tensors) != set(target):
        missing, unexpected = sorted(set(target) - set(tensors)), sorted(set(tensors) - set(target))
        raise CheckpointError(f"{tensor_path}: does not fit the {info['branch']} branch "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for name, value in target.items():
        if tensors[name].shape != value.shape:
            raise CheckpointError(f"{tensor_path}: {name} has shape {tuple(tensors[name].shape)}, "
                                  f"the branch {tuple(value.shape)}")
        value.copy_(tensors[name].to(value.dtype))
    return CheckpointMeta(int(info["stage"]), int(info["step"]), info["config"], info.get("extra", {}))
