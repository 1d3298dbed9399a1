"""Integer weight storage of model files (sqgan_ros.codec.weight_storage) and model conversion.

Covers: round-trip error bounds per row (int8) and per group (int4), odd column counts, zero
rows, layout (what is quantized, packed shapes, codebooks kept at int8), strict shape/dtype
checks, whole model files in int8/int4 (ids, sizes, outputs close to float32), forged files, and
``convert_model_file``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.model_file import ModelFileError, compute_model_id, convert_model_file, load_model, save_model
from sqgan_ros.codec.weight_storage import INT4_GROUP, SCALE_SUFFIX, pack_state, unpack_state


def _state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "conv.weight": torch.randn(6, 4, 3, 3, generator=g),          # 36 inputs: int4 per row
        "linear.weight": torch.randn(5, 2 * INT4_GROUP, generator=g) * 3,  # two int4 groups
        "odd.weight": torch.randn(3, 7, generator=g),                  # odd cols: padded nibble
        "zero.weight": torch.zeros(2, INT4_GROUP),                     # scale 0
        "x.quantizer.embedding": torch.randn(8, 4, generator=g),       # codebook: int8
        "linear.bias": torch.randn(5, generator=g),                    # 1-D: float16
        "steps": torch.tensor(3, dtype=torch.int64),                   # integer: as is
    }


@pytest.mark.parametrize("storage", ["float32", "float16", "int8", "int4"])
def test_round_trip_error_is_within_half_a_step(storage: str) -> None:
    state = _state()
    packed = pack_state(state, storage)
    out = unpack_state(packed, state, storage)
    assert set(out) == set(state)
    assert out["steps"].dtype == torch.int64 and int(out["steps"]) == 3
    for name, ref in state.items():
        if not ref.is_floating_point():
            continue
        got = out[name]
        assert got.dtype == torch.float32 and got.shape == ref.shape
        if storage == "float32":
            assert torch.equal(got, ref)
        elif storage == "float16" or ref.dim() < 2:
            assert torch.equal(got, ref.half().float())
        else:
            scale = packed[name + SCALE_SUFFIX].float()
            rows = ref.reshape(ref.shape[0], -1)
            step = scale.repeat_interleave(rows.shape[1] // scale.shape[1], dim=1)
            error = (got.reshape(rows.shape) - rows).abs()
            # half a quantization step, plus float16 rounding of the scale (relative 2^-11)
            assert torch.all(error <= step * 0.5 + rows.abs() * 2e-3 + 1e-7), name
    assert torch.equal(out["zero.weight"], torch.zeros(2, INT4_GROUP))


def test_int4_layout_packs_two_values_per_byte_and_keeps_codebooks_int8() -> None:
    packed = pack_state(_state(), "int4")
    assert packed["conv.weight"].dtype == torch.uint8 and packed["conv.weight"].shape == (6, 18)
    assert packed["conv.weight" + SCALE_SUFFIX].shape == (6, 1)  # 36 is not a multiple of 16
    assert packed["linear.weight"].shape == (5, INT4_GROUP)
    assert packed["linear.weight" + SCALE_SUFFIX].shape == (5, 2)
    assert packed["odd.weight"].shape == (3, 4)
    assert packed["x.quantizer.embedding"].dtype == torch.int8
    assert packed["x.quantizer.embedding" + SCALE_SUFFIX].shape == (8, 1)
    assert packed["linear.bias"].dtype == torch.float16
    int8 = pack_state(_state(), "int8")
    assert int8["conv.weight"].dtype == torch.int8 and int8["conv.weight"].shape == (6, 4, 3, 3)


@pytest.mark.parametrize("change", ["missing", "unknown", "dtype", "shape"])
def test_unpack_refuses_a_layout_that_does_not_fit(change: str) -> None:
    state = _state()
    packed = pack_state(state, "int4")
    if change == "missing":
        del packed["linear.weight" + SCALE_SUFFIX]
    elif change == "unknown":
        packed["extra"] = torch.zeros(1)
    elif change == "dtype":
        packed["conv.weight"] = packed["conv.weight"].to(torch.int8)
    else:
        packed["odd.weight"] = torch.zeros(3, 5, dtype=torch.uint8)
    with pytest.raises(ValueError):
        unpack_state(packed, state, "int4")
    with pytest.raises(ValueError, match="storage"):
        pack_state(state, "int2")


def _raw(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SQGAN]:
    torch.manual_seed(0)
    model = SQGAN(get_config("tiny")).eval()
    path = tmp_path_factory.mktemp("storage") / "tiny.safetensors"
    save_model(path, model, extra_metadata={"note": "unit test"})
    return path, model


@pytest.mark.parametrize("storage,max_size", [("int8", 0.30), ("int4", 0.22)])
def test_integer_model_files_are_smaller_and_decode_close_to_float32(tiny, tmp_path: Path,
                                                                     storage: str, max_size: float) -> None:
    path, model = tiny
    out = tmp_path / f"{storage}.safetensors"
    model_id = save_model(out, model, weights_dtype=storage)
    loaded = load_model(out)
    assert loaded.model_id == model_id
    assert json.loads(_raw(out)[0]["sqgan_ros"])["weights_dtype"] == storage
    _, stored = _raw(out)
    _, full = _raw(path)
    nbytes = lambda ts: sum(t.numel() * t.element_size() for t in ts.values())  # noqa: E731
    assert nbytes(stored) < max_size * nbytes(full)
    torch.manual_seed(1)
    size = loaded.config.image_size
    image = torch.rand(1, 3, *size)
    labels = torch.randint(0, 20, (1, *size))
    with torch.inference_mode():
        ref = model.receiver.decompress(model.transmitter.compress(image, labels, KeepRatios.both(1.0)))[0]
        got = loaded.model.receiver.decompress(loaded.model.transmitter.compress(
            image, labels, KeepRatios.both(1.0)))[0]
    mse = float(((ref - got) ** 2).mean())
    psnr = 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12)))
    # a random-init network amplifies weight noise more than a trained one; measured on the
    # default model: float16 vs int8 0.001 LPIPS, vs int4 0.002-0.004 LPIPS
    assert psnr > (30.0 if storage == "int8" else 20.0), float(psnr)


def test_forged_storage_declaration_is_refused(tiny, tmp_path: Path) -> None:
    path, model = tiny
    out = tmp_path / "int4.safetensors"
    save_model(out, model, weights_dtype="int4")
    meta, tensors = _raw(out)
    for declared, match in (("int2", "unknown weights_dtype"), ("int8", "expected torch.int8")):
        text = json.loads(meta["sqgan_ros"])
        text["weights_dtype"] = declared
        from sqgan_ros.codec.model_file import canonical_json
        meta_json = canonical_json(text)
        forged = tmp_path / f"forged_{declared}.safetensors"
        save_file(tensors, str(forged), metadata={"sqgan_ros": meta_json,
                                                  "model_id": compute_model_id(meta_json, tensors)})
        with pytest.raises(ModelFileError, match=match):
            load_model(forged)


def test_convert_keeps_config_and_priors_and_records_the_source(tiny, tmp_path: Path) -> None:
    path, _ = tiny
    source = load_model(path)
    out = tmp_path / "converted.safetensors"
    new_id = convert_model_file(path, out, "int8")
    converted = load_model(out)
    assert converted.model_id == new_id != source.model_id
    assert converted.priors == source.priors and converted.config == source.config
    assert converted.extra_metadata["converted_from"] == source.model_id
    assert converted.extra_metadata["note"] == "unit test"
    with pytest.raises(ValueError):
        convert_model_file(path, path, "int8")
