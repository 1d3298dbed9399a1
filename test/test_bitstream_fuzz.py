"""Hostile input: only BitstreamError, in bounded time, for any bytes given to the decoder."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from bitstream_helpers import CODEBOOKS, MODEL_ID, frame, with_crc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import BitstreamError, Coding, EntropyPriors, FrameHeader, decode_frame, encode_frame, peek_header
from sqgan_ros.bitstream.header import StreamLayout, write_header
from sqgan_ros.bitstream.index_context import NUM_GROUPS
from sqgan_ros.codec.prior_fitting import fit_priors

PRIORS = EntropyPriors.uniform(CODEBOOKS)
RNG = np.random.default_rng(0)
#: Learned priors with index context tables (sequential, per-symbol decoding of the indices).
PRIORS_CTX = fit_priors(
    [frame(RNG) for _ in range(40)], CODEBOOKS,
    {name: np.arange(size) % NUM_GROUPS for name, size in CODEBOOKS.items()})
STREAMS = {coding: encode_frame(FrameHeader(MODEL_ID, (480, 640), (256, 512), frame_id=9,
                                            coding=coding), frame(RNG), PRIORS)
           for coding in Coding}
#: Bound on the CPU time of one decode (thread CPU time, so a loaded machine does not fail the
#: test; a decoder that loops or allocates from forged sizes still does).
MAX_CPU_SECONDS = 0.5


def _decode_only_bitstream_errors(data: bytes, priors: EntropyPriors = PRIORS) -> None:
    # The garbage collector is paused while timing: a full collection of the objects Hypothesis
    # accumulates over 100k cases once cost 1.2 s of CPU inside a 12 ms decode.
    gc.disable()
    try:
        start = time.thread_time()
        try:
            decode_frame(data, priors)
        except BitstreamError:
            pass
        elapsed = time.thread_time() - start
    finally:
        gc.enable()
    assert elapsed < MAX_CPU_SECONDS


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    with pytest.raises(BitstreamError):
        decode_frame(data, PRIORS)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_with_our_magic(data: bytes) -> None:
    with pytest.raises(BitstreamError):
        decode_frame(STREAMS[Coding.ENTROPY][:2] + data, PRIORS)


@pytest.mark.parametrize("coding", list(Coding))
def test_every_truncation_is_rejected(coding: Coding) -> None:
    stream = STREAMS[coding]
    for length in range(len(stream)):
        with pytest.raises(BitstreamError):
            decode_frame(stream[:length], PRIORS)
        with pytest.raises(BitstreamError):
            peek_header(stream[:length])


@pytest.mark.parametrize("coding", list(Coding))
def test_every_single_bit_flip_is_rejected(coding: Coding) -> None:
    stream = STREAMS[coding]
    for bit in range(8 * len(stream)):
        corrupted = bytearray(stream)
        corrupted[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(BitstreamError):
            decode_frame(bytes(corrupted), PRIORS)


@settings(max_examples=1000, deadline=None)
@given(coding=st.sampled_from(Coding), data=st.data())
def test_multiple_bit_flips_are_rejected(coding: Coding, data) -> None:
    stream = bytearray(STREAMS[coding])
    bits = data.draw(st.sets(st.integers(0, 8 * len(stream) - 1), min_size=2, max_size=40))
    for bit in bits:
        stream[bit // 8] ^= 0x80 >> (bit % 8)
    with pytest.raises(BitstreamError):
        decode_frame(bytes(stream), PRIORS)


def _forged_payload_case(data) -> bytes:
    """A valid header and CRC around an arbitrary payload (the CRC cannot help here)."""
    grid = (data.draw(st.integers(1, 64)), data.draw(st.integers(1, 64)))
    n = grid[0] * grid[1]
    coding = data.draw(st.sampled_from(Coding))
    flat = (False, False) if coding == Coding.FIXED_LENGTH else (
        data.draw(st.booleans()), data.draw(st.booleans()))
    layout = StreamLayout((grid, grid), (data.draw(st.integers(0, n)),
                                         data.draw(st.integers(0, n))), flat)
    header = FrameHeader(MODEL_ID, (480, 640), (16 * grid[0], 16 * grid[1]), coding=coding)
    return with_crc(write_header(header, layout) + data.draw(st.binary(max_size=2000)))


@settings(max_examples=1500, deadline=None)
@given(data=st.data())
def test_garbage_payload_with_valid_crc(data) -> None:
    _decode_only_bitstream_errors(_forged_payload_case(data),
                                  data.draw(st.sampled_from([PRIORS, PRIORS_CTX])))


@pytest.mark.slow
@pytest.mark.timeout(7200)
@settings(max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.integers(0, 2), data=st.data())
def test_fuzz_100k(kind: int, data) -> None:
    if kind == 0:
        payload = data.draw(st.binary(max_size=800))
    elif kind == 1:
        payload = _forged_payload_case(data)
    else:
        stream = bytearray(STREAMS[data.draw(st.sampled_from(Coding))])
        for bit in data.draw(st.sets(st.integers(0, 8 * len(stream) - 1), min_size=1,
                                     max_size=64)):
            stream[bit // 8] ^= 0x80 >> (bit % 8)
        payload = bytes(stream[:data.draw(st.integers(0, len(stream)))])
    _decode_only_bitstream_errors(payload, data.draw(st.sampled_from([PRIORS, PRIORS_CTX])))


def test_error_messages_name_the_problem() -> None:
    stream = STREAMS[Coding.ENTROPY]
    with pytest.raises(BitstreamError, match="magic"):
        decode_frame(b"\x00" * 40, PRIORS)
    with pytest.raises(BitstreamError, match="version"):
        decode_frame(stream[:1] + bytes([(stream[1] & 0xF0) | 0xF]) + stream[2:], PRIORS)  # version 15
    with pytest.raises(BitstreamError, match="checksum"):
        decode_frame(stream[:-1], PRIORS)
    with pytest.raises(BitstreamError, match="truncated"):
        decode_frame(stream[:4], PRIORS)
    assert issubclass(BitstreamError, ValueError)
