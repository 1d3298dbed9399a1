"""Rate-distortion optimised index choice (sqgan_ros.codec.index_rdo).

Covers: lambda 0 is the nearest codeword; a probable codeword wins only when it is nearly as
close; the choice never costs more than the nearest codeword (distance + weighted bits); positions
never change; validation; and on the bundled default model, fewer bytes at the same positions
with a lossless round trip through the bitstream, the API and the video encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.bitstream import Coding, EntropyPriors, decode_frame
from sqgan_ros.bitstream.priors import BranchPriors
from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols
from sqgan_ros.codec.index_rdo import NEAREST_INDICES, IndexChooser, IndexRDO
from sqgan_ros.codec.model_file import load_model

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default.safetensors"
GRID = (2, 4)


def _priors(counts: np.ndarray) -> EntropyPriors:
    base = EntropyPriors.uniform({"semantic": len(counts), "image": len(counts)})
    branch = BranchPriors(len(counts), counts.astype(np.uint32), base.image.position_odds)
    return EntropyPriors(semantic=branch, image=branch)


def _line_codebook() -> torch.Tensor:
    """Codewords 0..7 on a line: codeword i at (i, 0)."""
    return torch.stack([torch.arange(8, dtype=torch.float32), torch.zeros(8)], dim=1)


def _frame(positions: list[int], indices: list[int]) -> FrameSymbols:
    branch = BranchSymbols(GRID, np.array(positions), np.array(indices))
    return FrameSymbols(semantic=branch, image=branch)


def _latents(points: list[tuple[float, float]], positions: list[int]) -> torch.Tensor:
    z = torch.full((GRID[0] * GRID[1], 2), 100.0)
    for p, xy in zip(positions, points):
        z[p] = torch.tensor(xy)
    return z


def test_zero_lambda_and_disabled_branches_keep_the_nearest_codewords() -> None:
    book = _line_codebook()
    counts = np.array([10_000] + [1] * 7)
    chooser = IndexChooser({"semantic": book, "image": book}, _priors(counts))
    frame = _frame([1, 6], [1, 3])
    z = _latents([(1.1, 0.0), (3.0, 0.2)], [1, 6])
    assert chooser.refine(frame, {"semantic": z, "image": z}, NEAREST_INDICES) is frame
    out = chooser.refine(frame, {"semantic": z, "image": None}, IndexRDO(semantic=0.0, image=5.0))
    assert out.semantic.indices.tolist() == [1, 3] and out.image.indices.tolist() == [1, 3]


def test_probable_codeword_wins_only_when_nearly_as_close() -> None:
    book = _line_codebook()
    counts = np.array([1] * 8)
    counts[2] = 1_000_000  # codeword 2 costs ~0 bits, the others ~20 bits
    chooser = IndexChooser({"semantic": book, "image": book}, _priors(counts))
    positions = [0, 3, 5]
    # latent near 1.6 (codeword 2 is 0.4 away, 1 is 0.6 away... nearest is 2 anyway),
    # latent at 2.55 (nearest 3, codeword 2 only slightly farther), latent at 6.0 (far from 2)
    z = _latents([(1.6, 0.0), (2.55, 0.0), (6.0, 0.0)], positions)
    frame = _frame(positions, [2, 3, 6])
    small = chooser.refine(frame, {"semantic": z, "image": z}, IndexRDO(semantic=0.0, image=0.001))
    assert small.image.indices.tolist() == [2, 3, 6]
    # D0 = mean nearest squared distance = (0.16 + 0.2025 + 0) / 3; lambda 0.5 makes a ~20-bit
    # saving worth ~1.2 squared units: 2.55 -> 2 (cost 0.3025 vs 0.2025 + 20 bits) moves,
    # 6.0 -> 2 (cost 16) does not.
    big = chooser.refine(frame, {"semantic": z, "image": z}, IndexRDO(semantic=0.0, image=0.5))
    assert big.image.indices.tolist() == [2, 2, 6]
    assert big.semantic.indices.tolist() == [2, 3, 6]
    np.testing.assert_array_equal(big.image.positions, frame.image.positions)


def test_choice_never_costs_more_than_the_nearest_codeword() -> None:
    rng = np.random.default_rng(0)
    book = torch.from_numpy(rng.normal(size=(64, 4)).astype(np.float32))
    counts = rng.integers(1, 5000, 64)
    chooser = IndexChooser({"semantic": book, "image": book}, _priors(counts))
    bits = -np.log2(counts / counts.sum())
    grid = (4, 8)
    positions = np.sort(rng.choice(32, 20, replace=False))
    z = torch.from_numpy(rng.normal(size=(32, 4)).astype(np.float32))
    dist = torch.cdist(z, book).pow(2).numpy()
    nearest = dist[positions].argmin(1)
    branch = BranchSymbols(grid, positions, nearest)
    rdo = IndexRDO(semantic=0.0, image=0.3, passes=1)
    out = chooser.refine(FrameSymbols(semantic=branch, image=branch), {"semantic": z, "image": z}, rdo)
    chosen = out.image.indices
    scale = dist[positions].min(1).mean()
    rows = np.arange(len(positions))
    cost_chosen = dist[positions][rows, chosen] + 0.3 * scale * bits[chosen]
    cost_nearest = dist[positions][rows, nearest] + 0.3 * scale * bits[nearest]
    assert np.all(cost_chosen <= cost_nearest + 1e-4)
    assert (chosen != nearest).any()  # the test data does exercise the trade


@pytest.mark.parametrize("kwargs", [{"semantic": -0.1}, {"image": float("nan")}, {"image": True},
                                    {"passes": 0}, {"passes": 1.5}])
def test_invalid_settings_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        IndexRDO(**kwargs)


def test_chooser_checks_its_inputs() -> None:
    book = _line_codebook()
    priors = _priors(np.ones(8, dtype=np.int64))
    with pytest.raises(ValueError):
        IndexChooser({"image": book}, priors)
    with pytest.raises(TypeError):
        IndexChooser({"semantic": book, "image": book}, object())
    with pytest.raises(ValueError):
        IndexChooser({"semantic": book[:4], "image": book}, priors)
    chooser = IndexChooser({"semantic": book, "image": book}, priors)
    with pytest.raises(ValueError):
        chooser.refine(_frame([0], [0]), {"semantic": torch.zeros(3, 2), "image": None}, IndexRDO())


@pytest.fixture(scope="module")
def default_model():
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    from sqgan_ros.data.synthetic import render_scene

    return render_scene(2_000_003, (256, 512))


def test_default_model_sends_fewer_bytes_at_the_same_positions(default_model, scene) -> None:
    image, labels = scene
    enc = SemanticEncoder(default_model, device="cpu", precision="float32")
    dec = SemanticDecoder(default_model, device="cpu", precision="float32")
    for keep in (0.1, 0.25, 1.0):
        plain = enc.encode(image, labels, keep_ratio=keep, index_rdo=NEAREST_INDICES)
        traded = enc.encode(image, labels, keep_ratio=keep)
        assert len(traded) < len(plain)
        _, a = decode_frame(plain, default_model.priors)
        _, b = decode_frame(traded, default_model.priors)
        for name in ("semantic", "image"):
            np.testing.assert_array_equal(a.branch(name).positions, b.branch(name).positions)
        changed = np.mean(a.image.indices != b.image.indices)
        assert 0.0 < changed < 0.6
        out = dec.decode(traded)
        assert out.image.shape == image.shape
    fixed = enc.encode(image, labels, keep_ratio=0.25, coding=Coding.FIXED_LENGTH)
    fixed_nearest = enc.encode(image, labels, keep_ratio=0.25, coding=Coding.FIXED_LENGTH,
                               index_rdo=NEAREST_INDICES)
    assert fixed == fixed_nearest  # no trade where every index costs the same


def test_video_encoder_state_holds_the_indices_it_sent(default_model, scene) -> None:
    from sqgan_ros.video.codec import VideoDecoder, VideoEncoder

    image, labels = scene
    enc = VideoEncoder(default_model, device="cpu", first_frame_id=7, precision="float32")
    dec = VideoDecoder(default_model, device="cpu", precision="float32")
    shifted = np.roll(image, 9, axis=1)
    types = []
    for frame in (image, shifted, image, shifted):
        data = enc.encode(frame, labels, keep_ratio=0.25)
        dec.decode(data)
        sent = enc.last_frame
        types.append(sent.frame_type.name)
        _, symbols = decode_frame(data, default_model.priors)
        np.testing.assert_array_equal(symbols.image.indices, sent.symbols.image.indices)
        held = dec.receiver.history.get(sent.frame_id)
        for name in ("semantic", "image"):
            assert held.branch(name) == sent.state.branch(name)
        enc.acknowledge(sent.frame_id)
    assert types[0] == "INTRA" and "INTER" in types[1:]
