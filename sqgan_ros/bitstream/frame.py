"""Frame container: header, payload, CRC-32 trailer.

::

    FrameHeader + FrameSymbols --encode_frame--> | header | payload | crc32 (4 B, big endian) |

    payload, ENTROPY:       one range-coder stream (constriction, 32-bit words, big endian,
                            trailing zero bytes dropped): for semantic then image branch,
                            keep mask (positions.py; learned or flat model, whichever is
                            cheaper, flagged in the header) then indices (entropy.py;
                            under neighbour contexts when the priors have them)
    payload, FIXED_LENGTH:  the paper's bitmap + fixed-width indices (fixed_length.py)

The CRC covers header and payload: a truncated, corrupted or spliced stream is rejected with
:class:`BitstreamError` instead of being decoded into a garbage frame (CRC-32 catches every
burst up to 32 bits and all but ~2**-32 of other corruptions, for 4 bytes per frame). The CRC
does not cover the priors: the model id in the header says which model (and so which priors)
made the stream; pass ``expected_model_id`` to have it checked.
"""

from __future__ import annotations

import zlib

import constriction
import numpy as np

from sqgan_ros.bitstream.entropy import choose_flat_indices, decode_indices, encode_indices
from sqgan_ros.bitstream.errors import BitstreamError
from sqgan_ros.bitstream.fixed_length import pack_fixed_length, unpack_fixed_length
from sqgan_ros.bitstream.header import MAGIC, READABLE_VERSIONS, Coding, FrameHeader, StreamLayout, check_layout, read_header, write_header
from sqgan_ros.bitstream.positions import choose_flat, decode_positions, encode_positions, flat_odds_table
from sqgan_ros.bitstream.priors import EntropyPriors
from sqgan_ros.bitstream.symbols import BRANCHES, BranchSymbols, FrameSymbols

CHECKSUM_BYTES: int = 4


def _check_types(header: object, symbols: object, priors: object) -> None:
    for value, kind, name in ((header, FrameHeader, "header"), (symbols, FrameSymbols, "symbols"),
                              (priors, EntropyPriors, "priors")):
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be {kind.__name__}, got {type(value).__name__}")


def encode_frame(header: FrameHeader, symbols: FrameSymbols, priors: EntropyPriors) -> bytes:
    """Serialise one frame.

    Args:
        header: frame fields (``header.coding`` picks ENTROPY or FIXED_LENGTH).
        symbols: kept positions and codebook indices of both branches.
        priors: the model's entropy tables (also define the codebook sizes).

    Returns:
        The stream bytes.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: an index is outside its codebook or a grid does not fit the model size.
    """
    _check_types(header, symbols, priors)
    layout = StreamLayout(grids=(symbols.semantic.grid, symbols.image.grid),
                          keep_counts=(symbols.semantic.k, symbols.image.k))
    check_layout(header.model_size, layout)
    for name in BRANCHES:
        branch, size = symbols.branch(name), priors.branch(name).codebook_size
        if branch.k and int(branch.indices.max()) >= size:
            raise ValueError(f"{name} index {int(branch.indices.max())} is outside the "
                             f"codebook of size {size}")
    if header.coding == Coding.ENTROPY:
        flat = tuple(choose_flat(symbols.branch(name).grid, symbols.branch(name).positions,
                                 priors.branch(name).position_odds) for name in BRANCHES)
        flat_idx = tuple(choose_flat_indices(symbols.branch(name), priors.branch(name))
                         for name in BRANCHES)
        layout = StreamLayout(layout.grids, layout.keep_counts, flat, flat_idx)  # type: ignore[arg-type]
    if header.coding == Coding.FIXED_LENGTH:
        payload = pack_fixed_length(symbols, priors.codebook_sizes)
    else:
        encoder = constriction.stream.queue.RangeEncoder()
        for name, flat, flat_idx in zip(BRANCHES, layout.flat_positions, layout.flat_indices):
            branch, tables = symbols.branch(name), priors.branch(name)
            odds = flat_odds_table() if flat else tables.position_odds
            encode_positions(encoder, branch.grid, branch.positions, odds)
            encode_indices(encoder, branch.grid, branch.positions, branch.indices, tables,
                           flat=flat_idx)
        payload = encoder.get_compressed().astype(">u4").tobytes().rstrip(b"\0")
    body = write_header(header, layout) + payload
    return body + zlib.crc32(body).to_bytes(CHECKSUM_BYTES, "big")


