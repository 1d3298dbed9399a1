"""encode_frame -> decode_frame is lossless in both codings, for any grid and keep count."""

from __future__ import annotations

import numpy as np
import pytest
from bitstream_helpers import CODEBOOKS, MODEL_ID, frame, random_branch
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import (
    CHECKSUM_BYTES,
    BitstreamError,
    BranchSymbols,
    Coding,
    EntropyPriors,
    FrameHeader,
    FrameSymbols,
    FrameType,
    decode_frame,
    encode_frame,
    fixed_length_bits,
    index_width,
    peek_header,
)
from sqgan_ros.bitstream.header import StreamLayout, read_header, write_header

UNIFORM = EntropyPriors.uniform(CODEBOOKS)


def _header(coding: Coding = Coding.ENTROPY, model: tuple[int, int] = (256, 512)) -> FrameHeader:
    return FrameHeader(MODEL_ID, (480, 640), model, frame_id=11, coding=coding)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 40), w=st.integers(1, 40),
       fill=st.tuples(st.floats(0, 1), st.floats(0, 1)), coding=st.sampled_from(Coding),
       sizes=st.tuples(st.integers(1, 5000), st.integers(1, 5000)))
def test_round_trip_random_symbols(seed, h, w, fill, coding, sizes) -> None:
    rng = np.random.default_rng(seed)
    codebooks = dict(zip(("semantic", "image"), sizes))
    priors = EntropyPriors.uniform(codebooks)
    n = h * w
    symbols = FrameSymbols(*(random_branch(rng, (h, w), round(f * n), codebooks[name])
                             for f, name in zip(fill, ("semantic", "image"))))
    header = _header(coding, model=(16 * h, 16 * w))
    data = encode_frame(header, symbols, priors)
    assert decode_frame(data, priors, expected_model_id=MODEL_ID) == (header, symbols)
    assert peek_header(data) == header


@pytest.mark.parametrize("coding", list(Coding))
@pytest.mark.parametrize("grid", [(1, 1), (1, 9), (9, 1), (16, 32), (64, 64), (256, 256)])
def test_extreme_keep_counts(coding, grid) -> None:
    rng = np.random.default_rng(0)
    n = grid[0] * grid[1]
    for ks in ((0, 0), (n, n), (0, n), (1, n - 1)):
        symbols = FrameSymbols(random_branch(rng, grid, ks[0]), random_branch(rng, grid, ks[1]))
        data = encode_frame(_header(coding, model=grid), symbols, UNIFORM)
        assert decode_frame(data, UNIFORM)[1] == symbols


def test_full_and_empty_masks_cost_no_position_bits() -> None:
    rng = np.random.default_rng(1)
    grid = (16, 32)
    empty = FrameSymbols(random_branch(rng, grid, 0), random_branch(rng, grid, 0))
    header_and_crc = len(encode_frame(_header(), empty, UNIFORM))
    full = FrameSymbols(random_branch(rng, grid, 512), random_branch(rng, grid, 512))
    payload = len(encode_frame(_header(), full, UNIFORM)) - header_and_crc
    assert payload <= 2 * 512 * 10 / 8 + 4  # indices only (+ range coder flush)


def test_fixed_length_matches_the_paper_count() -> None:
    symbols = frame(np.random.default_rng(2))
    bits = fixed_length_bits(symbols, CODEBOOKS)
    assert bits == 512 + 26 * 10 + 512 + 205 * 10
    header = _header(Coding.FIXED_LENGTH)
    layout = StreamLayout(grids=((16, 32), (16, 32)), keep_counts=(26, 205))
    data = encode_frame(header, symbols, UNIFORM)
    assert len(data) == len(write_header(header, layout)) + (bits + 7) // 8 + CHECKSUM_BYTES


def test_index_width() -> None:
    assert [index_width(c) for c in (1, 2, 3, 4, 1000, 1024, 1025)] == [0, 1, 2, 2, 10, 10, 11]
    with pytest.raises(ValueError):
        index_width(0)


def test_inter_frame_fields_are_carried() -> None:
    header = FrameHeader(MODEL_ID, (480, 640), (256, 512), frame_type=FrameType.INTER,
                         frame_id=3, reference_id=2**32 - 1)
    symbols = frame(np.random.default_rng(3), ks=(2, 17))
    assert decode_frame(encode_frame(header, symbols, UNIFORM), UNIFORM) == (header, symbols)


