"""Symbols exchanged between the codec and the bitstream (numpy only).

A branch of SQ-GAN (Pezone et al., IEEE TCCN 2025) sends, for each kept latent, its flat
position in the latent grid and its codebook index::

    grid (h, w), N = h * w
    positions: [p_0 < p_1 < ... < p_{k-1}]  in [0, N)
    indices:   [i_0,   i_1, ..., i_{k-1}]   in [0, codebook_size)

For an INTER frame the positions are the latents updated against the reference frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest latent grid (cells per branch) the wire format accepts.
MAX_GRID_CELLS: int = 65536


def _as_index_array(value: object, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class BranchSymbols:
    """Kept latents of one branch.

    Args:
        grid: latent grid ``(h, w)``, each >= 1, with ``h * w <= MAX_GRID_CELLS``.
        positions: int64 ``(k,)`` strictly increasing flat indices in ``[0, h*w)``.
        indices: int64 ``(k,)`` codebook index of each kept latent (``>= 0``; the upper
            bound, the codebook size, is checked by the bitstream against its priors).

    Raises:
        ValueError: shapes, ranges or ordering are invalid.
        TypeError: the arrays do not hold integers.
    """

    grid: tuple[int, int]
    positions: np.ndarray
    indices: np.ndarray

    def __post_init__(self) -> None:
        grid = tuple(self.grid)
        if len(grid) != 2 or not all(isinstance(g, (int, np.integer)) for g in grid):
            raise TypeError(f"grid must be a pair of ints, got {self.grid!r}")
        grid = (int(grid[0]), int(grid[1]))
        if grid[0] < 1 or grid[1] < 1:
            raise ValueError(f"grid dimensions must be >= 1, got {grid}")
        n = grid[0] * grid[1]
        if n > MAX_GRID_CELLS:
            raise ValueError(f"grid {grid} has {n} cells, more than {MAX_GRID_CELLS}")
        positions = _as_index_array(self.positions, "positions")
        indices = _as_index_array(self.indices, "indices")
        if positions.shape != indices.shape:
            raise ValueError(
                f"positions and indices differ in length: {positions.size} vs {indices.size}")
        if positions.size:
            if positions[0] < 0 or positions[-1] >= n:
                raise ValueError(f"positions must lie in [0, {n})")
            if np.any(np.diff(positions) <= 0):
                raise ValueError("positions must be strictly increasing")
            if indices.min() < 0:
                raise ValueError("indices must be >= 0")
        positions.flags.writeable = False
        indices.flags.writeable = False
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "indices", indices)

    @property
    def num_cells(self) -> int:
        """Number of latent cells ``N = h * w``."""
        return self.grid[0] * self.grid[1]

    @property
    def k(self) -> int:
        """Number of kept latents."""
        return int(self.positions.size)

    def keep_mask(self) -> np.ndarray:
        """Boolean keep mask of shape ``grid``."""
        mask = np.zeros(self.num_cells, dtype=bool)
        mask[self.positions] = True
        return mask.reshape(self.grid)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BranchSymbols):
            return NotImplemented
        return (self.grid == other.grid and np.array_equal(self.positions, other.positions)
                and np.array_equal(self.indices, other.indices))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class FrameSymbols:
    """Symbols of one frame: the semantic-map branch and the image branch.

    Args:
        semantic: symbols of the semantic (segmentation map) branch.
        image: symbols of the image branch.
    """

    semantic: BranchSymbols
    image: BranchSymbols

    def __post_init__(self) -> None:
        for name in ("semantic", "image"):
            if not isinstance(getattr(self, name), BranchSymbols):
                raise TypeError(f"{name} must be BranchSymbols, got {type(getattr(self, name))}")

    def branch(self, name: str) -> BranchSymbols:
        """The branch called ``name`` ("semantic" or "image")."""
        if name not in BRANCHES:
            raise ValueError(f"unknown branch {name!r}; expected one of {BRANCHES}")
        return getattr(self, name)

    __hash__ = None  # type: ignore[assignment]


#: Branch names in wire order.
BRANCHES: tuple[str, str] = ("semantic", "image")
