"""Frame header: what a decoder must know before it touches the payload.

Wire layout (version 2), bit-packed MSB first, then zero-padded to a byte::

    magic 12 | version 4 | frame_type 1 | coding 1 | flat_positions 1 per branch
             | flat_indices 1 per branch (version 2 only; version 1 streams have none: 0)
                                    (both flags ENTROPY only; must be 0 with FIXED_LENGTH)
    model_id 64
    frame_id           Exp-Golomb order 8
    [INTER only] frame_id - reference_id - 1 (mod 2**32)   Exp-Golomb order 0
    model_size         size code (below)
    image_same 1       [if 0: image_size as size code]
    per branch (semantic, image):
        grid           semantic: stride code; image: same-as-semantic 1 bit, else stride code
    per branch: k      ceil(log2(N + 1)) bits, N = grid cells

    size code  (H, W):  side(H), then ratio 3 bits (0 = explicit side(W); 1..7 = W/H in
                        1, 6/5, 4/3, 3/2, 16/9, 5/4, 2): side(x) = 1 bit "x % 8 == 0", then
                        Exp-Golomb order 5 of x/8 - 1, or order 7 of x - 1
    stride code (gh, gw): 1 bit; if 1: s 3 bits, grid = model_size >> s (exact);
                        else Exp-Golomb order 3 of gh - 1 and gw - 1

A typical intra frame (640x480 camera, 256x512 model, 16x32 grids, frame id < 256) costs
18 bytes; frame ids up to ~130000 cost 20 bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqgan_ros.bitstream.bits import BitReader, BitWriter
from sqgan_ros.bitstream.errors import BitstreamError
from sqgan_ros.bitstream.symbols import BRANCHES, MAX_GRID_CELLS

MAGIC: int = 0xA57
VERSION: int = 2
#: Stream versions this decoder reads (version 1 lacks the flat_indices flags).
READABLE_VERSIONS: tuple[int, ...] = (1, 2)
MODEL_ID_BYTES: int = 8
#: Largest image or model side the format accepts.
MAX_IMAGE_SIDE: int = 16384
MAX_FRAME_ID: int = 2**32 - 1
_FRAME_ID_ORDER = 8
_MAX_STRIDE_LOG2 = 7
#: Width/height ratios of the size code (index 0 = explicit width).
_RATIOS: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (6, 5), (4, 3), (3, 2), (16, 9),
                                       (5, 4), (2, 1))


class FrameType(enum.IntEnum):
    """INTRA frames decode on their own; INTER frames update the latents of a reference."""

    INTRA = 0
    INTER = 1


class Coding(enum.IntEnum):
    """ENTROPY: range-coded payload; FIXED_LENGTH: the paper's bitmap + fixed-width indices."""

    ENTROPY = 0
    FIXED_LENGTH = 1


def _check_size(value: object, name: str) -> tuple[int, int]:
    if not isinstance(value, tuple) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise TypeError(f"{name} must be a tuple of two ints, got {value!r}")
    if not all(1 <= v <= MAX_IMAGE_SIDE for v in value):
        raise ValueError(f"{name} sides must be in [1, {MAX_IMAGE_SIDE}], got {value}")
    return value


