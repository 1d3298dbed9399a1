"""Header: round trip, compactness, validation of fields, and forged headers."""

from __future__ import annotations

import pytest
from bitstream_helpers import MODEL_ID
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import BitstreamError, Coding, FrameHeader, FrameType
from sqgan_ros.bitstream.bits import BitWriter
from sqgan_ros.bitstream.header import MAGIC, VERSION, StreamLayout, read_header, write_header

LAYOUT = StreamLayout(grids=((16, 32), (16, 32)), keep_counts=(26, 205))
sides = st.integers(1, 16384)


def test_typical_header_is_at_most_20_bytes() -> None:
    header = FrameHeader(MODEL_ID, (480, 640), (256, 512), frame_id=7)
    assert len(write_header(header, LAYOUT)) == 18
    late = FrameHeader(MODEL_ID, (480, 640), (256, 512), frame_id=130_000)
    assert len(write_header(late, LAYOUT)) <= 20


@settings(max_examples=400, deadline=None)
@given(image=st.tuples(sides, sides), model=st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
       inter=st.booleans(), fixed=st.booleans(), frame_id=st.integers(0, 2**32 - 1),
       distance=st.integers(1, 2**32 - 1), data=st.data())
def test_header_round_trip(image, model, inter, fixed, frame_id, distance, data) -> None:
    grids = tuple((data.draw(st.integers(1, min(model[0], 256))),
                   data.draw(st.integers(1, min(model[1], 256)))) for _ in range(2))
    ks = tuple(data.draw(st.integers(0, g[0] * g[1])) for g in grids)
    header = FrameHeader(
        MODEL_ID, image, model, frame_type=FrameType.INTER if inter else FrameType.INTRA,
        frame_id=frame_id, reference_id=(frame_id - distance) % 2**32 if inter else None,
        coding=Coding.FIXED_LENGTH if fixed else Coding.ENTROPY)
    flat = (False, False) if fixed else (data.draw(st.booleans()), data.draw(st.booleans()))
    layout = StreamLayout(grids=grids, keep_counts=ks, flat_positions=flat)
    raw = write_header(header, layout)
    assert read_header(raw + b"tail") == (header, layout, len(raw))


def test_stride_and_explicit_grids_round_trip() -> None:
    header = FrameHeader(MODEL_ID, (250, 499), (250, 499))
    layout = StreamLayout(grids=((16, 32), (1, 1)), keep_counts=(512, 1))
    assert read_header(write_header(header, layout))[1] == layout


@pytest.mark.parametrize("kwargs, error", [
    ({"model_id": b"short"}, ValueError),
    ({"model_id": "12345678"}, TypeError),
    ({"image_size": (0, 10)}, ValueError),
    ({"image_size": (16385, 10)}, ValueError),
    ({"model_size": [256, 512]}, TypeError),
    ({"frame_id": -1}, ValueError),
    ({"frame_id": 2**32}, ValueError),
    ({"frame_id": 1.0}, TypeError),
    ({"frame_id": 5, "reference_id": 4}, ValueError),
    ({"frame_type": FrameType.INTER, "frame_id": 5, "reference_id": 5}, ValueError),
    ({"coding": 7}, ValueError),
])
def test_header_fields_are_validated(kwargs, error) -> None:
    fields = {"model_id": MODEL_ID, "image_size": (480, 640), "model_size": (256, 512)}
    with pytest.raises(error):
        FrameHeader(**{**fields, **kwargs})


@pytest.mark.parametrize("grids, ks", [
    (((16, 32), (16, 32)), (513, 0)),
    (((300, 32), (16, 32)), (0, 0)),
    (((16, 32), (256, 512)), (0, 0)),
])
def test_write_header_rejects_inconsistent_layout(grids, ks) -> None:
    header = FrameHeader(MODEL_ID, (256, 512), (256, 512))
    with pytest.raises(ValueError):
        write_header(header, StreamLayout(grids=grids, keep_counts=ks))


