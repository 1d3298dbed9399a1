"""The periodic-artefact metric: ~0 dB for smooth or white errors, high for a period-4 pattern."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sqgan_ros.evaluation.periodic import periodic_artefact


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (16, 32, 3), dtype=np.uint8), (512, 256), interpolation=cv2.INTER_CUBIC)
    return base.astype(np.float64)


def test_blur_and_white_noise_score_near_zero() -> None:
    ref = _image()
    blurred = cv2.GaussianBlur(ref, (0, 0), 2.0)
    noisy = ref + np.random.default_rng(1).normal(0, 8, ref.shape)
    assert abs(periodic_artefact(ref, blurred).db) < 3.0
    assert abs(periodic_artefact(ref, noisy).db) < 1.5


def test_a_pixel_shuffle_pattern_scores_high_on_its_axis() -> None:
    ref = _image()
    tile = np.random.default_rng(2).normal(0, 6, (1, 4, 1))  # period 4 along x: vertical stripes
    striped = cv2.GaussianBlur(ref, (0, 0), 1.0) + np.tile(tile, (256, 128, 3))
    score = periodic_artefact(ref, striped)
    assert score.db > 10.0 and score.ratio_x > 10 * score.ratio_y
    # a weaker pattern scores lower: the metric is graded, not a flag
    weak = cv2.GaussianBlur(ref, (0, 0), 1.0) + 0.2 * np.tile(tile, (256, 128, 3))
    assert 0.0 < periodic_artefact(ref, weak).db < score.db
    # period 8 is not period 4
    assert periodic_artefact(ref, striped, period=8).ratio_x > 1.0


def test_bad_input_is_refused() -> None:
    ref = _image()
    with pytest.raises(ValueError, match="shapes differ"):
        periodic_artefact(ref, ref[:-1])
    with pytest.raises(ValueError, match="period"):
        periodic_artefact(ref, ref, period=1)
    with pytest.raises(ValueError, match="too small"):
        periodic_artefact(ref[:16, :16], ref[:16, :16])
