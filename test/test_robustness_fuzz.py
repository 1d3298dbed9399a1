"""Hostile payloads through the decoder node's path, with a real model file.

test_bitstream_fuzz.py fuzzes ``decode_frame`` with uniform priors. Here every case goes the way
a SemanticFrame payload goes in the decoder node: ``DecoderSession.receive`` with the node's
``VideoDecoder`` on a saved model file (the API screens the header: model id, forged sizes, then
decodes). Cases: random bytes, truncations,
bit flips with the CRC recomputed (so they reach the entropy decoder and the network), forged
headers with our model id, and real headers around random payloads. Only ``BitstreamError`` may
come out; each case's CPU time is bounded (``time.thread_time``: immune to other load on the
machine), and so are Python allocations (tracemalloc) and the process's peak RSS.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import Coding, FrameHeader
from sqgan_ros.bitstream.header import StreamLayout, write_header

MAX_CPU_S = 0.5
MAX_OUTPUT_PIXELS = 1 << 20
MAX_TRACED_MB = 32.0
MAX_RSS_GROWTH_MB = 300.0


class _Target:
    """A tiny random model, saved and loaded like the node does, plus real streams of it."""

    def __init__(self, tmp: Path) -> None:
        import torch

        from sqgan_ros.api import SemanticEncoder
        from sqgan_ros.codec.config import get_config
        from sqgan_ros.codec.model import SQGAN
        from sqgan_ros.codec.model_file import save_model

        torch.set_num_threads(1)
        torch.manual_seed(0)
        path = tmp / "tiny.safetensors"
        save_model(path, SQGAN(get_config("tiny")).eval())
        from sqgan_ros.sessions import DecoderSession, DecoderSettings
        from sqgan_ros.video import VideoDecoder

        self.session = DecoderSession(VideoDecoder(path, device="cpu"),
                                      DecoderSettings(max_output_pixels=MAX_OUTPUT_PIXELS))
        encoder = SemanticEncoder(path, device="cpu")
        self.loaded = self.session.codec.loaded
        self._frame_id = 0
        self.model_size = tuple(self.loaded.config.image_size)
        self.down = self.loaded.config.downsampling
        self.grid = tuple(self.loaded.config.grid(*self.model_size))
        rng = np.random.default_rng(0)
        self.streams = []
        for i, (size, keep, coding) in enumerate([((32, 64), 0.25, Coding.ENTROPY),
                                                  ((48, 80), 1.0, Coding.ENTROPY),
                                                  ((7, 9), 0.05, Coding.FIXED_LENGTH)]):
            image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            labels = rng.integers(0, 20, size=size, dtype=np.uint8)
            self.streams.append(encoder.encode(image, labels, keep_ratio=keep, frame_id=i,
                                               coding=coding))

    def decode(self, data: bytes) -> str:
        """The node's path. Returns the outcome: a refusal's cause, "decoded" or "bitstream"."""
        from sqgan_ros.sessions import Decoded

        self._frame_id = (self._frame_id + 1) % 2**32
        result = self.session.receive(data, message_bytes=len(data) + 28, stamp=0.0)
        if isinstance(result, Decoded):
            h, w = result.size
            assert result.image.shape == (h, w, 3) and result.image.dtype == np.uint8
            assert result.labels.shape == (h, w) and int(result.labels.max()) < 20
            return "decoded"
        for words, cause in (("model size", "model_size"), ("exceeds max_output_pixels", "too_large"),
                             ("latent grid", "grid")):
            if words in result.message:
                return cause
        return "bitstream"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> _Target:
    return _Target(tmp_path_factory.mktemp("fuzz_model"))


def _with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def _case(target: _Target, kind: int, data) -> bytes:
    stream = target.streams[data.draw(st.integers(0, len(target.streams) - 1), label="stream")]
    if kind == 0:
        return data.draw(st.binary(max_size=600), label="random")
    if kind == 1:
        return stream[:data.draw(st.integers(0, len(stream) - 1), label="cut")]
    if kind == 2:  # bit flips, CRC made valid again: reaches the payload decoders
        body = bytearray(stream[:-4])
        for bit in data.draw(st.sets(st.integers(0, 8 * len(body) - 1), min_size=1, max_size=16),
                             label="flips"):
            body[bit // 8] ^= 0x80 >> (bit % 8)
        return _with_crc(bytes(body))
    if kind == 3:  # a forged header with our id: any sizes and grids the format can say
        mh = data.draw(st.sampled_from([target.model_size[0], 8, 64, 256, 4096]), label="mh")
        mw = data.draw(st.sampled_from([target.model_size[1], 8, 128, 512, 8192]), label="mw")
        gh = data.draw(st.integers(1, max(1, min(mh // target.down, 256))), label="gh")
        gw = data.draw(st.integers(1, max(1, min(mw // target.down, 256))), label="gw")
        n = gh * gw
        coding = data.draw(st.sampled_from(Coding), label="coding")
        flat = (False, False) if coding == Coding.FIXED_LENGTH else (
            data.draw(st.booleans()), data.draw(st.booleans()))
        layout = StreamLayout(((gh, gw), (gh, gw)), (data.draw(st.integers(0, min(n, 4096))),
                                                     data.draw(st.integers(0, min(n, 4096)))), flat)
        image = (data.draw(st.integers(1, 16384), label="ih"),
                 data.draw(st.integers(1, 16384), label="iw"))
        header = FrameHeader(target.loaded.id_bytes, image, (mh, mw), coding=coding)
        try:
            head = write_header(header, layout)
        except ValueError:  # a layout the writer itself refuses: send random bytes instead
            head = b""
        return _with_crc(head + data.draw(st.binary(max_size=1500), label="payload"))
    # kind 4: a real header around a random payload
    from sqgan_ros.bitstream.header import read_header

    _, _, offset = read_header(stream[:-4])
    return _with_crc(stream[:offset] + data.draw(st.binary(max_size=800), label="payload"))


def _check(target: _Target, payload: bytes, outcomes: dict[str, int]) -> None:
    start = time.thread_time()
    outcome = target.decode(payload)
    spent = time.thread_time() - start
    assert spent < MAX_CPU_S, f"{outcome} after {spent:.2f} s CPU: {payload[:64].hex()}"
    outcomes[outcome] = outcomes.get(outcome, 0) + 1


def test_real_streams_decode(target: _Target) -> None:
    for stream in target.streams:
        assert target.decode(stream) == "decoded"


def test_forged_sizes_and_grids_are_refused_before_decoding(target: _Target) -> None:
    """A larger model size or a finer grid with our id: the decoder would run its attention on
    many times the latents (measured, tiny model, 1024x2048: 70 s CPU and 10 GB RSS)."""
    from sqgan_ros.bitstream import BranchSymbols, FrameSymbols, encode_frame

    big = (target.model_size[0] * 4, target.model_size[1] * 4)
    grid = (big[0] // target.down, big[1] // target.down)
    one = BranchSymbols(grid, np.array([0]), np.array([0]))
    data = encode_frame(FrameHeader(target.loaded.id_bytes, big, big), FrameSymbols(one, one),
                        target.loaded.priors)
    assert target.decode(data) == "model_size"
    own = BranchSymbols((target.model_size[0] // target.down, target.model_size[1] // target.down),
                        np.array([0]), np.array([0]))
    huge_image = encode_frame(
        FrameHeader(target.loaded.id_bytes, (16384, 16384), target.model_size),
        FrameSymbols(own, own), target.loaded.priors)
    assert target.decode(huge_image) == "too_large"
    fine = (target.model_size[0] // 2, target.model_size[1] // 2)  # right model size, stride 2
    finer = BranchSymbols(fine, np.array([0]), np.array([0]))
    forged_grid = encode_frame(FrameHeader(target.loaded.id_bytes, target.model_size,
                                           target.model_size), FrameSymbols(finer, finer),
                               target.loaded.priors)
    assert target.decode(forged_grid) == "grid"


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.integers(0, 4), data=st.data())
def test_fuzz_through_the_node_path(target: _Target, kind: int, data) -> None:
    _check(target, _case(target, kind, data), {})


def test_allocations_are_bounded(target: _Target) -> None:
    """tracemalloc peak (Python and numpy allocations) of the worst of a batch of forged cases."""
    rng = np.random.default_rng(1)
    worst = 0.0
    payloads = []
    for stream in target.streams:
        body = bytearray(stream[:-4])
        for _ in range(40):
            flipped = bytearray(body)
            for bit in rng.choice(8 * len(body), size=4, replace=False):
                flipped[bit // 8] ^= 0x80 >> (bit % 8)
            payloads.append(_with_crc(bytes(flipped)))
    for payload in payloads:
        tracemalloc.start()
        try:
            target.decode(payload)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        worst = max(worst, peak / 2**20)
    assert worst < MAX_TRACED_MB, f"{worst:.1f} MB traced for one payload"


@pytest.mark.slow
@pytest.mark.timeout(14400)
def test_fuzz_100k_through_the_node_path(target: _Target) -> None:
    """100,000 cases; prints the outcome counts, worst CPU time and RSS growth."""
    outcomes: dict[str, int] = {}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    @settings(max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    @given(kind=st.integers(0, 4), data=st.data())
    def run(kind: int, data) -> None:
        _check(target, _case(target, kind, data), outcomes)

    run()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    total = sum(outcomes.values())
    print(f"fuzz: {total} cases through the node path: {outcomes}; "
          f"peak RSS {rss0:.0f} -> {rss1:.0f} MB")
    assert total >= 100_000
    assert rss1 - rss0 < MAX_RSS_GROWTH_MB
