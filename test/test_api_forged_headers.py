"""A header that passes the checksum and names the right model must still not make the decoder
run on more latents or allocate a huge output (forged model size, latent grid, image size)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.bitstream import BitstreamError, decode_frame, encode_frame
from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.codec.model_file import load_model, save_model


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    path: Path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, SQGAN(get_config("tiny")))
    return load_model(path)


@pytest.fixture(scope="module")
def stream(loaded) -> bytes:
    rng = np.random.default_rng(0)
    h, w = loaded.config.image_size
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return SemanticEncoder(loaded, device="cpu").encode(image, keep_ratio=0.5)


def _reforge(loaded, data: bytes, **header_changes) -> tuple:
    header, symbols = decode_frame(data, loaded.priors)
    return replace(header, **header_changes), symbols


def test_genuine_stream_decodes(loaded, stream: bytes) -> None:
    out = SemanticDecoder(loaded, device="cpu").decode(stream)
    assert out.image.shape[:2] == tuple(loaded.config.image_size)


def test_forged_model_size_is_refused(loaded, stream: bytes) -> None:
    h, w = loaded.config.image_size
    header, symbols = _reforge(loaded, stream, model_size=(2 * h, 2 * w))
    with pytest.raises(BitstreamError, match="model size"):
        SemanticDecoder(loaded, device="cpu").reconstruct(header, symbols)


def test_forged_grid_is_refused(loaded, stream: bytes) -> None:
    header, symbols = decode_frame(stream, loaded.priors)
    gh, gw = symbols.image.grid
    finer = BranchSymbols((2 * gh, 2 * gw), np.arange(4, dtype=np.int64), np.zeros(4, dtype=np.int64))
    forged = FrameSymbols(symbols.semantic, finer)
    data = encode_frame(header, forged, loaded.priors)  # a valid stream with the right model id
    with pytest.raises(BitstreamError, match="grid"):
        SemanticDecoder(loaded, device="cpu").decode(data)


def test_output_size_limit(loaded, stream: bytes) -> None:
    header, symbols = _reforge(loaded, stream, image_size=(4000, 5000))
    decoder = SemanticDecoder(loaded, device="cpu", max_output_pixels=1920 * 1080)
    with pytest.raises(BitstreamError, match="max_output_pixels"):
        decoder.reconstruct(header, symbols)
    with pytest.raises(ValueError):
        SemanticDecoder(loaded, device="cpu", max_output_pixels=0)
