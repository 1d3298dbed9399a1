"""The synthetic generator's fast paths keep its results: light-mapped albedo finished in a few
full-frame passes, partial sky, per-shape tables filled at once, masked facade copies, world draws
without numpy round trips, rain streaks drawn in one call.

Not timed (machines are shared): ``python -m sqgan_ros.data.synthetic.benchmark`` measures speed.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from sqgan_ros.data.synthetic import StreetSequence, render_scene
from sqgan_ros.data.synthetic.painter import Look, _colour_map, _Grid, _rain, _sky, finish, sample_look
from sqgan_ros.data.synthetic.scene import _CAR_COLOURS, StreetWorld, _colour, _pick

SIZE = (64, 128)


def _reference_shade(img: np.ndarray, alpha: np.ndarray, look: Look) -> np.ndarray:
    """The original three steps: haze, light, overcast desaturation."""
    out = img + (np.asarray(look.fog_colour, np.float32) - img) * alpha[..., None]
    out = out * (np.asarray(look.temperature, np.float32) * np.float32(look.gain))
    if look.overcast > 0:
        grey = out.mean(axis=2, keepdims=True)
        out = out + (grey - out) * np.float32(look.overcast * 0.6)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_finish_equals_detail_haze_light_overcast_blur_grain(seed: int) -> None:
    rng = np.random.default_rng(seed)
    look = sample_look(rng)
    albedo = rng.uniform(0, 255, (20, 30, 3)).astype(np.float32)
    gain = rng.uniform(0.8, 1.2, (20, 30)).astype(np.float32)
    alpha = rng.uniform(0, 0.92, (20, 30)).astype(np.float32)
    grain = rng.normal(0, 3, (20, 30)).astype(np.float32)
    ref = cv2.GaussianBlur(_reference_shade(albedo * gain[..., None], alpha, look), (0, 0), look.blur)
    ref = np.clip(ref + grain[..., None], 0, 255)
    lit = cv2.transform(albedo, _colour_map(look))
    got = finish(lit, gain, alpha, look, grain)
    assert got.dtype == np.uint8 and got.shape == albedo.shape
    # equal to float rounding: the truncation to uint8 may only differ where ref is ~an integer
    diff = got.astype(np.float64) - ref
    assert np.all((diff > -1.0 - 1e-3) & (diff <= 1e-3))


def test_sky_through_the_colour_map_equals_the_mapped_sky() -> None:
    seq = StreetSequence(9, SIZE)
    grid = _Grid.get(SIZE)
    cam = seq.camera(0)
    colour_map = _colour_map(seq.look)
    plain = _sky(SIZE, cam, seq.look, grid, 5, 2)
    np.testing.assert_allclose(_sky(SIZE, cam, seq.look, grid, 5, 2, colour_map), cv2.transform(plain, colour_map),
                               rtol=0, atol=1e-3)


def test_sky_for_top_rows_equals_full_sky_rows() -> None:
    seq = StreetSequence(5, SIZE)
    grid = _Grid.get(SIZE)
    cam = seq.camera(0)
    full = _sky(SIZE, cam, seq.look, grid, 7, 3)
    top = _sky((20, SIZE[1]), cam, seq.look, grid, 7, 3)
    # to float rounding: OpenCV's colour transform rounds its vector and scalar tails differently
    np.testing.assert_allclose(top, full[:20], rtol=1e-6, atol=1e-4)


def test_colour_draws_match_numpy_clip_versions() -> None:
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(50):
        got = _pick(a, _CAR_COLOURS, 0.3)
        ref = tuple(float(v) for v in np.clip(_CAR_COLOURS[b.integers(len(_CAR_COLOURS))] * b.uniform(0.7, 1.3), 0, 255))
        assert got == ref
        got = _colour(a, 200, 260, 0.2)
        base = b.uniform(200, 260)
        ref = tuple(float(np.clip(base * (1 + v), 0, 255)) for v in b.uniform(-0.2, 0.2, 3))
        assert got == ref


def test_world_and_frames_are_deterministic_across_instances() -> None:
    w1, w2 = StreetWorld(9), StreetWorld(9)
    for c in (3, 4):
        items1, inter1 = w1.chunk(c)
        items2, inter2 = w2.chunk(c)
        assert inter1 == inter2 and len(items1) == len(items2)
        assert [(i.kind, i.x, i.z) for i in items1] == [(i.kind, i.x, i.z) for i in items2]
    seq_a, seq_b = StreetSequence(9, SIZE), StreetSequence(9, SIZE)
    for index in (0, 4):  # out of order on one, in order on the other
        img_a, lab_a = seq_a.render(index)
        img_b, lab_b = seq_b.render(index)
        np.testing.assert_array_equal(img_a, img_b)
        np.testing.assert_array_equal(lab_a, lab_b)


@pytest.mark.parametrize("seed", [0, 2, 13])
def test_frames_are_plausible(seed: int) -> None:
    img, lab = render_scene(seed, SIZE)
    assert img.dtype == np.uint8 and lab.dtype == np.uint8
    assert 20 < float(img.mean()) < 235  # neither black nor blown out
    assert float(img.std()) > 5  # structure, not a flat fill
    assert len(np.unique(lab)) >= 3


def test_benchmark_script_prints_its_table(capsys) -> None:
    from sqgan_ros.data.synthetic import benchmark

    assert benchmark.main(["--size", "32", "64", "--frames", "1"]) == 0
    out = capsys.readouterr().out
    assert "render_scene(seed)" in out and "StreetSequence.render(i)" in out
    with pytest.raises(SystemExit):
        benchmark.main(["--frames", "0"])


def _rain_lines(size: tuple[int, int], look: Look, rng: np.random.Generator) -> np.ndarray:
    """Rain streaks as first written: one cv2.line per streak."""
    h, w = size
    streaks = np.zeros((h, w), np.float32)
    n_streaks = int(look.rain * w * 0.6)
    x0, y0 = rng.uniform(0, w, n_streaks), rng.uniform(-20, h, n_streaks)
    length = rng.uniform(0.03, 0.08, n_streaks) * h
    slant = rng.normal(0.15, 0.05)
    for a, b, ln in zip(x0, y0, length):
        cv2.line(streaks, (int(a), int(b)), (int(a + slant * ln), int(b + ln)), 1.0, 1, cv2.LINE_AA)
    return streaks * np.float32(60.0 * look.rain)


@pytest.mark.parametrize("size", [(256, 512), SIZE, (16, 16)])
def test_rain_in_one_polylines_call_equals_one_line_per_streak(size: tuple[int, int]) -> None:
    for seed in range(40):
        rng = np.random.default_rng(seed)
        look = dataclasses.replace(sample_look(rng), rain=float(rng.uniform(0.0, 1.0)))
        np.testing.assert_array_equal(_rain(size, look, np.random.default_rng(seed)),
                                      _rain_lines(size, look, np.random.default_rng(seed)))
