"""Stream files (.sqgs): frames round-trip in order; damaged containers raise BitstreamError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import BitstreamError
from sqgan_ros.bitstream.stream_file import MAX_RECORD_BYTES, STREAM_MAGIC, StreamReader, StreamWriter


def _write(path: Path, frames: list[bytes], fps: float = 10.0) -> Path:
    with StreamWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return path


@settings(max_examples=40, deadline=None)
@given(frames=st.lists(st.binary(min_size=1, max_size=300), max_size=12),
       fps=st.floats(min_value=0.001, max_value=1000.0))
def test_frames_and_fps_round_trip(tmp_path_factory: pytest.TempPathFactory, frames: list[bytes], fps: float) -> None:
    path = _write(tmp_path_factory.mktemp("s") / "a.sqgs", frames, fps)
    reader = StreamReader(path)
    assert reader.fps == pytest.approx(fps, abs=0.0005)
    assert list(reader) == frames
    assert list(reader) == frames  # iterable more than once
    assert path.stat().st_size == 10 + sum(4 + len(f) for f in frames)


def test_writer_counts_and_refuses_bad_frames(tmp_path: Path) -> None:
    with StreamWriter(tmp_path / "a.sqgs", 5.0) as writer:
        writer.write(b"abc")
        assert (writer.frames, writer.bytes_written) == (1, 17)
        with pytest.raises(ValueError, match="1.."):
            writer.write(b"")
        with pytest.raises(TypeError, match="bytes"):
            writer.write("abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")


@pytest.mark.parametrize("fps", [0.0, -1.0, float("nan"), float("inf"), 5e6])
def test_writer_refuses_bad_fps(tmp_path: Path, fps: float) -> None:
    with pytest.raises(ValueError, match="fps"):
        StreamWriter(tmp_path / "a.sqgs", fps)
    with pytest.raises(TypeError):
        StreamWriter(tmp_path / "b.sqgs", True)  # type: ignore[arg-type]


@pytest.mark.parametrize("head,match", [
    (b"", "bad magic"), (b"SQG", "bad magic"), (b"XXXX\x01\x00\x00\x00\x27\x10", "bad magic"),
    (STREAM_MAGIC + b"\x01", "truncated stream header"),
    (STREAM_MAGIC + b"\x02\x00\x00\x00\x27\x10", "unsupported stream file version 2"),
    (STREAM_MAGIC + b"\x01\x00\x00\x00\x00\x00", "frame rate 0"),
])
def test_bad_headers(tmp_path: Path, head: bytes, match: str) -> None:
    path = tmp_path / "bad.sqgs"
    path.write_bytes(head)
    with pytest.raises(BitstreamError, match=match):
        StreamReader(path)


def test_damaged_records_raise_after_the_good_frames(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.sqgs", [b"one", b"two"]).read_bytes()
    cases = {
        "cut_length": (good + b"\x00\x00", "truncated length of record 2"),
        "cut_body": (good + (100).to_bytes(4, "big") + b"short", "record 2 is truncated"),
        "zero_length": (good + (0).to_bytes(4, "big"), "record 2 claims 0 bytes"),
        "huge_length": (good + (MAX_RECORD_BYTES + 1).to_bytes(4, "big"), "corrupted file"),
    }
    for name, (data, match) in cases.items():
        path = tmp_path / f"{name}.sqgs"
        path.write_bytes(data)
        seen = []
        with pytest.raises(BitstreamError, match=match):
            for frame in StreamReader(path):
                seen.append(frame)
        assert seen == [b"one", b"two"], name
