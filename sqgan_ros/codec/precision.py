"""Inference precision: run the convolutional networks in bfloat16/float16 where the hardware has it.

::

    precision "auto" --resolve_precision--> float32 | bfloat16 | float16
        CPU:  bfloat16 when oneDNN has native bf16 kernels (AVX512-BF16 / AMX), else float32
        CUDA: bfloat16 when the GPU supports it, else float16

The reduced precision is applied with ``torch.autocast`` around the encoder, de-masker and
decoder networks, with the model in ``channels_last`` memory format (what oneDNN's and cuDNN's
fast kernels want). The SAMM scores and projection (so top-k does not see bf16 ties) and the
codebook search (the quantizer turns autocast off) run in float32, but their inputs come from the
encoder network, so a bfloat16 encoder chooses a few percent of the kept positions and codebook
indices differently from a float32 one on the same image (test/test_precision.py allows up to
5 % of each): the bytes differ, the stream format does not. On the decoder side the pixels
change by far less than the codec's own distortion (the test requires the bf16-vs-float32 PSNR
to exceed the codec's PSNR by 20 dB).

Nothing here touches the stream format: the entropy coder never depends on a network output, so
an encoder in bfloat16 and a decoder in float32 (or the reverse) interoperate.
"""

from __future__ import annotations

import contextlib
import functools
from typing import ContextManager

import torch
from torch import nn

#: Values of the ``precision`` option of the API and the nodes.
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@functools.cache
def _onednn_supports(query: str) -> bool:
    """Ask oneDNN (private torch API ``torch.ops.mkldnn.<query>``); False when absent or failing."""
    try:
        return bool(torch.backends.mkldnn.is_available() and getattr(torch.ops.mkldnn, query)())
    except (AttributeError, RuntimeError):
        return False


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bfloat16 convolutions natively on this CPU (AVX512-BF16 or AMX)."""
    return _onednn_supports("_is_mkldnn_bf16_supported")


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The compute dtype for ``precision`` on ``device``.

    Args:
        precision: one of :data:`PRECISIONS`.
        device: where the model runs.

    Raises:
        ValueError: unknown precision, or float16 asked for on a CPU without native fp16 kernels.
    """
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        dtype = _DTYPES[precision]
        if dtype is torch.float16 and device.type == "cpu" and not _cpu_has_native_fp16():
            raise ValueError("precision 'float16' needs native fp16 CPU kernels (AVX512-FP16/AMX-FP16); "
                             "use 'bfloat16' or 'float32'")
        return dtype
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else torch.float32


def _cpu_has_native_fp16() -> bool:
    return _onednn_supports("_is_mkldnn_fp16_supported")


def prepare_model(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Put ``model`` in the memory format that suits ``dtype`` (channels_last for reduced precision).

    Weights stay float32 (autocast casts them per op), so the same model object can serve a
    float32 and a reduced-precision user alike; only the memory format changes.
    """
    if dtype is not torch.float32:
        model.to(memory_format=torch.channels_last)
    return model


def autocast(device: torch.device, dtype: torch.dtype) -> ContextManager:
    """Autocast to ``dtype`` on ``device`` (a no-op context for float32)."""
    if dtype is torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def full_precision(x: torch.Tensor) -> ContextManager:
    """Autocast off for the device of ``x`` (for the parts that must stay float32)."""
    return torch.autocast(x.device.type, enabled=False)
