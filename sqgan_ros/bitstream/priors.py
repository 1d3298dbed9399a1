"""Entropy priors: frozen probability tables stored with the model.

Fit them with :func:`sqgan_ros.codec.prior_fitting.fit_priors` on the symbols of the training set
after training (the counterpart of CompressAI's ``update()``; the fitting is not part of the wire
format) and save the result with the model; the
encode and decode functions take the priors as a required argument, so nothing can be coded
without them. :meth:`EntropyPriors.uniform` gives tables for an untrained model.

Per branch the priors hold:

- ``codebook_size`` -- the decoder rejects indices outside ``[0, codebook_size)``;
- ``index_counts`` -- uint32 frequency of each codebook index (floored at 1, so every index
  is codable), the static model of :mod:`sqgan_ros.bitstream.entropy`;
- ``position_odds`` -- int ``(NUM_CONTEXTS, NUM_DENSITY_BINS)`` fixed-point odds ratios of
  the keep-mask model of :mod:`sqgan_ros.bitstream.positions`;
- optionally ``code_groups`` (``(codebook_size,)`` group of each codeword) and
  ``context_counts`` (``(NUM_INDEX_CONTEXTS, codebook_size)`` counts): the index context model
  of :mod:`sqgan_ros.bitstream.index_context`, which then replaces ``index_counts`` for coding
  (priors version 2; version 1 has no context tables).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import constriction
import numpy as np

from sqgan_ros.bitstream import positions as pos
from sqgan_ros.bitstream.index_context import INDEX_CONTEXT_MODEL_NAME, NUM_GROUPS, NUM_INDEX_CONTEXTS, index_contexts
from sqgan_ros.bitstream.symbols import BRANCHES

PRIORS_FORMAT: str = "sqgan_ros.entropy_priors"
PRIORS_VERSION: int = 2
#: Versions this code reads (1: no index contexts).
READABLE_VERSIONS: tuple[int, ...] = (1, 2)
#: Largest codebook the format accepts.
MAX_CODEBOOK_SIZE: int = 1 << 16
#: Largest count a table may hold (uint32).
MAX_COUNT: int = 2**32 - 1


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class BranchPriors:
    """Tables of one branch.

    Args:
        codebook_size: number of codebook entries (1..65536).
        index_counts: ``(codebook_size,)`` integer counts in ``[1, 2**32)``.
        position_odds: ``(NUM_CONTEXTS, NUM_DENSITY_BINS)`` odds ratios in
            ``[MIN_ODDS, MAX_ODDS]`` (``ODDS_ONE`` = 1.0).
        code_groups: ``(codebook_size,)`` group of each codeword in ``[0, NUM_GROUPS)``, or None.
        context_counts: ``(NUM_INDEX_CONTEXTS, codebook_size)`` counts in ``[1, 2**32)``, or
            None (both or neither).

    Raises:
        ValueError: a table has the wrong shape or values out of range.
    """

    codebook_size: int
    index_counts: np.ndarray
    position_odds: np.ndarray
    code_groups: np.ndarray | None = None
    context_counts: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (not isinstance(self.codebook_size, (int, np.integer))
                or not 1 <= self.codebook_size <= MAX_CODEBOOK_SIZE):
            raise ValueError(f"codebook_size must be an int in [1, {MAX_CODEBOOK_SIZE}], "
                             f"got {self.codebook_size!r}")
        counts = np.asarray(self.index_counts)
        if counts.shape != (self.codebook_size,) or counts.dtype.kind not in "iu":
            raise ValueError(f"index_counts must be {self.codebook_size} integers, "
                             f"got shape {counts.shape} dtype {counts.dtype}")
        if counts.min() < 1 or counts.max() > MAX_COUNT:
            raise ValueError(f"index_counts must lie in [1, {MAX_COUNT}]")
        odds = np.asarray(self.position_odds)
        shape = (pos.NUM_CONTEXTS, pos.NUM_DENSITY_BINS)
        if odds.shape != shape or odds.dtype.kind not in "iu":
            raise ValueError(f"position_odds must be integers of shape {shape}, "
                             f"got shape {odds.shape} dtype {odds.dtype}")
        if odds.min() < pos.MIN_ODDS or odds.max() > pos.MAX_ODDS:
            raise ValueError(f"position_odds must lie in [{pos.MIN_ODDS}, {pos.MAX_ODDS}]")
        object.__setattr__(self, "codebook_size", int(self.codebook_size))
        object.__setattr__(self, "index_counts", _frozen(counts.astype(np.uint32)))
        object.__setattr__(self, "position_odds", _frozen(odds.astype(np.int64)))
        if (self.code_groups is None) != (self.context_counts is None):
            raise ValueError("code_groups and context_counts come together (or neither)")
        if self.code_groups is not None:
            groups = np.asarray(self.code_groups)
            if groups.shape != (self.codebook_size,) or groups.dtype.kind not in "iu":
                raise ValueError(f"code_groups must be {self.codebook_size} integers, got shape "
                                 f"{groups.shape} dtype {groups.dtype}")
            if groups.min() < 0 or groups.max() >= NUM_GROUPS:
                raise ValueError(f"code_groups must lie in [0, {NUM_GROUPS})")
            table = np.asarray(self.context_counts)
            shape = (NUM_INDEX_CONTEXTS, self.codebook_size)
            if table.shape != shape or table.dtype.kind not in "iu":
                raise ValueError(f"context_counts must be integers of shape {shape}, got shape "
                                 f"{table.shape} dtype {table.dtype}")
            if table.min() < 1 or table.max() > MAX_COUNT:
                raise ValueError(f"context_counts must lie in [1, {MAX_COUNT}]")
            object.__setattr__(self, "code_groups", _frozen(groups.astype(np.int64)))
            object.__setattr__(self, "context_counts", _frozen(table.astype(np.uint32)))

    @property
    def has_index_contexts(self) -> bool:
        """True when indices are coded under the neighbour context model."""
        return self.context_counts is not None

    @functools.cached_property
    def context_models(self) -> tuple[constriction.stream.model.Categorical, ...]:
        """One categorical model per index context (empty without context tables)."""
        if self.context_counts is None:
            return ()
        table = self.context_counts.astype(np.float64)
        return tuple(constriction.stream.model.Categorical(row / row.sum(), perfect=False)
                     for row in table)

    @functools.cached_property
    def index_model(self) -> constriction.stream.model.Categorical:
        """The static categorical model of the codebook indices."""
        counts = self.index_counts.astype(np.float64)
        return constriction.stream.model.Categorical(counts / counts.sum(), perfect=False)

    def index_bits(self) -> np.ndarray:
        """Ideal cost in bits of each codebook index under this model."""
        counts = self.index_counts.astype(np.float64)
        return -np.log2(counts / counts.sum())

    @functools.cached_property
    def context_index_bits(self) -> np.ndarray:
        """Ideal cost in bits of every index under each index context, float64 ``(C, K)``.

        With context tables, row ``c`` is context ``c`` (:mod:`~sqgan_ros.bitstream.index_context`);
        without them, one row: the static table (every index has context 0,
        :meth:`index_contexts_of`).
        """
        counts = (self.context_counts if self.has_index_contexts
                  else self.index_counts[None, :]).astype(np.float64)
        bits = -np.log2(counts / counts.sum(axis=1, keepdims=True))
        bits.flags.writeable = False
        return bits

    def index_contexts_of(self, grid: tuple[int, int], positions: np.ndarray,
                          indices: np.ndarray) -> np.ndarray:
        """Row of :attr:`context_index_bits` for each kept index (all 0 without context tables).

        Args:
            grid: latent grid ``(h, w)``.
            positions: int64 ``(k,)`` strictly increasing flat positions.
            indices: int64 ``(k,)`` codebook indices at those positions.
        """
        if not self.has_index_contexts:
            return np.zeros(len(indices), dtype=np.int64)
        return index_contexts(grid, positions, indices, self.code_groups)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BranchPriors):
            return NotImplemented
        return (self.codebook_size == other.codebook_size
                and np.array_equal(self.index_counts, other.index_counts)
                and np.array_equal(self.position_odds, other.position_odds)
                and _optional_equal(self.code_groups, other.code_groups)
                and _optional_equal(self.context_counts, other.context_counts))

    __hash__ = None  # type: ignore[assignment]


def _optional_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def check_codebook_sizes(codebook_sizes: Mapping[str, int]) -> dict[str, int]:
    """``{"semantic": K, "image": K}`` checked (both branches, 1 <= K <= MAX_CODEBOOK_SIZE) as plain ints."""
    if not isinstance(codebook_sizes, Mapping):
        raise TypeError(f"codebook_sizes must be a mapping, got {type(codebook_sizes).__name__}")
    if set(codebook_sizes) != set(BRANCHES):
        raise ValueError(f"codebook_sizes must have exactly the keys {BRANCHES}, "
                         f"got {sorted(codebook_sizes)}")
    sizes = {}
    for name in BRANCHES:
        size = codebook_sizes[name]
        if not isinstance(size, (int, np.integer)) or not 1 <= size <= MAX_CODEBOOK_SIZE:
            raise ValueError(f"codebook size of {name!r} must be in [1, {MAX_CODEBOOK_SIZE}], "
                             f"got {size!r}")
        sizes[name] = int(size)
    return sizes


@dataclass(frozen=True, eq=True)
class EntropyPriors:
    """Frozen entropy tables of both branches (JSON-serialisable).

    Args:
        semantic: tables of the semantic branch.
        image: tables of the image branch.
    """

    semantic: BranchPriors
    image: BranchPriors

    def __post_init__(self) -> None:
        for name in BRANCHES:
            if not isinstance(getattr(self, name), BranchPriors):
                raise TypeError(f"{name} must be BranchPriors")
        if self.semantic.has_index_contexts != self.image.has_index_contexts:
            raise ValueError("index context tables must be given for both branches or neither")

    def branch(self, name: str) -> BranchPriors:
        """Tables of the branch called ``name``."""
        if name not in BRANCHES:
            raise ValueError(f"unknown branch {name!r}; expected one of {BRANCHES}")
        return getattr(self, name)

    @property
    def codebook_sizes(self) -> dict[str, int]:
        """Codebook size per branch."""
        return {name: self.branch(name).codebook_size for name in BRANCHES}

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def uniform(cls, codebook_sizes: Mapping[str, int]) -> EntropyPriors:
        """Priors of an untrained model: uniform indices, enumerative position model.

        Args:
            codebook_sizes: codebook size per branch ("semantic", "image").
        """
        sizes = check_codebook_sizes(codebook_sizes)
        odds = np.full((pos.NUM_CONTEXTS, pos.NUM_DENSITY_BINS), pos.ODDS_ONE, dtype=np.int64)
        return cls(**{name: BranchPriors(size, np.ones(size, dtype=np.uint32), odds)
                      for name, size in sizes.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (plain ints and lists); version 1 when there are no contexts."""
        contexts = all(self.branch(name).has_index_contexts for name in BRANCHES)
        branches = {}
        for name in BRANCHES:
            tables = self.branch(name)
            entry = {"codebook_size": tables.codebook_size,
                     "index_counts": tables.index_counts.tolist(),
                     "position_odds": tables.position_odds.tolist()}
            if contexts:
                entry["code_groups"] = tables.code_groups.tolist()
                entry["context_counts"] = tables.context_counts.tolist()
            branches[name] = entry
        out = {"format": PRIORS_FORMAT, "version": PRIORS_VERSION if contexts else 1,
               "position_model": pos.POSITION_MODEL_NAME, "branches": branches}
        if contexts:
            out["index_context_model"] = INDEX_CONTEXT_MODEL_NAME
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EntropyPriors:
        """Rebuild priors from :meth:`to_dict` output, validating everything.

        Args:
            data: the dictionary (e.g. parsed from a model file's JSON metadata).

        Raises:
            ValueError: the dictionary is not valid priors of this format version.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"entropy priors must be a mapping, got {type(data).__name__}")
        version = data.get("version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported entropy priors version {version!r} "
                             f"(this code reads {READABLE_VERSIONS})")
        contexts = version >= 2
        top = {"format", "version", "position_model", "branches"}
        _expect_keys(data, top | ({"index_context_model"} if contexts else set()), "priors")
        if data["format"] != PRIORS_FORMAT:
            raise ValueError(f"not entropy priors (format {data['format']!r})")
        if contexts and data["index_context_model"] != INDEX_CONTEXT_MODEL_NAME:
            raise ValueError(f"unsupported index context model {data['index_context_model']!r} "
                             f"(this code uses {INDEX_CONTEXT_MODEL_NAME!r})")
        if data["position_model"] != pos.POSITION_MODEL_NAME:
            raise ValueError(f"unsupported position model {data['position_model']!r} "
                             f"(this code uses {pos.POSITION_MODEL_NAME!r})")
        branches = data["branches"]
        if not isinstance(branches, Mapping):
            raise ValueError("priors 'branches' must be a mapping")
        _expect_keys(branches, set(BRANCHES), "priors 'branches'")
        tables = {}
        for name in BRANCHES:
            entry = branches[name]
            if not isinstance(entry, Mapping):
                raise ValueError(f"priors of branch {name!r} must be a mapping")
            keys = {"codebook_size", "index_counts", "position_odds"}
            _expect_keys(entry, keys | ({"code_groups", "context_counts"} if contexts else set()),
                         f"priors of branch {name!r}")
            size = entry["codebook_size"]
            if isinstance(size, bool) or not isinstance(size, int):
                raise ValueError(f"{name} codebook_size must be an int, got {size!r}")
            try:
                extra = ({"code_groups": _int_array(entry["code_groups"]),
                          "context_counts": _int_array(entry["context_counts"])} if contexts else {})
                tables[name] = BranchPriors(size, _int_array(entry["index_counts"]),
                                            _int_array(entry["position_odds"]), **extra)
            except ValueError as error:
                raise ValueError(f"invalid priors of branch {name!r}: {error}") from None
        return cls(**tables)


def _expect_keys(mapping: Mapping[str, Any], keys: set[str], what: str) -> None:
    missing, unknown = keys - set(mapping), set(mapping) - keys
    if missing or unknown:
        raise ValueError(f"{what}: missing keys {sorted(missing)}, unknown keys "
                         f"{sorted(map(str, unknown))}")


def _int_array(value: Any) -> np.ndarray:
    """A nested list of plain ints as int64 (rejects floats, bools, ragged lists)."""
    try:
        array = np.array(value, dtype=object)
    except ValueError as error:  # ragged nesting
        raise ValueError(f"not a rectangular integer table ({error})") from None
    if array.size == 0 or array.dtype != object or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in array.ravel()):
        raise ValueError("tables must be non-empty nested lists of integers")
    if any(not -2**63 <= v < 2**63 for v in array.ravel()):
        raise ValueError("table value out of range")
    return array.astype(np.int64)


def ideal_index_bits(priors: BranchPriors, indices: np.ndarray) -> float:
    """Ideal (information content) cost of indices under a branch's priors, in bits.

    Args:
        priors: tables of the branch.
        indices: codebook indices.
    """
    return float(priors.index_bits()[np.asarray(indices, dtype=np.int64)].sum()) if len(
        indices) else 0.0


__all__ = ["BranchPriors", "EntropyPriors", "MAX_CODEBOOK_SIZE", "MAX_COUNT", "check_codebook_sizes", "ideal_index_bits"]
