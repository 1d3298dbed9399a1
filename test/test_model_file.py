"""Model files: round trip, ids, tampering, strict keys, non-safetensors input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sqgan_ros.bitstream import EntropyPriors
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.model_file import ModelFileError, load_model, save_model


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, SQGAN, str]:
    torch.manual_seed(0)
    model = SQGAN(get_config("tiny")).eval()
    path = tmp_path / "tiny.safetensors"
    model_id = save_model(path, model, extra_metadata={"note": "unit test"})
    return path, model, model_id


def _raw(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}


def test_round_trip_same_outputs_and_id(saved: tuple[Path, SQGAN, str], tmp_path: Path) -> None:
    path, model, model_id = saved
    loaded = load_model(path)
    assert loaded.model_id == model_id and len(model_id) == 64
    assert loaded.short_id == model_id[:16] and len(loaded.id_bytes) == 8
    assert loaded.config == model.config
    assert loaded.priors == EntropyPriors.uniform({"semantic": 16, "image": 16})
    assert loaded.extra_metadata == {"note": "unit test"}
    assert not loaded.model.training
    assert not any(p.requires_grad for p in loaded.model.parameters())
    labels = torch.randint(0, 20, (1, 32, 64))
    image = torch.rand(1, 3, 32, 64)
    a = model.transmitter.compress(image, labels, KeepRatios.both(0.5))
    b = loaded.model.transmitter.compress(image, labels, KeepRatios.both(0.5))
    assert a == b
    assert torch.equal(model.receiver.decompress(a)[0], loaded.model.receiver.decompress(b)[0])
    # Saving again gives the same id (deterministic); other weights give another id.
    assert save_model(tmp_path / "again.safetensors", loaded.model, extra_metadata={"note": "unit test"}) == model_id
    other = SQGAN(get_config("tiny"))
    assert save_model(tmp_path / "other.safetensors", other) != model_id


def test_tampered_tensor_is_refused(saved: tuple[Path, SQGAN, str], tmp_path: Path) -> None:
    path, _, _ = saved
    metadata, tensors = _raw(path)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1e-3
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ModelFileError, match="corrupt or was edited"):
        load_model(bad)


def test_tampered_metadata_is_refused(saved: tuple[Path, SQGAN, str], tmp_path: Path) -> None:
    path, _, _ = saved
    metadata, tensors = _raw(path)
    meta = json.loads(metadata["sqgan_ros"])
    meta["extra"]["note"] = "edited"
    metadata["sqgan_ros"] = json.dumps(meta)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ModelFileError, match="corrupt or was edited"):
        load_model(bad)


def test_flipped_byte_is_refused(saved: tuple[Path, SQGAN, str], tmp_path: Path) -> None:
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_model(bad)


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_wrong_keys_are_refused(saved: tuple[Path, SQGAN, str], tmp_path: Path, change: str) -> None:
    from sqgan_ros.codec.model_file import compute_model_id
    path, _, _ = saved
    metadata, tensors = _raw(path)
    if change == "extra":
        tensors["image.surprise"] = torch.zeros(2)
    else:
        del tensors[sorted(tensors)[-1]]
    metadata["model_id"] = compute_model_id(metadata["sqgan_ros"], tensors)  # a consistent id
    bad = tmp_path / "keys.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ModelFileError, match="tensor keys"):
        load_model(bad)


def test_not_safetensors_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04not a model at all")
    with pytest.raises(ModelFileError):
        load_model(junk)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "absent.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(1)}, str(plain))
    with pytest.raises(ModelFileError, match="no sqgan_ros metadata"):
        load_model(plain)


def test_priors_must_fit_codebooks(tmp_path: Path) -> None:
    model = SQGAN(get_config("tiny"))
    with pytest.raises(ModelFileError):
        save_model(tmp_path / "m.safetensors", model, EntropyPriors.uniform({"semantic": 8, "image": 16}))


def test_float16_storage_halves_the_file_and_loads_as_float32(saved: tuple[Path, SQGAN, str],
                                                             tmp_path: Path) -> None:
    path, model, model_id = saved
    half = tmp_path / "half.safetensors"
    half_id = save_model(half, model, extra_metadata={"note": "unit test"}, weights_dtype="float16")
    assert half_id != model_id
    meta, tensors = _raw(half)
    assert json.loads(meta["sqgan_ros"])["weights_dtype"] == "float16"
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    _, full = _raw(path)
    nbytes = lambda ts: sum(t.numel() * t.element_size() for t in ts.values())  # noqa: E731
    assert nbytes(tensors) < 0.55 * nbytes(full) and half.stat().st_size < path.stat().st_size
    loaded = load_model(half)
    assert loaded.model_id == half_id
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    for name, value in model.state_dict().items():
        if value.is_floating_point():
            assert torch.equal(loaded.model.state_dict()[name], value.half().float()), name


def test_storage_dtype_must_match_the_declaration(saved: tuple[Path, SQGAN, str], tmp_path: Path) -> None:
    path, model, _ = saved
    with pytest.raises(ValueError, match="weights_dtype"):
        save_model(tmp_path / "x.safetensors", model, weights_dtype="bfloat16")
    # a float16 tensor in a file that declares float32 (id recomputed, so only the check can stop it)
    from sqgan_ros.codec.model_file import compute_model_id
    meta, tensors = _raw(path)
    name = next(k for k, t in tensors.items() if t.is_floating_point())
    tensors[name] = tensors[name].half()
    forged = tmp_path / "forged.safetensors"
    save_file(tensors, str(forged), metadata={"sqgan_ros": meta["sqgan_ros"],
                                              "model_id": compute_model_id(meta["sqgan_ros"], tensors)})
    with pytest.raises(ModelFileError, match="expected torch.float32"):
        load_model(forged)
