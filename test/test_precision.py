"""Inference precision: resolution rules, and bfloat16 encoders/decoders interoperating with float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.codec.model import KeepRatios
from sqgan_ros.codec.model_file import load_model
from sqgan_ros.codec.precision import PRECISIONS, autocast, cpu_has_native_bf16, resolve_precision
from sqgan_ros.data.synthetic import render_scene
from sqgan_ros.ros.parameters import encoder_specs

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT / "models" / "default.safetensors"
# The bfloat16 promises (symbols within a few percent of float32, decoders of either precision
# interoperate, decoding is deterministic) run on every CPU: without native bf16 kernels
# (AVX512-BF16/AMX) torch emulates them, slower but with the same rounding, so a CPU without them
# no longer skips what it cannot check natively. ``auto`` never picks bf16 there
# (test_auto_on_cpu_follows_native_bf16_support).


def test_explicit_precisions_resolve_to_their_dtype() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("float32", cpu) is torch.float32
    assert resolve_precision("bfloat16", cpu) is torch.bfloat16


def test_auto_on_cpu_follows_native_bf16_support() -> None:
    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert resolve_precision("auto", torch.device("cpu")) is expected


@pytest.mark.parametrize("bad", ["fp32", "", "BF16", None, 16])
def test_unknown_precision_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision(bad, torch.device("cpu"))  # type: ignore[arg-type]


def test_node_parameter_offers_exactly_the_codec_precisions() -> None:
    assert encoder_specs()["precision"].choices == PRECISIONS


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    return render_scene(11, (256, 512))


@pytest.fixture(scope="module")
def loaded():
    return load_model(DEFAULT_MODEL)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def test_bf16_encoder_sends_nearly_the_float32_symbols(loaded, scene) -> None:
    """SAMM and the codebook search stay float32; only the backbone's bf16 rounding can move a
    latent across a codebook cell boundary, which happens for a few percent of latents at most."""
    image, labels = scene
    x, lab = SemanticEncoder(loaded, "cpu", precision="float32").prepare_inputs(image, labels)
    ratios = KeepRatios.both(0.25)
    with torch.inference_mode():
        fp32 = loaded.model.transmitter.compress(x, lab, ratios)[0]
        with autocast(torch.device("cpu"), torch.bfloat16):
            bf16 = loaded.model.transmitter.compress(x, lab, ratios)[0]
    for name in ("semantic", "image"):
        a, b = fp32.branch(name), bf16.branch(name)
        assert a.k == b.k
        common, ia, ib = np.intersect1d(a.positions, b.positions, return_indices=True)
        assert len(common) >= 0.95 * a.k
        assert np.mean(a.indices[ia] == b.indices[ib]) >= 0.95


def test_precisions_interoperate_and_bf16_changes_pixels_far_less_than_the_codec(loaded, scene) -> None:
    image, labels = scene
    data = SemanticEncoder(loaded, "cpu", precision="bfloat16").encode(image, labels, keep_ratio=0.25)
    fp32 = SemanticDecoder(loaded, "cpu", precision="float32").decode(data)
    bf16 = SemanticDecoder(loaded, "cpu", precision="bfloat16").decode(data)
    assert bf16.image.dtype == np.uint8 and bf16.image.shape == image.shape
    codec_psnr = _psnr(fp32.image, image)
    assert _psnr(bf16.image, fp32.image) > codec_psnr + 20.0
    assert np.mean(bf16.labels == fp32.labels) > 0.99


def test_bf16_decoding_is_deterministic(loaded, scene) -> None:
    image, labels = scene
    data = SemanticEncoder(loaded, "cpu", precision="bfloat16").encode(image, labels, keep_ratio=0.1)
    dec = SemanticDecoder(loaded, "cpu", precision="bfloat16")
    first, second = dec.decode(data), dec.decode(data)
    assert np.array_equal(first.image, second.image) and np.array_equal(first.labels, second.labels)