@dataclass(frozen=True)
class FrameHeader:
    """Frame-level fields carried by every stream.

    Args:
        model_id: 8 bytes, the first 8 bytes of the model's sha256 id.
        image_size: ``(H, W)`` of the original camera image.
        model_size: ``(H, W)`` the codec ran at.
        frame_type: INTRA or INTER.
        frame_id: uint32 frame counter (wraps).
        reference_id: uint32 frame an INTER frame updates; ``None`` (default) means
            ``frame_id``, which INTRA frames require.
        coding: ENTROPY (default) or FIXED_LENGTH.

    Raises:
        TypeError: a field has the wrong type.
        ValueError: a field is out of range or inconsistent.
    """

    model_id: bytes
    image_size: tuple[int, int]
    model_size: tuple[int, int]
    frame_type: FrameType = FrameType.INTRA
    frame_id: int = 0
    reference_id: int | None = None
    coding: Coding = Coding.ENTROPY

    def __post_init__(self) -> None:
        if not isinstance(self.model_id, (bytes, bytearray)):
            raise TypeError(f"model_id must be bytes, got {type(self.model_id).__name__}")
        if len(self.model_id) != MODEL_ID_BYTES:
            raise ValueError(f"model_id must be {MODEL_ID_BYTES} bytes, got {len(self.model_id)}")
        object.__setattr__(self, "model_id", bytes(self.model_id))
        _check_size(self.image_size, "image_size")
        _check_size(self.model_size, "model_size")
        object.__setattr__(self, "frame_type", FrameType(self.frame_type))
        object.__setattr__(self, "coding", Coding(self.coding))
        if self.reference_id is None:
            object.__setattr__(self, "reference_id", self.frame_id)
        for name in ("frame_id", "reference_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if not 0 <= value <= MAX_FRAME_ID:
                raise ValueError(f"{name} must be a uint32, got {value}")
        if self.frame_type == FrameType.INTRA and self.reference_id != self.frame_id:
            raise ValueError("an INTRA frame's reference_id must equal its frame_id")
        if self.frame_type == FrameType.INTER and self.reference_id == self.frame_id:
            raise ValueError("an INTER frame cannot reference itself")


@dataclass(frozen=True)
class StreamLayout:
    """Per-branch grid and keep count, carried in the header next to :class:`FrameHeader`.

    Args:
        grids: latent grid ``(h, w)`` per branch, in :data:`BRANCHES` order.
        keep_counts: number of kept latents per branch, in :data:`BRANCHES` order.
        flat_positions: per branch, whether the keep mask is coded with the flat
            (enumerative) position model instead of the learned context tables.
        flat_indices: per branch, whether the indices are coded uniformly (log2 K bits each)
            instead of under the learned index tables (content unlike the training data).
    """

    grids: tuple[tuple[int, int], tuple[int, int]]
    keep_counts: tuple[int, int]
    flat_positions: tuple[bool, bool] = (False, False)
    flat_indices: tuple[bool, bool] = (False, False)


def _write_side(writer: BitWriter, side: int) -> None:
    if side % 8 == 0:
        writer.write(1, 1)
        writer.write_exp_golomb(side // 8 - 1, 5)
    else:
        writer.write(0, 1)
        writer.write_exp_golomb(side - 1, 7)


def _read_side(reader: BitReader) -> int:
    if reader.read(1):
        return 8 * (reader.read_exp_golomb(5) + 1)
    return reader.read_exp_golomb(7) + 1


def _write_size(writer: BitWriter, size: tuple[int, int]) -> None:
    height, width = size
    _write_side(writer, height)
    for code, (num, den) in enumerate(_RATIOS[1:], start=1):
        if width * den == height * num:
            writer.write(code, 3)
            return
    writer.write(0, 3)
    _write_side(writer, width)


def _read_size(reader: BitReader) -> tuple[int, int]:
    height = _read_side(reader)
    code = reader.read(3)
    if code == 0:
        return height, _read_side(reader)
    num, den = _RATIOS[code]
    if (height * num) % den:
        raise BitstreamError(f"corrupted header: height {height} has no integer width at "
                             f"ratio {num}:{den}")
    return height, height * num // den


def _stride_log2(model_size: tuple[int, int], grid: tuple[int, int]) -> int | None:
    for s in range(_MAX_STRIDE_LOG2 + 1):
        if model_size[0] == grid[0] << s and model_size[1] == grid[1] << s:
            return s
    return None


def _write_grid(writer: BitWriter, model_size: tuple[int, int], grid: tuple[int, int]) -> None:
    s = _stride_log2(model_size, grid)
    if s is not None:
        writer.write(1, 1)
        writer.write(s, 3)
    else:
        writer.write(0, 1)
        writer.write_exp_golomb(grid[0] - 1, 3)
        writer.write_exp_golomb(grid[1] - 1, 3)


def _read_grid(reader: BitReader, model_size: tuple[int, int]) -> tuple[int, int]:
    if reader.read(1):
        s = reader.read(3)
        grid = (model_size[0] >> s, model_size[1] >> s)
        if (grid[0] << s, grid[1] << s) != model_size:
            raise BitstreamError(f"corrupted header: model size {model_size} is not a "
                                 f"multiple of stride {1 << s}")
        return grid
    return reader.read_exp_golomb(3) + 1, reader.read_exp_golomb(3) + 1


def check_layout(model_size: tuple[int, int], layout: StreamLayout,
                 error: type[ValueError] = ValueError) -> None:
    """Check that grids and keep counts are bounded and consistent with the model size.

    Args:
        model_size: ``(H, W)`` the codec ran at.
        layout: grids and keep counts to check.
        error: exception type to raise (``BitstreamError`` on the decode path).
    """
    for name, grid, k in zip(BRANCHES, layout.grids, layout.keep_counts):
        if not (1 <= grid[0] <= model_size[0] and 1 <= grid[1] <= model_size[1]):
            raise error(f"{name} grid {grid} does not fit the model size {model_size}")
        cells = grid[0] * grid[1]
        if cells > MAX_GRID_CELLS:
            raise error(f"{name} grid {grid} has {cells} cells, more than {MAX_GRID_CELLS}")
        if not 0 <= k <= cells:
            raise error(f"{name} keep count {k} exceeds the {cells} cells of its grid")


def write_header(header: FrameHeader, layout: StreamLayout) -> bytes:
    """Serialise a header and layout (byte-aligned).

    Args:
        header: frame fields.
        layout: per-branch grids and keep counts.
    """
    check_layout(header.model_size, layout)
    writer = BitWriter()
    writer.write(MAGIC, 12)
    writer.write(VERSION, 4)
    writer.write(int(header.frame_type), 1)
    writer.write(int(header.coding), 1)
    if header.coding == Coding.FIXED_LENGTH and any(layout.flat_positions + layout.flat_indices):
        raise ValueError("flat_positions / flat_indices apply to ENTROPY coding only")
    for flat in layout.flat_positions + layout.flat_indices:
        writer.write(int(flat), 1)
    writer.write(int.from_bytes(header.model_id, "big"), 8 * MODEL_ID_BYTES)
    writer.write_exp_golomb(header.frame_id, _FRAME_ID_ORDER)
    if header.frame_type == FrameType.INTER:
        writer.write_exp_golomb((header.frame_id - header.reference_id - 1) % 2**32, 0)
    _write_size(writer, header.model_size)
    if header.image_size == header.model_size:
        writer.write(1, 1)
    else:
        writer.write(0, 1)
        _write_size(writer, header.image_size)
    semantic_grid, image_grid = layout.grids
    _write_grid(writer, header.model_size, semantic_grid)
    if image_grid == semantic_grid:
        writer.write(1, 1)
    else:
        writer.write(0, 1)
        _write_grid(writer, header.model_size, image_grid)
    for grid, k in zip(layout.grids, layout.keep_counts):
        writer.write(k, (grid[0] * grid[1]).bit_length())
    return writer.to_bytes()


def read_header(data: bytes) -> tuple[FrameHeader, StreamLayout, int]:
    """Parse and validate a header.

    Args:
        data: the stream (only its first bytes are read).

    Returns:
        The header, the layout, and the byte offset where the payload starts.

    Raises:
        BitstreamError: truncated, foreign, unsupported or inconsistent header.
    """
    reader = BitReader(data)
    if len(data) < 2 or reader.read(12) != MAGIC:
        raise BitstreamError("not an sqgan_ros stream (bad magic number)")
    version = reader.read(4)
    if version not in READABLE_VERSIONS:
        raise BitstreamError(f"unsupported bitstream version {version} "
                             f"(this decoder reads versions {READABLE_VERSIONS})")
    frame_type = FrameType(reader.read(1))
    coding = Coding(reader.read(1))
    flat_positions = (bool(reader.read(1)), bool(reader.read(1)))
    flat_indices = (bool(reader.read(1)), bool(reader.read(1))) if version >= 2 else (False, False)
    if coding == Coding.FIXED_LENGTH and any(flat_positions + flat_indices):
        raise BitstreamError("corrupted header: model flags set in FIXED_LENGTH mode")
    model_id = reader.read(8 * MODEL_ID_BYTES).to_bytes(MODEL_ID_BYTES, "big")
    frame_id = reader.read_exp_golomb(_FRAME_ID_ORDER)
    if frame_id > MAX_FRAME_ID:
        raise BitstreamError(f"corrupted header: frame id {frame_id} is not a uint32")
    reference_id = frame_id
    if frame_type == FrameType.INTER:
        delta = reader.read_exp_golomb(0) + 1
        if delta > MAX_FRAME_ID:
            raise BitstreamError(f"corrupted header: reference distance {delta} too large")
        reference_id = (frame_id - delta) % 2**32
    model_size = _read_size(reader)
    image_size = _read_size(reader) if not reader.read(1) else model_size
    for name, size in (("model size", model_size), ("image size", image_size)):
        if max(size) > MAX_IMAGE_SIDE:
            raise BitstreamError(f"corrupted header: {name} {size} exceeds {MAX_IMAGE_SIDE}")
    semantic_grid = _read_grid(reader, model_size)
    image_grid = semantic_grid if reader.read(1) else _read_grid(reader, model_size)
    grids = (semantic_grid, image_grid)
    for name, grid in zip(BRANCHES, grids):
        if not (grid[0] <= model_size[0] and grid[1] <= model_size[1]):
            raise BitstreamError(f"corrupted header: {name} grid {grid} does not fit the "
                                 f"model size {model_size}")
        if grid[0] * grid[1] > MAX_GRID_CELLS:
            raise BitstreamError(f"corrupted header: {name} grid {grid} exceeds "
                                 f"{MAX_GRID_CELLS} cells")
    keep_counts = tuple(reader.read((g[0] * g[1]).bit_length()) for g in grids)
    layout = StreamLayout(grids=grids, keep_counts=keep_counts,  # type: ignore[arg-type]
                          flat_positions=flat_positions, flat_indices=flat_indices)
    check_layout(model_size, layout, BitstreamError)
    reader.align()
    header = FrameHeader(model_id=model_id, image_size=image_size, model_size=model_size,
                         frame_type=frame_type, frame_id=frame_id, reference_id=reference_id,
                         coding=coding)
    return header, layout, reader.position // 8
