"""Seed ranges of the synthetic splits (train / val / test), shared by the datasets and the pool."""

from __future__ import annotations

#: Disjoint seed ranges of the synthetic splits.
SPLIT_SEEDS: dict[str, int] = {"train": 0, "val": 1_000_000, "test": 2_000_000}
#: Seeds per split: a split's scenes are ``SPLIT_SEEDS[split] + index`` for index < SPLIT_SPAN.
SPLIT_SPAN = 1_000_000