def _verified_header(data: bytes) -> tuple[FrameHeader, StreamLayout, bytes]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 2:
        raise BitstreamError(f"truncated stream: {len(data)} bytes")
    first = int.from_bytes(data[:2], "big")
    if first >> 4 != MAGIC:
        raise BitstreamError("not an sqgan_ros stream (bad magic number)")
    if first & 0xF not in READABLE_VERSIONS:
        raise BitstreamError(f"unsupported bitstream version {first & 0xF} "
                             f"(this decoder reads versions {READABLE_VERSIONS})")
    if len(data) < 2 + CHECKSUM_BYTES:
        raise BitstreamError(f"truncated stream: {len(data)} bytes")
    body, checksum = data[:-CHECKSUM_BYTES], data[-CHECKSUM_BYTES:]
    if zlib.crc32(body) != int.from_bytes(checksum, "big"):
        raise BitstreamError("checksum mismatch: the stream is truncated or corrupted")
    header, layout, offset = read_header(body)
    return header, layout, body[offset:]


def peek_header(data: bytes) -> FrameHeader:
    """Parse and verify only the header (no priors needed), e.g. to check the model id.

    The checksum is verified too, so a header returned here is intact.

    Args:
        data: the stream.

    Raises:
        BitstreamError: the stream is truncated, corrupted, foreign or of another version.
        TypeError: ``data`` is not bytes-like.
    """
    return _verified_header(data)[0]


def _decode_entropy(payload: bytes, layout: StreamLayout, priors: EntropyPriors) -> FrameSymbols:
    padded = payload + b"\0" * (-len(payload) % 4)
    words = np.frombuffer(padded, dtype=">u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    branches = {}
    for name, grid, k, flat, flat_idx in zip(BRANCHES, layout.grids, layout.keep_counts,
                                             layout.flat_positions, layout.flat_indices):
        tables = priors.branch(name)
        odds = flat_odds_table() if flat else tables.position_odds
        try:
            positions = decode_positions(decoder, grid, k, odds)
            indices = decode_indices(decoder, grid, positions, tables, flat=flat_idx)
        except BitstreamError:
            raise
        except Exception as error:  # constriction rejects data invalid for the model
            raise BitstreamError(f"corrupted payload: range decoder failed in the {name} "
                                 f"branch ({type(error).__name__})") from None
        branches[name] = BranchSymbols(grid=grid, positions=positions, indices=indices)
    return FrameSymbols(**branches)


def decode_frame(data: bytes, priors: EntropyPriors, *,
                 expected_model_id: bytes | None = None) -> tuple[FrameHeader, FrameSymbols]:
    """Parse, verify and decode one frame.

    Args:
        data: the stream.
        priors: the decoder model's entropy tables (must be those the encoder used).
        expected_model_id: if given, the decoder's 8-byte model id; a stream from another
            model is rejected.

    Returns:
        The header and the symbols.

    Raises:
        BitstreamError: the stream is truncated, corrupted, foreign, of another version,
            made by another model, or inconsistent with the priors.
        TypeError: ``priors`` is not ``EntropyPriors`` or ``data`` is not bytes-like.
    """
    if not isinstance(priors, EntropyPriors):
        raise TypeError(f"priors must be EntropyPriors, got {type(priors).__name__}")
    header, layout, payload = _verified_header(data)
    if expected_model_id is not None and header.model_id != bytes(expected_model_id):
        raise BitstreamError(f"model id mismatch: the stream was made by model "
                             f"{header.model_id.hex()}, this decoder has "
                             f"{bytes(expected_model_id).hex()}")
    if header.coding == Coding.FIXED_LENGTH:
        symbols = unpack_fixed_length(payload, layout, priors.codebook_sizes)
    else:
        symbols = _decode_entropy(payload, layout, priors)
    return header, symbols
