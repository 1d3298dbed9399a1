"""Index context model: contexts as a decoder sees them, lossless coding, learned gain, tables."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from bitstream_helpers import MODEL_ID, clustered_branch, random_branch
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import BitstreamError, BranchSymbols, EntropyPriors, FrameHeader, FrameSymbols, decode_frame, encode_frame
from sqgan_ros.bitstream.index_context import NUM_GROUPS, NUM_INDEX_CONTEXTS, context_of, index_contexts
from sqgan_ros.bitstream.priors import BranchPriors
from sqgan_ros.codec.prior_fitting import codebook_groups, fit_priors

K = 64
SIZES = {"semantic": K, "image": K}
GROUPS = np.arange(K) % NUM_GROUPS  # codeword i is in group i % NUM_GROUPS


def _markov_branch(rng: np.random.Generator, grid: tuple[int, int], k: int) -> BranchSymbols:
    """Clustered positions; each index usually repeats the group of its left/upper kept neighbour."""
    base = clustered_branch(rng, grid, k, codebook_size=K)
    held = np.full(grid[0] * grid[1], -1)
    out = []
    for p in base.positions.tolist():
        ctx = context_of(held, p, grid[1])
        if ctx and rng.random() < 0.8:
            group = (ctx - 1) % NUM_GROUPS
            index = group + NUM_GROUPS * int(rng.integers(0, K // NUM_GROUPS))
        else:
            index = int(rng.integers(0, K))
        held[p] = GROUPS[index]
        out.append(index)
    return BranchSymbols(grid, base.positions, np.array(out))


def _frames(seed: int, count: int, grid=(8, 16), k=(40, 60)) -> list[FrameSymbols]:
    rng = np.random.default_rng(seed)
    return [FrameSymbols(_markov_branch(rng, grid, k[0]), _markov_branch(rng, grid, k[1]))
            for _ in range(count)]


@pytest.fixture(scope="module")
def priors() -> EntropyPriors:
    return fit_priors(_frames(0, 120), SIZES, {"semantic": GROUPS, "image": GROUPS})


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.data())
def test_batch_contexts_equal_what_a_sequential_decoder_sees(h: int, w: int, data) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    k = data.draw(st.integers(0, h * w))
    branch = random_branch(rng, (h, w), k, K)
    held = np.full(h * w, -1)
    expected = []
    for p, i in zip(branch.positions.tolist(), branch.indices.tolist()):
        expected.append(context_of(held, p, w))
        held[p] = GROUPS[i]
    got = index_contexts((h, w), branch.positions, branch.indices, GROUPS)
    assert got.tolist() == expected
    assert all(0 <= c < NUM_INDEX_CONTEXTS for c in expected)


def test_codebook_groups_are_deterministic_and_cluster_nearby_codewords() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 8)) * 10
    book = np.repeat(centres, 25, axis=0) + rng.normal(size=(100, 8)) * 0.1
    a, b = codebook_groups(book, groups=4), codebook_groups(book, groups=4)
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() < 4
    for c in range(4):  # each true cluster lands in one group
        assert len(set(a[c * 25:(c + 1) * 25].tolist())) == 1
    assert codebook_groups(book[:3]).max() < 3  # fewer codewords than groups
    with pytest.raises(ValueError):
        codebook_groups(np.full((4, 2), np.nan))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 24))
def test_round_trip_is_lossless_under_context_priors(priors, seed: int, h: int, w: int) -> None:
    rng = np.random.default_rng(seed)
    ks = [int(rng.integers(0, h * w + 1)) for _ in range(2)]
    symbols = FrameSymbols(random_branch(rng, (h, w), ks[0], K), _markov_branch(rng, (h, w), ks[1]))
    header = FrameHeader(MODEL_ID, (h * 16, w * 16), (h * 16, w * 16))
    assert decode_frame(encode_frame(header, symbols, priors), priors)[1] == symbols


def test_contexts_cost_fewer_bits_than_the_static_model_on_correlated_indices(priors) -> None:
    static = fit_priors(_frames(0, 120), SIZES)
    header = FrameHeader(MODEL_ID, (128, 256), (128, 256))
    test = _frames(7, 30)
    with_ctx = sum(len(encode_frame(header, f, priors)) for f in test)
    without = sum(len(encode_frame(header, f, static)) for f in test)
    assert with_ctx < 0.9 * without


def test_priors_with_contexts_serialise_as_version_2_and_round_trip(priors) -> None:
    data = priors.to_dict()
    assert data["version"] == 2 and "index_context_model" in data
    assert EntropyPriors.from_dict(data) == priors
    assert EntropyPriors.uniform(SIZES).to_dict()["version"] == 1  # old files stay readable/identical


@pytest.mark.parametrize("edit", ["version", "model", "groups", "counts", "missing"])
def test_bad_context_tables_are_refused(priors, edit: str) -> None:
    data = priors.to_dict()
    branch = data["branches"]["image"]
    if edit == "version":
        data["version"] = 3
    elif edit == "model":
        data["index_context_model"] = "other"
    elif edit == "groups":
        branch["code_groups"][0] = NUM_GROUPS
    elif edit == "counts":
        branch["context_counts"][0][0] = 0
    else:
        del branch["context_counts"]
    with pytest.raises(ValueError):
        EntropyPriors.from_dict(data)


def test_both_branches_have_contexts_or_neither(priors) -> None:
    with pytest.raises(ValueError, match="both branches"):
        EntropyPriors(semantic=priors.semantic, image=EntropyPriors.uniform(SIZES).image)
    with pytest.raises(ValueError, match="together"):
        BranchPriors(K, np.ones(K, np.int64), priors.image.position_odds, code_groups=GROUPS)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_garbage_payload_under_context_priors_only_raises_bitstream_errors(priors, junk: bytes) -> None:
    """A valid header followed by random payload bytes (CRC fixed up, so the decoder runs)."""
    from sqgan_ros.bitstream.header import read_header
    symbols = _frames(3, 1)[0]
    body = encode_frame(FrameHeader(MODEL_ID, (128, 256), (128, 256)), symbols, priors)[:-4]
    offset = read_header(body)[2]
    candidate = body[:offset] + junk
    try:
        _, decoded = decode_frame(candidate + zlib.crc32(candidate).to_bytes(4, "big"), priors)
    except BitstreamError:
        return
    for name in ("semantic", "image"):  # whatever decodes is well-formed
        branch = decoded.branch(name)
        assert branch.k == symbols.branch(name).k and (branch.indices < K).all()
