"""Operator regions of interest: their latents (and a margin) are sent first, at the same keep ratio."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sqgan_ros.api import roi_in_model_pixels
from sqgan_ros.codec.samm import cells_in_region, region_priority, select_latents


def test_cells_in_region_marks_every_overlapping_cell() -> None:
    cells = cells_in_region((4, 8), (64, 128), (16, 16, 17, 16)).view(4, 8)
    assert cells.nonzero().tolist() == [[1, 1], [1, 2]]  # x 16..33 touches columns 1 and 2
    assert not cells_in_region((4, 8), (64, 128), (10, 10, 0, 5)).any()  # empty
    assert cells_in_region((4, 8), (64, 128), (-50, -50, 1000, 1000)).all()  # clipped to the image
    with pytest.raises(ValueError):
        cells_in_region((4, 8), (64, 128), (0, 0, -1, 5))


def test_region_priority_levels_core_margin_rest() -> None:
    prio = region_priority((8, 8), (128, 128), (48, 48, 32, 32), margin_cells=1).view(8, 8)
    assert prio[3:5, 3:5].eq(2).all()
    assert prio[2:6, 2:6].ge(1).all() and prio[2:6, 2:6].sum() == 4 * 2 + 12
    assert prio.eq(0).sum() == 64 - 16
    assert region_priority((8, 8), (128, 128), (48, 48, 32, 32), margin_cells=0).max() == 2


def test_selection_keeps_the_region_first_then_the_best_scores() -> None:
    scores = torch.linspace(1.0, 0.0, 16).unsqueeze(0)  # latent 0 scores highest
    prio = torch.zeros(16, dtype=torch.int8)
    prio[12:16] = 2
    prio[10] = 1
    mask = select_latents(scores, 6, priority=prio)[0]
    assert mask.nonzero().flatten().tolist() == [0, 10, 12, 13, 14, 15]
    small = select_latents(scores, 2, priority=prio)[0]
    assert small.nonzero().flatten().tolist() == [12, 13]  # within the region: by score
    assert torch.equal(select_latents(scores, 5), select_latents(scores, 5, priority=torch.zeros(16)))


def test_roi_in_model_pixels_scales_clips_and_clears() -> None:
    assert roi_in_model_pixels((100, 50, 200, 100), (480, 640), (240, 320)) == (50.0, 25.0, 100.0, 50.0)
    assert roi_in_model_pixels((600, 400, 100, 100), (480, 640), (240, 320)) == (300.0, 200.0, 20.0, 40.0)
    assert roi_in_model_pixels((0, 0, 0, 0), (480, 640), (240, 320)) is None
    assert roi_in_model_pixels((700, 0, 10, 10), (480, 640), (240, 320)) is None
    for bad in ((0, 0, -1, 2), (0, 0, float("nan"), 1), (1, 2, 3), "abcd"):
        with pytest.raises(ValueError):
            roi_in_model_pixels(bad, (480, 640), (240, 320))


def test_encoder_sends_the_region_at_the_same_keep_ratio(tiny_model_file) -> None:
    from sqgan_ros.api import SemanticEncoder
    from sqgan_ros.bitstream.frame import decode_frame
    from sqgan_ros.codec.model_file import load_model

    loaded = load_model(tiny_model_file)
    enc = SemanticEncoder(loaded, "cpu")
    h, w = loaded.config.image_size
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2 * h, 2 * w, 3), dtype=np.uint8)
    labels = rng.integers(0, 20, (2 * h, 2 * w), dtype=np.uint8)
    plain = decode_frame(enc.encode(image, labels, keep_ratio=0.5), loaded.priors)
    roi = (0, 0, w, h)  # the top-left quarter of the (2h, 2w) image
    framed = decode_frame(enc.encode(image, labels, keep_ratio=0.5, roi=roi), loaded.priors)
    for name in ("semantic", "image"):
        a, b = plain[1].branch(name), framed[1].branch(name)
        assert a.k == b.k  # same keep ratio
        grid = b.grid
        core = cells_in_region(grid, (h, w), roi_in_model_pixels(roi, (2 * h, 2 * w), (h, w))).numpy()
        assert core.any() and set(np.flatnonzero(core)) <= set(b.positions.tolist())
