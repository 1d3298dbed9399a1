"""Bit-level writer and reader (MSB first) with Exp-Golomb codes, for the frame header.

The reader never reads past its buffer and bounds every variable-length code, so a
garbage header costs at most a few dozen bit reads before a :class:`BitstreamError`.
"""

from __future__ import annotations

from sqgan_ros.bitstream.errors import BitstreamError

#: Longest Exp-Golomb prefix (leading zeros) the reader accepts: values stay below 2**40.
MAX_EXP_GOLOMB_PREFIX: int = 40


class BitWriter:
    """Accumulates bits MSB first into a Python int."""

    def __init__(self) -> None:
        self._value = 0
        self._nbits = 0

    @property
    def num_bits(self) -> int:
        """Number of bits written so far."""
        return self._nbits

    def write(self, value: int, nbits: int) -> None:
        """Write ``value`` as an unsigned ``nbits``-bit field.

        Args:
            value: integer in ``[0, 2**nbits)``.
            nbits: field width (>= 0).
        """
        if nbits < 0 or value < 0 or value >> nbits:
            raise ValueError(f"value {value} does not fit in {nbits} bits")
        self._value = (self._value << nbits) | value
        self._nbits += nbits

    def write_exp_golomb(self, value: int, order: int) -> None:
        """Write ``value >= 0`` with an order-``order`` Exp-Golomb code.

        Args:
            value: non-negative integer below ``2**(MAX_EXP_GOLOMB_PREFIX + order)``.
            order: Exp-Golomb order k (values below ``2**k`` cost ``k + 1`` bits).
        """
        if value < 0:
            raise ValueError(f"Exp-Golomb value must be >= 0, got {value}")
        shifted = value + (1 << order)
        length = shifted.bit_length()  # = prefix + 1 + order
        prefix = length - 1 - order
        if prefix > MAX_EXP_GOLOMB_PREFIX:
            raise ValueError(f"value {value} too large for the header's Exp-Golomb code")
        self.write(0, prefix)
        self.write(shifted, length)

    def to_bytes(self) -> bytes:
        """The bits written, zero-padded to a whole number of bytes."""
        pad = (-self._nbits) % 8
        return (self._value << pad).to_bytes((self._nbits + pad) // 8, "big")


class BitReader:
    """Reads bits MSB first from a bytes object, raising :class:`BitstreamError` at the end."""

    def __init__(self, data: bytes, what: str = "header") -> None:
        self._data = data
        self._pos = 0
        self._limit = 8 * len(data)
        self._what = what

    @property
    def position(self) -> int:
        """Bits consumed so far."""
        return self._pos

    def read(self, nbits: int) -> int:
        """Read an unsigned ``nbits``-bit field.

        Args:
            nbits: field width (>= 0).
        """
        end = self._pos + nbits
        if end > self._limit:
            raise BitstreamError(f"truncated stream: the {self._what} ends early")
        first, last = self._pos // 8, (end + 7) // 8
        chunk = int.from_bytes(self._data[first:last], "big")
        value = (chunk >> (8 * last - end)) & ((1 << nbits) - 1)
        self._pos = end
        return value

    def read_exp_golomb(self, order: int) -> int:
        """Read an order-``order`` Exp-Golomb code (bounded prefix).

        Args:
            order: Exp-Golomb order k used by the writer.
        """
        prefix = 0
        while self.read(1) == 0:
            prefix += 1
            if prefix > MAX_EXP_GOLOMB_PREFIX:
                raise BitstreamError(f"corrupted {self._what}: overlong variable-length field")
        rest = self.read(prefix + order)
        return ((1 << (prefix + order)) | rest) - (1 << order)

    def align(self) -> None:
        """Skip to the next byte boundary; the skipped padding bits must be zero."""
        pad = (-self._pos) % 8
        if pad and self.read(pad) != 0:
            raise BitstreamError(f"corrupted {self._what}: non-zero padding bits")
