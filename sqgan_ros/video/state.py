"""Reference states of the video codec: what the decoder knows after each frame (numpy only).

A frame's state holds, per branch, the codebook index of every latent the decoder knows and a
mask of which latents those are::

    INTRA frame f:              known_f = kept positions,    index_f[p] = sent index
    INTER frame f against r:    known_f = known_r | updated, index_f = index_r, then updates

Encoder and decoder build the same states from the same symbols, so the encoder knows exactly
what the decoder will reconstruct from every frame it accepts. Frame ids are uint32 and wrap;
:func:`frame_distance` compares them modulo 2**32.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from sqgan_ros.bitstream.symbols import BRANCHES, BranchSymbols, FrameSymbols

FRAME_ID_MODULUS: int = 2**32

__all__ = ["BranchState", "ReferenceState", "ReferenceHistory", "frame_distance",
           "FRAME_ID_MODULUS"]


def frame_distance(newer: int, older: int) -> int:
    """Frames from ``older`` to ``newer`` modulo 2**32 (0 .. 2**32 - 1).

    Args:
        newer: the later frame id.
        older: the earlier frame id.
    """
    return (int(newer) - int(older)) % FRAME_ID_MODULUS


@dataclass(frozen=True, eq=False)
class BranchState:
    """Latents of one branch known after a frame.

    Args:
        grid: latent grid ``(h, w)``.
        indices: int64 ``(N,)`` codebook index per latent (0 where unknown).
        known: bool ``(N,)``, the latents the decoder holds.
    """

    grid: tuple[int, int]
    indices: np.ndarray
    known: np.ndarray

    def __post_init__(self) -> None:
        n = int(self.grid[0]) * int(self.grid[1])
        indices = np.asarray(self.indices)
        known = np.asarray(self.known)
        if indices.shape != (n,) or known.shape != (n,):
            raise ValueError(f"indices and known must have shape ({n},) for grid {self.grid}, "
                             f"got {indices.shape} and {known.shape}")
        if known.dtype != bool:
            raise TypeError(f"known must be a bool array, got {known.dtype}")
        indices = np.where(known, indices, 0).astype(np.int64)
        known = known.copy()
        indices.flags.writeable = False
        known.flags.writeable = False
        object.__setattr__(self, "grid", (int(self.grid[0]), int(self.grid[1])))
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "known", known)

    @property
    def num_cells(self) -> int:
        """Latents in the grid."""
        return self.grid[0] * self.grid[1]

    @property
    def num_known(self) -> int:
        """Latents the decoder holds."""
        return int(self.known.sum())

    @classmethod
    def from_symbols(cls, symbols: BranchSymbols) -> BranchState:
        """State after an INTRA frame: only the sent latents are known."""
        indices = np.zeros(symbols.num_cells, dtype=np.int64)
        known = np.zeros(symbols.num_cells, dtype=bool)
        indices[symbols.positions] = symbols.indices
        known[symbols.positions] = True
        return cls(symbols.grid, indices, known)

    def updated(self, symbols: BranchSymbols) -> BranchState:
        """State after an INTER frame whose updates are ``symbols``.

        Raises:
            ValueError: the update's grid differs from this state's.
        """
        if symbols.grid != self.grid:
            raise ValueError(f"update grid {symbols.grid} differs from the reference grid "
                             f"{self.grid}")
        indices = self.indices.copy()
        known = self.known.copy()
        indices[symbols.positions] = symbols.indices
        known[symbols.positions] = True
        return BranchState(self.grid, indices, known)

    def to_symbols(self) -> BranchSymbols:
        """Every known latent as symbols (what the receiver decodes from)."""
        positions = np.flatnonzero(self.known)
        return BranchSymbols(self.grid, positions, self.indices[positions])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BranchState):
            return NotImplemented
        return (self.grid == other.grid and np.array_equal(self.known, other.known)
                and np.array_equal(self.indices, other.indices))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class ReferenceState:
    """Both branches' states after frame ``frame_id``.

    Args:
        frame_id: uint32 id of the frame this state follows.
        semantic: semantic-branch state.
        image: image-branch state.
        intra: True when the frame was INTRA.
    """

    frame_id: int
    semantic: BranchState
    image: BranchState
    intra: bool

    @classmethod
    def from_intra(cls, frame_id: int, symbols: FrameSymbols) -> ReferenceState:
        """State after an INTRA frame."""
        return cls(int(frame_id), BranchState.from_symbols(symbols.semantic),
                   BranchState.from_symbols(symbols.image), True)

    def updated(self, frame_id: int, symbols: FrameSymbols) -> ReferenceState:
        """State after an INTER frame ``frame_id`` that updates this one with ``symbols``."""
        return ReferenceState(int(frame_id), self.semantic.updated(symbols.semantic),
                              self.image.updated(symbols.image), False)

    def branch(self, name: str) -> BranchState:
        """The state of branch ``name`` ("semantic" or "image")."""
        if name not in BRANCHES:
            raise ValueError(f"unknown branch {name!r}; expected one of {BRANCHES}")
        return getattr(self, name)

    def to_symbols(self) -> FrameSymbols:
        """The full symbols to decode this state with ``Receiver.decompress``."""
        return FrameSymbols(semantic=self.semantic.to_symbols(), image=self.image.to_symbols())

    @property
    def complete(self) -> bool:
        """True when every latent of both branches is known."""
        return bool(self.semantic.known.all() and self.image.known.all())


class ReferenceHistory:
    """Bounded map frame id -> :class:`ReferenceState`, oldest inserted evicted first.

    Args:
        capacity: states kept (>= 1).
    """

    def __init__(self, capacity: int = 32) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._states: OrderedDict[int, ReferenceState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, frame_id: object) -> bool:
        return frame_id in self._states

    def get(self, frame_id: int) -> ReferenceState | None:
        """The state after ``frame_id``, or None when not held."""
        return self._states.get(int(frame_id))

    def ids(self) -> list[int]:
        """Held frame ids, oldest inserted first."""
        return list(self._states)

    def add(self, state: ReferenceState) -> None:
        """Insert (or replace) a state, evicting the oldest beyond ``capacity``."""
        if not isinstance(state, ReferenceState):
            raise TypeError(f"state must be a ReferenceState, got {type(state).__name__}")
        self._states.pop(state.frame_id, None)
        self._states[state.frame_id] = state
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)

    def keep_only(self, frame_id: int) -> None:
        """Drop every state but ``frame_id``'s (after an INTRA frame nothing older is used)."""
        state = self._states.get(int(frame_id))
        self._states.clear()
        if state is not None:
            self._states[state.frame_id] = state

    def clear(self) -> None:
        """Forget everything."""
        self._states.clear()