def test_model_id_mismatch_is_rejected() -> None:
    data = encode_frame(_header(), frame(np.random.default_rng(4)), UNIFORM)
    with pytest.raises(BitstreamError, match="model id mismatch"):
        decode_frame(data, UNIFORM, expected_model_id=b"\0" * 8)


def test_encode_validates_arguments() -> None:
    rng = np.random.default_rng(5)
    symbols = frame(rng)
    with pytest.raises(TypeError):
        encode_frame(_header(), symbols, CODEBOOKS)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_frame("header", symbols, UNIFORM)  # type: ignore[arg-type]
    small = EntropyPriors.uniform({"semantic": 1024, "image": 8})
    with pytest.raises(ValueError, match="outside the codebook"):
        encode_frame(_header(), symbols, small)
    with pytest.raises(ValueError, match="does not fit the model size"):
        encode_frame(_header(model=(8, 8)), symbols, UNIFORM)


def test_decode_validates_argument_types() -> None:
    data = encode_frame(_header(), frame(np.random.default_rng(6)), UNIFORM)
    with pytest.raises(TypeError):
        decode_frame(data, CODEBOOKS)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        peek_header("not bytes")  # type: ignore[arg-type]


def test_decoder_with_other_codebook_sizes_fails_cleanly() -> None:
    data = encode_frame(_header(Coding.FIXED_LENGTH), frame(np.random.default_rng(7)), UNIFORM)
    with pytest.raises(BitstreamError):
        decode_frame(data, EntropyPriors.uniform({"semantic": 1024, "image": 512}))


@pytest.mark.parametrize("bad", [
    {"grid": (0, 4), "positions": [], "indices": []},
    {"grid": (300, 300), "positions": [], "indices": []},
    {"grid": (2, 2), "positions": [1, 1], "indices": [0, 0]},
    {"grid": (2, 2), "positions": [4], "indices": [0]},
    {"grid": (2, 2), "positions": [1], "indices": [-1]},
    {"grid": (2, 2), "positions": [1, 2], "indices": [0]},
    {"grid": (2, 2), "positions": [[1]], "indices": [[0]]},
])
def test_branch_symbols_validation(bad) -> None:
    with pytest.raises(ValueError):
        BranchSymbols(**bad)


def test_branch_symbols_type_validation() -> None:
    with pytest.raises(TypeError):
        BranchSymbols((2, 2), [0.5], [1])
    with pytest.raises(TypeError):
        BranchSymbols((2.0, 2), [0], [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        FrameSymbols("a", "b")  # type: ignore[arg-type]


def test_indices_unlike_the_priors_fall_back_to_uniform_coding() -> None:
    from sqgan_ros.bitstream.entropy import choose_flat_indices, table_index_bits
    from sqgan_ros.bitstream.priors import BranchPriors

    size = 1024
    counts = np.ones(size, dtype=np.int64)
    counts[:8] = 1_000_000  # the "training data" used codewords 0..7 almost exclusively
    base = EntropyPriors.uniform({"semantic": size, "image": size})
    branch_priors = BranchPriors(size, counts, base.image.position_odds)
    priors = EntropyPriors(semantic=branch_priors, image=branch_priors)
    rng = np.random.default_rng(3)
    positions = np.sort(rng.choice(512, 128, replace=False))
    likely = BranchSymbols((16, 32), positions, rng.integers(0, 8, 128))
    unlikely = BranchSymbols((16, 32), positions, rng.integers(8, size, 128))
    assert not choose_flat_indices(likely, branch_priors)
    assert choose_flat_indices(unlikely, branch_priors)
    assert table_index_bits(unlikely, branch_priors) > 128 * 10  # the tables would cost more
    symbols = FrameSymbols(semantic=likely, image=unlikely)
    data = encode_frame(_header(), symbols, priors)
    _, layout, _ = read_header(data[:-CHECKSUM_BYTES])
    assert layout.flat_indices == (False, True)
    assert decode_frame(data, priors)[1] == symbols
    # the unlikely branch costs about log2(1024) bits per index, not the tables' ~20
    flat_only = FrameSymbols(semantic=BranchSymbols((16, 32), positions[:0], positions[:0]),
                             image=unlikely)
    assert len(encode_frame(_header(), flat_only, priors)) < (128 * 10 + 512) / 8 + 40