def _forge(version: int = VERSION, mode_bits: int = 0, height: int = 32, width_code: int = 7,
           grid_log2: int = 4, k: tuple[int, int] = (1, 1), magic: int = MAGIC,
           frame_id_prefix: int = 0, index_flags: int = 0) -> bytes:
    """Header bits written field by field, so that any field can be forged."""
    w = BitWriter()
    w.write(magic, 12)
    w.write(version, 4)
    w.write(mode_bits, 4)  # frame type, coding, flat-position flags
    if version >= 2:
        w.write(index_flags, 2)  # flat-index flags (version 2)
    w.write(int.from_bytes(MODEL_ID, "big"), 64)
    w.write(0, frame_id_prefix)
    w.write_exp_golomb(0, 8)
    w.write(0, 1)  # model height: explicit side
    w.write_exp_golomb(height - 1, 7)
    w.write(width_code, 3)
    w.write(1, 1)  # image size = model size
    w.write(1, 1)
    w.write(grid_log2, 3)
    w.write(1, 1)  # image grid = semantic grid
    cells = (height >> grid_log2) * ((2 * height) >> grid_log2)
    for value in k:
        w.write(value, max(cells, 1).bit_length())
    return w.to_bytes()


def test_forge_helper_makes_a_valid_header() -> None:
    header, layout, _ = read_header(_forge())
    assert header.model_size == (32, 64) and layout.grids == ((2, 4), (2, 4))


def test_version_1_headers_still_read_and_version_2_carries_index_flags() -> None:
    _, old, _ = read_header(_forge(version=1, mode_bits=0b0001))
    assert old.flat_positions == (False, True) and old.flat_indices == (False, False)
    _, new, _ = read_header(_forge(mode_bits=0b0001, index_flags=0b10))
    assert new.flat_positions == (False, True) and new.flat_indices == (True, False)
    header = FrameHeader(MODEL_ID, (256, 512), (256, 512))
    layout = StreamLayout(grids=((16, 32), (16, 32)), keep_counts=(3, 4), flat_indices=(False, True))
    assert read_header(write_header(header, layout))[1] == layout
    fixed = FrameHeader(MODEL_ID, (256, 512), (256, 512), coding=Coding.FIXED_LENGTH)
    with pytest.raises(ValueError, match="ENTROPY"):
        write_header(fixed, layout)


@pytest.mark.parametrize("raw, message", [
    (_forge(magic=0x123), "magic"),
    (_forge(version=3), "version 3"),
    (_forge(version=0), "version 0"),
    (_forge(mode_bits=0b0101), "FIXED_LENGTH"),
    (_forge(mode_bits=0b0100, index_flags=0b01), "FIXED_LENGTH"),
    (_forge(height=20000), "exceeds 16384"),
    (_forge(height=33, width_code=2), "no integer width"),
    (_forge(height=48, grid_log2=5), "not a multiple of stride"),
    (_forge(k=(9, 0)), "keep count 9 exceeds the 8 cells"),
    (_forge(frame_id_prefix=41), "overlong"),
    (_forge()[:5], "truncated"),
    (b"", "magic"),
])
def test_forged_headers_raise_bitstream_error(raw, message) -> None:
    with pytest.raises(BitstreamError, match=message):
        read_header(raw)


def test_huge_grid_is_rejected() -> None:
    w = BitWriter()
    for value, bits in ((MAGIC, 12), (VERSION, 4), (0, 6), (0, 64)):
        w.write(value, bits)
    w.write_exp_golomb(0, 8)
    w.write(1, 1)  # model size 16384 x 16384: side as a multiple of 8, ratio 1:1
    w.write_exp_golomb(16384 // 8 - 1, 5)
    w.write(1, 3)
    w.write(1, 1)  # image size = model size
    w.write(1, 1)
    w.write(0, 3)  # stride 1: grid 16384 x 16384 = 2**28 cells
    w.write(1, 1)  # image grid = semantic grid
    with pytest.raises(BitstreamError, match="exceeds 65536 cells"):
        read_header(w.to_bytes() + bytes(16))


def test_flat_flags_need_entropy_coding() -> None:
    header = FrameHeader(MODEL_ID, (256, 512), (256, 512), coding=Coding.FIXED_LENGTH)
    with pytest.raises(ValueError, match="ENTROPY"):
        write_header(header, StreamLayout(LAYOUT.grids, LAYOUT.keep_counts, (True, False)))


def test_nonzero_padding_is_rejected() -> None:
    raw = bytearray(write_header(FrameHeader(MODEL_ID, (256, 512), (256, 512)), LAYOUT))
    raw[-1] |= 1  # header of this layout ends mid-byte
    with pytest.raises(BitstreamError, match="padding"):
        read_header(bytes(raw))
