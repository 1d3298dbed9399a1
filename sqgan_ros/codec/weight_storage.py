"""How a model file stores its floating-point tensors: float32, float16, int8 or int4.

The model always computes in float32 (or the precision chosen at run time); storage only sets the
size of the file and how exactly the weights are kept:

- ``float32``: as trained; ``float16``: half the file.
- ``int8``: every floating tensor with two or more dimensions (conv / linear weights, codebooks)
  as symmetric int8 with one float16 scale per output row (``name`` int8 of the tensor's shape,
  ``name + ".qscale"`` float16 ``(rows, 1)``); one-dimensional tensors (biases, norms) as float16.
  A quarter of float32.
- ``int4``: as int8, but with 4-bit values (-7..7) in groups of ``INT4_GROUP`` consecutive inputs
  of a row, each group with its float16 scale; two values per byte (``name`` uint8 ``(rows,
  ceil(cols / 2))``, low nibble first, value + 8), ``name + ".qscale"`` float16 ``(rows, groups)``.
  The codebooks (``*.quantizer.*``) stay int8: they decide which index the encoder sends.
  About 5 bits per weight.

Measured on the default model (24 synthetic test scenes, keep 0.05 / 0.25 / 1.0): int8 is within
0.001 LPIPS of float16; int4 costs +0.004 / +0.002 / +0.003 LPIPS, +0.02 / -0.03 / -0.01 dB PSNR
and -0.3 / -0.0 / -0.5 points of decoded-map mIoU.
Unpacking checks every stored shape and dtype against the model's own state dict and raises
``ValueError`` on any mismatch (the caller turns it into ``ModelFileError``).
"""

from __future__ import annotations

import torch

#: Storage formats of floating-point tensors in a model file.
STORAGES: tuple[str, ...] = ("float32", "float16", "int8", "int4")
#: Inputs of a row that share one int4 scale.
INT4_GROUP: int = 16
#: Suffix of the scale tensor of a quantized tensor.
SCALE_SUFFIX: str = ".qscale"

_FLOAT = {"float32": torch.float32, "float16": torch.float16}


def _check_storage(storage: str) -> None:
    if storage not in STORAGES:
        raise ValueError(f"weights storage must be one of {list(STORAGES)}, got {storage!r}")


def _bits(storage: str, name: str, tensor: torch.Tensor) -> int:
    """Bits per stored value of ``name``: 0 = float (no quantization), else 8 or 4."""
    if storage in _FLOAT or not tensor.is_floating_point() or tensor.dim() < 2:
        return 0
    if storage == "int8" or ".quantizer." in f".{name}":
        return 8
    return 4


def _group(cols: int, bits: int) -> int:
    """Inputs per scale: the whole row at 8 bits, ``INT4_GROUP`` at 4 bits when it divides the row."""
    return INT4_GROUP if bits == 4 and cols % INT4_GROUP == 0 else cols


def _quantize(tensor: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = tensor.reshape(tensor.shape[0], -1).float()
    qmax = 2 ** (bits - 1) - 1
    group = _group(rows.shape[1], bits)
    grouped = rows.reshape(rows.shape[0], -1, group)
    scale = (grouped.abs().amax(dim=2) / qmax).to(torch.float16)
    safe = torch.where(scale > 0, scale.float(), torch.ones_like(scale, dtype=torch.float32))
    values = torch.round(grouped / safe[..., None]).clamp_(-qmax, qmax).to(torch.int8)
    values = values.reshape(rows.shape)
    if bits == 8:
        return values.reshape(tensor.shape).contiguous(), scale.contiguous()
    nibbles = (values + 8).to(torch.uint8)
    if nibbles.shape[1] % 2:
        nibbles = torch.cat([nibbles, torch.full((nibbles.shape[0], 1), 8, dtype=torch.uint8)], 1)
    packed = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)
    return packed.contiguous(), scale.contiguous()


def _dequantize(values: torch.Tensor, scale: torch.Tensor, shape: torch.Size, bits: int) -> torch.Tensor:
    rows = shape[0]
    cols = shape.numel() // rows if rows else 0
    if bits == 8:
        q = values.reshape(rows, cols).float()
    else:
        q = torch.stack([values & 0x0F, values >> 4], dim=2).reshape(rows, -1)[:, :cols]
        q = q.float() - 8.0
    grouped = q.reshape(rows, -1, _group(cols, bits)) * scale.float()[..., None]
    return grouped.reshape(shape)


def pack_state(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    """Tensors to write for a model state dict (CPU, contiguous).

    Args:
        state: the model's ``state_dict()``.
        storage: one of :data:`STORAGES`.
    """
    _check_storage(storage)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        t = tensor.detach().to("cpu", memory_format=torch.contiguous_format)
        bits = _bits(storage, name, t)
        if bits:
            out[name], out[name + SCALE_SUFFIX] = _quantize(t, bits)
        elif t.is_floating_point():
            out[name] = t.to(_FLOAT.get(storage, torch.float16)).contiguous().clone()
        else:
            out[name] = t.contiguous().clone()
    return out


def _expected_layout(name: str, reference: torch.Tensor, storage: str) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    bits = _bits(storage, name, reference)
    shape = tuple(reference.shape)
    if not bits:
        dtype = _FLOAT.get(storage, torch.float16) if reference.is_floating_point() else reference.dtype
        return {name: (dtype, shape)}
    rows = shape[0]
    cols = reference.numel() // rows if rows else 0
    scale = (torch.float16, (rows, cols // _group(cols, bits)))
    if bits == 8:
        return {name: (torch.int8, shape), name + SCALE_SUFFIX: scale}
    return {name: (torch.uint8, (rows, (cols + 1) // 2)), name + SCALE_SUFFIX: scale}


def unpack_state(stored: dict[str, torch.Tensor], reference: dict[str, torch.Tensor],
                 storage: str) -> dict[str, torch.Tensor]:
    """The state dict (float32 for floating tensors) of what :func:`pack_state` wrote.

    Args:
        stored: tensors read from the file.
        reference: the freshly built model's ``state_dict()`` (names, shapes and dtypes).
        storage: the storage format named in the file's metadata.

    Raises:
        ValueError: missing or unknown tensors, or a tensor of the wrong dtype or shape.
    """
    _check_storage(storage)
    layout: dict[str, tuple[torch.dtype, tuple[int, ...]]] = {}
    for name, tensor in reference.items():
        layout.update(_expected_layout(name, tensor, storage))
    missing, unknown = sorted(set(layout) - set(stored)), sorted(set(stored) - set(layout))
    if missing or unknown:
        raise ValueError(f"tensor keys do not match the model (missing: {missing[:5]}, "
                         f"unknown: {unknown[:5]})")
    for name, (dtype, shape) in layout.items():
        tensor = stored[name]
        if tensor.dtype != dtype or tuple(tensor.shape) != shape:
            raise ValueError(f"tensor {name} is {tensor.dtype}{tuple(tensor.shape)}, expected "
                             f"{dtype}{shape}")
    state = {}
    for name, tensor in reference.items():
        bits = _bits(storage, name, tensor)
        if bits:
            state[name] = _dequantize(stored[name], stored[name + SCALE_SUFFIX], tensor.shape, bits)
        elif tensor.is_floating_point():
            state[name] = stored[name].float()
        else:
            state[name] = stored[name]
    return state


__all__ = ["INT4_GROUP", "SCALE_SUFFIX", "STORAGES", "pack_state", "unpack_state"]
