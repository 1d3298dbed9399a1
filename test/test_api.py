"""SemanticEncoder / SemanticDecoder: round trips, determinism, validation, model ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.bitstream import BitstreamError, Coding
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.model_file import load_model, save_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, SQGAN(get_config("tiny")))
    return path


@pytest.fixture(scope="module")
def codec(model_path: Path) -> tuple[SemanticEncoder, SemanticDecoder]:
    loaded = load_model(model_path)
    return SemanticEncoder(loaded, device="cpu"), SemanticDecoder(model_path, device="cpu")


def _frame(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 20, (h, w)).astype(np.uint8)


@pytest.mark.parametrize("size", [(97, 203), (32, 64), (300, 90)])
def test_round_trip_odd_sizes(codec: tuple[SemanticEncoder, SemanticDecoder], size: tuple[int, int]) -> None:
    enc, dec = codec
    image, labels = _frame(*size)
    data = enc.encode(image, labels, keep_ratio=0.5, frame_id=7)
    assert data == enc.encode(image, labels, keep_ratio=0.5, frame_id=7)  # deterministic
    out = dec.decode(data)
    assert out.image.shape == (*size, 3) and out.image.dtype == np.uint8
    assert out.labels.shape == size and out.labels.dtype == np.uint8 and out.labels.max() < 20
    assert out.header.image_size == size and out.header.frame_id == 7
    stats = enc.last_stats
    assert stats is not None and stats.payload_bytes == len(data)
    assert stats.image_k == stats.semantic_k == round(0.5 * stats.num_latents)


def test_unlabelled_weights_and_fixed_length(codec: tuple[SemanticEncoder, SemanticDecoder]) -> None:
    enc, dec = codec
    image, labels = _frame(64, 128, seed=1)
    assert dec.decode(enc.encode(image)).image.shape == (64, 128, 3)
    fixed = enc.encode(image, labels, keep_ratio=KeepRatios(0.2, 0.6), coding=Coding.FIXED_LENGTH)
    assert enc.last_stats.semantic_k < enc.last_stats.image_k
    assert dec.decode(fixed).header.coding == Coding.FIXED_LENGTH
    a = enc.encode(image, labels, class_weights={"person": 5.0, "sky": 0.0})
    assert dec.decode(a).image.shape == (64, 128, 3)


def test_more_latents_more_bytes(codec: tuple[SemanticEncoder, SemanticDecoder]) -> None:
    enc, _ = codec
    image, labels = _frame(64, 128, seed=2)
    sizes = [len(enc.encode(image, labels, keep_ratio=r)) for r in (0.05, 0.5, 1.0)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_model_id_mismatch_is_refused(codec: tuple[SemanticEncoder, SemanticDecoder], tmp_path: Path) -> None:
    enc, _ = codec
    torch.manual_seed(99)
    other = tmp_path / "other.safetensors"
    save_model(other, SQGAN(get_config("tiny")))
    data = enc.encode(*_frame(32, 64))
    with pytest.raises(BitstreamError, match="model id"):
        SemanticDecoder(other, device="cpu").decode(data)


@pytest.mark.parametrize("image, labels, kwargs", [
    (np.zeros((32, 64, 3), np.float32), None, {}),
    (np.zeros((32, 64), np.uint8), None, {}),
    (np.zeros((32, 64, 4), np.uint8), None, {}),
    (np.zeros((32, 64, 3), np.uint8), np.zeros((32, 63), np.uint8), {}),
    (np.zeros((32, 64, 3), np.uint8), np.full((32, 64), 20, np.uint8), {}),
    (np.zeros((32, 64, 3), np.uint8), np.full((32, 64), -1, np.int64), {}),
    (np.zeros((32, 64, 3), np.uint8), np.zeros((32, 64), np.float32), {}),
    (np.zeros((32, 64, 3), np.uint8), None, {"keep_ratio": 0.0}),
    (np.zeros((32, 64, 3), np.uint8), None, {"keep_ratio": 1.5}),
    (np.zeros((32, 64, 3), np.uint8), None, {"class_weights": {"dragon": 1.0}}),
    (np.zeros((32, 64, 3), np.uint8), None, {"class_weights": {"person": -1.0}}),
    (np.zeros((32, 64, 3), np.uint8), None, {"frame_id": -1}),
])
def test_invalid_inputs_raise(codec: tuple[SemanticEncoder, SemanticDecoder], image: np.ndarray,
                              labels: np.ndarray | None, kwargs: dict) -> None:
    enc, _ = codec
    with pytest.raises(ValueError):
        enc.encode(image, labels, **kwargs)


def test_bad_device_and_model(model_path: Path) -> None:
    with pytest.raises(ValueError):
        SemanticEncoder(model_path, device="tpu")
    with pytest.raises(TypeError):
        SemanticDecoder(42, device="cpu")  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            SemanticDecoder(model_path, device="cuda")


def test_corrupt_stream_raises(codec: tuple[SemanticEncoder, SemanticDecoder]) -> None:
    enc, dec = codec
    data = bytearray(enc.encode(*_frame(32, 64)))
    data[len(data) // 2] ^= 0x55
    with pytest.raises(BitstreamError):
        dec.decode(bytes(data))
    with pytest.raises(BitstreamError):
        dec.decode(bytes(data[:5]))
