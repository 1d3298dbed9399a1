"""Entropy priors: serialisation, validation, and the rate gains they must deliver."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from bitstream_helpers import CODEBOOKS, MODEL_ID, clustered_branch, random_branch

from sqgan_ros.bitstream import BranchPriors, Coding, EntropyPriors, FrameHeader, FrameSymbols, decode_frame, encode_frame, fixed_length_bits
from sqgan_ros.bitstream.positions import ODDS_ONE
from sqgan_ros.codec.prior_fitting import fit_priors

GRID = (16, 32)
HEADER = FrameHeader(MODEL_ID, (480, 640), (256, 512), frame_id=1)


def _frames(seed: int, count: int, skew: float, grid: tuple[int, int] = GRID) -> list[FrameSymbols]:
    rng = np.random.default_rng(seed)
    n = grid[0] * grid[1]
    return [FrameSymbols(clustered_branch(rng, grid, round(0.05 * n), skew),
                         clustered_branch(rng, grid, int(rng.choice([0.2, 0.4, 0.7]) * n), skew))
            for _ in range(count)]


@pytest.fixture(scope="module")
def trained() -> EntropyPriors:
    return fit_priors(_frames(0, 150, skew=1.1), CODEBOOKS)


def _mean_bytes(frames: list[FrameSymbols], priors: EntropyPriors) -> float:
    sizes = []
    for symbols in frames:
        data = encode_frame(HEADER, symbols, priors)
        assert decode_frame(data, priors)[1] == symbols
        sizes.append(len(data))
    return float(np.mean(sizes))


def test_round_trip_through_json(trained: EntropyPriors) -> None:
    restored = EntropyPriors.from_dict(json.loads(json.dumps(trained.to_dict())))
    assert restored == trained
    assert EntropyPriors.from_dict(EntropyPriors.uniform(CODEBOOKS).to_dict()) == \
        EntropyPriors.uniform(CODEBOOKS)


def test_learned_priors_beat_uniform_on_skewed_data(trained: EntropyPriors) -> None:
    test = _frames(1, 30, skew=1.1)
    uniform, learned = _mean_bytes(test, EntropyPriors.uniform(CODEBOOKS)), _mean_bytes(test, trained)
    paper = np.mean([fixed_length_bits(s, CODEBOOKS) for s in test]) / 8
    assert learned < 0.85 * uniform
    assert uniform < paper


def _positions_only(priors: EntropyPriors) -> EntropyPriors:
    """The learned position tables with uniform index counts."""
    return EntropyPriors(**{name: BranchPriors(1024, np.ones(1024, dtype=np.uint32),
                                               priors.branch(name).position_odds)
                            for name in ("semantic", "image")})


def _position_bits(symbols: FrameSymbols, priors: EntropyPriors) -> int:
    """Bits the frame costs beyond header, CRC and (uniform, 10-bit) indices."""
    rng = np.random.default_rng(0)
    empty = FrameSymbols(random_branch(rng, symbols.semantic.grid, 0),
                         random_branch(rng, symbols.image.grid, 0))
    data = encode_frame(HEADER, symbols, priors)
    assert decode_frame(data, priors)[1] == symbols
    extra = 8 * (len(data) - len(encode_frame(HEADER, empty, priors)))
    return extra - 10 * (symbols.semantic.k + symbols.image.k)


def test_learned_position_model_beats_enumerative_and_bitmap_on_clustered_masks(
        trained: EntropyPriors) -> None:
    test = _frames(2, 30, skew=0.0)
    learned = np.mean([_position_bits(s, _positions_only(trained)) for s in test])
    flat = np.mean([_position_bits(s, EntropyPriors.uniform(CODEBOOKS)) for s in test])
    bitmap = 2 * 512
    assert learned < 0.7 * flat < 0.7 * bitmap


@pytest.mark.parametrize("k", [1, 26, 128, 256, 400, 511])
def test_positions_on_random_masks_are_never_much_worse_than_a_bitmap(
        trained: EntropyPriors, k: int) -> None:
    rng = np.random.default_rng(k)
    for _ in range(5):
        symbols = FrameSymbols(random_branch(rng, GRID, k), random_branch(rng, GRID, 512 - k))
        assert _position_bits(symbols, _positions_only(trained)) <= 2 * 512 + 32


def test_position_tables_learned_on_one_grid_code_others(trained: EntropyPriors) -> None:
    for grid in ((8, 8), (3, 50), (32, 64)):
        frames = _frames(5, 3, skew=1.1, grid=grid)
        header = FrameHeader(MODEL_ID, (480, 640), (16 * grid[0], 16 * grid[1]))
        for symbols in frames:
            assert decode_frame(encode_frame(header, symbols, trained), trained)[1] == symbols


def test_fit_priors_learns_context_odds(trained: EntropyPriors) -> None:
    odds = trained.image.position_odds
    # a cell whose left, up and up-left neighbours are kept is kept more often than chance
    assert odds[7].max() > 2 * ODDS_ONE and odds[0].min() < ODDS_ONE
    assert trained.image.index_counts.min() >= 1
    assert trained.image.index_counts[0] > trained.image.index_counts[-1]


def test_fit_priors_validation() -> None:
    frames = _frames(6, 2, skew=0.0)
    with pytest.raises(ValueError, match="outside its codebook"):
        fit_priors(frames, {"semantic": 1024, "image": 16})
    with pytest.raises(ValueError, match="exactly the keys"):
        fit_priors(frames, {"image": 1024})
    with pytest.raises(ValueError):
        EntropyPriors.uniform({"semantic": 0, "image": 1024})
    with pytest.raises(TypeError):
        fit_priors([1, 2], CODEBOOKS)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        EntropyPriors.uniform([("semantic", 4)])  # type: ignore[arg-type]


def _mutations() -> list[tuple[str, object]]:
    good = EntropyPriors.uniform({"semantic": 4, "image": 8}).to_dict()
    cases: list[tuple[str, object]] = [("not a dict", [1, 2]), ("empty", {})]

    def mutate(label: str, edit) -> None:
        data = copy.deepcopy(good)
        edit(data)
        cases.append((label, data))

    mutate("format", lambda d: d.update(format="other"))
    mutate("version", lambda d: d.update(version=2))
    mutate("position model", lambda d: d.update(position_model="x"))
    mutate("extra key", lambda d: d.update(extra=1))
    mutate("missing branch", lambda d: d["branches"].pop("image"))
    mutate("branch not dict", lambda d: d["branches"].update(image=3))
    mutate("codebook str", lambda d: d["branches"]["image"].update(codebook_size="8"))
    mutate("codebook bool", lambda d: d["branches"]["image"].update(codebook_size=True))
    mutate("codebook huge", lambda d: d["branches"]["image"].update(codebook_size=2**20))
    mutate("counts length", lambda d: d["branches"]["image"]["index_counts"].pop())
    mutate("counts zero", lambda d: d["branches"]["image"]["index_counts"].__setitem__(0, 0))
    mutate("counts float", lambda d: d["branches"]["image"]["index_counts"].__setitem__(0, 1.5))
    mutate("counts overflow", lambda d: d["branches"]["image"]["index_counts"].__setitem__(
        0, 2**40))
    mutate("counts text", lambda d: d["branches"]["image"].update(index_counts="abc"))
    mutate("odds ragged", lambda d: d["branches"]["image"]["position_odds"][0].pop())
    mutate("odds range", lambda d: d["branches"]["image"]["position_odds"][0].__setitem__(0, 1))
    mutate("odds huge", lambda d: d["branches"]["image"]["position_odds"][0].__setitem__(
        0, 2**70))
    mutate("odds shape", lambda d: d["branches"]["image"].update(position_odds=[[65536]]))
    return cases


@pytest.mark.parametrize("label, data", _mutations(), ids=[c[0] for c in _mutations()])
def test_from_dict_rejects_garbage(label: str, data: object) -> None:
    with pytest.raises(ValueError):
        EntropyPriors.from_dict(data)  # type: ignore[arg-type]


def test_fixed_length_mode_ignores_learned_tables(trained: EntropyPriors) -> None:
    symbols = _frames(7, 1, skew=1.1)[0]
    header = FrameHeader(MODEL_ID, (480, 640), (256, 512), coding=Coding.FIXED_LENGTH)
    assert len(encode_frame(header, symbols, trained)) == len(
        encode_frame(header, symbols, EntropyPriors.uniform(CODEBOOKS)))
