"""Schedules: learning rate (linear warm-up then cosine) and per-batch keep ratios (SQ-GAN).

Both are pure functions of the step (and seed), so every DDP rank draws the same keep ratio and a
resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def lr_factor(step: int, total_steps: int, warmup_steps: int, min_factor: float = 0.0) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based).

    Linear warm-up from ``1/warmup_steps`` to 1 over ``warmup_steps`` steps, then a cosine from 1 to
    ``min_factor`` at ``total_steps``.

    Args:
        step: current step.
        total_steps: length of the schedule.
        warmup_steps: warm-up length (0 disables).
        min_factor: final multiplier in [0, 1].
    """
    if step < 0 or total_steps < 1 or warmup_steps < 0 or not 0.0 <= min_factor <= 1.0:
        raise ValueError(f"bad schedule: step={step} total={total_steps} warmup={warmup_steps} min={min_factor}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def sample_keep_ratio(seed: int, step: int, stream: int = 0, mu: float = -0.95, sigma: float = 0.4,
                      levels: Sequence[float] = (0.05, 0.2875, 0.525, 0.7625, 1.0)) -> float:
    """Draw a keep ratio: log-normal(mu, sigma), snapped to the nearest of ``levels``.

    Deterministic in ``(seed, step, stream)``; ``stream`` separates independent draws of the same
    step (e.g. the semantic branch's ratio in stage 3).

    Args:
        seed: run seed.
        step: global step.
        stream: independent draw index.
        mu: mean of log(r).
        sigma: std of log(r).
        levels: allowed ratios.
    """
    if not levels:
        raise ValueError("levels must not be empty")
    rng = np.random.default_rng([seed & 0xFFFFFFFF, step, stream, 0x5A17])
    raw = float(rng.lognormal(mu, sigma))
    grid = np.asarray(levels, dtype=np.float64)
    return float(grid[int(np.argmin(np.abs(grid - raw)))])
