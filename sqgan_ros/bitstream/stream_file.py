"""Stream files: a sequence of SQ-GAN frames on disk (``.sqgs``), for offline video coding.

On a ROS link each frame is one message; on disk a video needs a container. The layout is the
smallest that is still self-describing and checkable::

    magic "SQGS" | version u8 | reserved u8 (0) | frame rate in millihertz u32
    then per frame:  length u32 | frame bytes (one encode_frame() output, with its own CRC-32)

Integers are big-endian. Every frame keeps its own magic, version, model id and checksum, so a
damaged record is found by the frame decoder; this module checks the container itself (magic,
version, record lengths, truncation) and raises :class:`~sqgan_ros.bitstream.BitstreamError`
for bad files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqgan_ros.bitstream.errors import BitstreamError

__all__ = ["STREAM_MAGIC", "STREAM_VERSION", "MAX_RECORD_BYTES", "StreamWriter", "StreamReader"]

STREAM_MAGIC = b"SQGS"
STREAM_VERSION = 1
#: Largest frame a record may hold: far above any real frame (a 16384 x 16384 image at keep 1.0
#: is a few MB), low enough that a corrupted length cannot make a reader allocate gigabytes.
MAX_RECORD_BYTES = 64 * 1024 * 1024
_HEADER_BYTES = 10
_MAX_MILLIHERTZ = 2**32 - 1


def _check_fps(fps: float) -> int:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)):
        raise TypeError(f"fps must be a number, got {type(fps).__name__}")
    millihertz = round(float(fps) * 1000.0) if math.isfinite(fps) else 0
    if not 1 <= millihertz <= _MAX_MILLIHERTZ:
        raise ValueError(f"fps must be in [0.001, {_MAX_MILLIHERTZ / 1000:g}], got {fps}")
    return millihertz


class StreamWriter:
    """Write frames to a stream file (a context manager; ``close()`` flushes and closes).

    Args:
        path: the file to create (replaced if it exists).
        fps: frame rate stored in the file (frames per second, > 0).
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        millihertz = _check_fps(fps)
        self.path = Path(path)
        self.frames = 0
        self.bytes_written = _HEADER_BYTES
        self._file: BinaryIO | None = self.path.open("wb")
        self._file.write(STREAM_MAGIC + bytes([STREAM_VERSION, 0]) + millihertz.to_bytes(4, "big"))

    def write(self, frame: bytes) -> None:
        """Append one frame (the bytes of ``encode_frame`` / an encoder's ``encode``).

        Raises:
            TypeError: ``frame`` is not bytes.
            ValueError: empty or larger than :data:`MAX_RECORD_BYTES`, or the writer is closed.
        """
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise TypeError(f"frame must be bytes, got {type(frame).__name__}")
        if self._file is None:
            raise ValueError(f"stream file {self.path} is closed")
        size = len(frame)
        if not 1 <= size <= MAX_RECORD_BYTES:
            raise ValueError(f"a frame must hold 1..{MAX_RECORD_BYTES} bytes, got {size}")
        self._file.write(size.to_bytes(4, "big"))
        self._file.write(bytes(frame))
        self.frames += 1
        self.bytes_written += 4 + size

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamReader:
    """Read a stream file: its frame rate, then its frames in order.

    The container header is checked on construction; records are checked as they are read.

    Args:
        path: the stream file.

    Raises:
        BitstreamError: not a stream file, an unsupported version, or a truncated header.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as f:
            head = f.read(_HEADER_BYTES)
        if len(head) < 4 or head[:4] != STREAM_MAGIC:
            raise BitstreamError(f"{self.path} is not an sqgan_ros stream file (bad magic number)")
        if len(head) < _HEADER_BYTES:
            raise BitstreamError(f"{self.path}: truncated stream header ({len(head)} bytes)")
        if head[4] != STREAM_VERSION:
            raise BitstreamError(f"{self.path}: unsupported stream file version {head[4]} "
                                 f"(this reader reads version {STREAM_VERSION})")
        millihertz = int.from_bytes(head[6:10], "big")
        if millihertz == 0:
            raise BitstreamError(f"{self.path}: frame rate 0 in the stream header")
        self.fps = millihertz / 1000.0

    def __iter__(self) -> Iterator[bytes]:
        """The frames, in order.

        Raises:
            BitstreamError: a record length of 0 or above :data:`MAX_RECORD_BYTES`, or a record
                cut short by the end of the file (the frames before it have been yielded).
        """
        with self.path.open("rb") as f:
            f.seek(_HEADER_BYTES)
            index = 0
            while True:
                prefix = f.read(4)
                if not prefix:
                    return
                if len(prefix) < 4:
                    raise BitstreamError(f"{self.path}: truncated length of record {index}")
                size = int.from_bytes(prefix, "big")
                if not 1 <= size <= MAX_RECORD_BYTES:
                    raise BitstreamError(f"{self.path}: record {index} claims {size} bytes "
                                         f"(allowed 1..{MAX_RECORD_BYTES}): corrupted file")
                frame = f.read(size)
                if len(frame) < size:
                    raise BitstreamError(f"{self.path}: record {index} is truncated "
                                         f"({len(frame)} of {size} bytes)")
                yield frame
                index += 1
