"""Robustness helpers of the nodes without DDS: frame-id accounting, size guards, CPU threads,
image refusal causes, the loss relay's logic and the soak verdict."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.ros.image_conversion import ImageConversionError, RawImage, image_to_numpy
from sqgan_ros.ros.parameters import decoder_specs, encoder_specs, validate_changes
from sqgan_ros.sessions.runtime import auto_torch_threads, configure_torch_threads
from sqgan_ros.sessions.stats import FrameIdTracker


# ------------------------------------------------------------------------------ frame ids
def test_in_order_stream_has_no_loss() -> None:
    t = FrameIdTracker()
    assert [t.add(i) for i in range(5)] == ["first", "next", "next", "next", "next"]
    assert (t.lost, t.reordered, t.duplicates) == (0, 0, 0)


def test_gap_counts_lost_and_late_arrival_moves_it_to_reordered() -> None:
    t = FrameIdTracker()
    for i in (0, 1, 4):
        t.add(i)
    assert t.lost == 2
    assert t.add(2) == "late"
    assert (t.lost, t.reordered) == (1, 1)
    assert t.add(2) == "duplicate"  # the same late frame again is not a second recovery
    assert (t.lost, t.reordered, t.duplicates) == (1, 1, 1)
    assert t.add(5) == "next" and t.lost == 1


def test_wraparound_is_not_a_restart() -> None:
    t = FrameIdTracker()
    t.add(2**32 - 2)
    assert t.add(1) == "next"  # 2**32 - 1 and 0 missing
    assert t.lost == 2 and t.restarts == 0
    assert t.add(0) == "late" and t.lost == 1


def test_encoder_restart_resets_without_counting_loss() -> None:
    t = FrameIdTracker(window=64)
    for i in range(1000, 1010):
        t.add(i)
    assert t.add(0) == "restart"
    assert t.add(1) == "next"
    assert (t.lost, t.restarts) == (0, 1)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(5, 300), drop=st.floats(0.0, 0.6), swaps=st.integers(0, 30),
       seed=st.integers(0, 2**31), start=st.integers(0, 2**32 - 1))
def test_lost_is_exactly_the_ids_that_never_arrived(n: int, drop: float, swaps: int, seed: int,
                                                    start: int) -> None:
    """Random drops and local reordering: lost == missing ids inside the range seen."""
    rng = random.Random(seed)
    ids = [i for i in range(n) if i == 0 or rng.random() >= drop]
    for _ in range(swaps):  # swap neighbours: late by a few frames, never the first one
        k = rng.randrange(1, max(2, len(ids) - 1))
        if k + 1 < len(ids):
            ids[k], ids[k + 1] = ids[k + 1], ids[k]
    t = FrameIdTracker()
    for i in ids:
        t.add((start + i) % 2**32)
    expected = (max(ids) + 1) - len(set(ids))
    assert t.lost == expected
    assert t.reordered <= swaps and t.duplicates == 0 and t.restarts == 0


def test_tracker_rejects_non_uint32() -> None:
    with pytest.raises(ValueError):
        FrameIdTracker().add(-1)
    with pytest.raises(ValueError):
        FrameIdTracker().add(2**32)
    with pytest.raises(ValueError):
        FrameIdTracker(window=10, restart_gap=5)


# ------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("specs", [encoder_specs, decoder_specs])
def test_torch_threads_parameter(specs) -> None:
    s = specs()
    assert s["torch_threads"].read_only and s["torch_threads"].default == 0
    assert validate_changes(s, [("torch_threads", 2)], running=False) is None
    reason = validate_changes(s, [("torch_threads", -1)], running=False)
    assert reason is not None and "torch_threads" in reason
    assert "read-only" in validate_changes(s, [("torch_threads", 1)], running=True)


@pytest.mark.parametrize("specs, name", [(encoder_specs, "max_input_pixels"),
                                         (decoder_specs, "max_output_pixels")])
def test_pixel_limits_are_positive_integers(specs, name: str) -> None:
    s = specs()
    assert validate_changes(s, [(name, 1)]) is None  # tunable at run time
    for bad in (0, -5, 1.5, 16384 * 16384 + 1):
        assert validate_changes(s, [(name, bad)]) is not None, bad


@pytest.mark.parametrize("cpus, expected", [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8)])
def test_auto_threads_take_half_the_cores(cpus: int, expected: int) -> None:
    assert auto_torch_threads(cpus) == expected


def test_configure_torch_threads_applies_and_validates() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert configure_torch_threads(1) == 1 == torch.get_num_threads()
        assert configure_torch_threads(0) == auto_torch_threads()
        for bad in (-1, 1.0, True, "2"):
            with pytest.raises(ValueError):
                configure_torch_threads(bad)  # type: ignore[arg-type]
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------ image causes
def _img(**kw) -> RawImage:
    base = dict(height=4, width=6, encoding="rgb8", step=18, data=bytes(4 * 18))
    base.update(kw)
    return RawImage(**base)


@pytest.mark.parametrize("kw, cause", [
    ({"encoding": "bayer_rggb8"}, "encoding"), ({"encoding": "yuv422"}, "encoding"),
    ({"encoding": "32FC3"}, "encoding"), ({"encoding": "64FC1"}, "encoding"),
    ({"height": 0}, "size"), ({"step": 17}, "step"), ({"data": bytes(10)}, "data"),
    ({"encoding": "32FC1", "step": 24, "data": np.full((4, 6), np.nan, np.float32).tobytes()},
     "conversion"),
])
def test_refusals_name_the_encoding_and_say_the_cause(kw: dict, cause: str) -> None:
    msg = _img(**kw)
    with pytest.raises(ImageConversionError) as info:
        image_to_numpy(msg, "rgb8")
    assert info.value.cause == cause
    assert msg.encoding in str(info.value)


@pytest.mark.parametrize("encoding, channels, dtype", [
    ("rgb8", 3, np.uint8), ("bgr8", 3, np.uint8), ("rgba8", 4, np.uint8), ("bgra8", 4, np.uint8),
    ("mono8", 1, np.uint8), ("mono16", 1, np.uint16), ("8UC1", 1, np.uint8),
    ("8UC3", 3, np.uint8), ("16UC1", 1, np.uint16)])
@pytest.mark.parametrize("h, w", [(1, 1), (3, 5), (17, 33)])
def test_every_colour_encoding_converts_at_odd_sizes(encoding: str, channels: int, dtype,
                                                     h: int, w: int) -> None:
    rng = np.random.default_rng(h * w)
    array = rng.integers(0, np.iinfo(dtype).max, size=(h, w, channels), dtype=dtype)
    pad = 7 * np.dtype(dtype).itemsize  # padded rows
    step = w * channels * np.dtype(dtype).itemsize + pad
    rows = np.zeros((h, step), np.uint8)
    rows[:, : step - pad] = array.reshape(h, -1).view(np.uint8)
    out = image_to_numpy(RawImage(height=h, width=w, encoding=encoding, step=step,
                                  data=rows.tobytes()), "rgb8")
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


# ------------------------------------------------------------------------------ relay, soak
def test_loss_channel_drops_holds_and_releases_everything() -> None:
    from sqgan_ros.ros.tools.loss_sim import LossChannel, LossConfig

    now = [0.0]
    ch = LossChannel(LossConfig(drop_probability=0.2, reorder_probability=0.2, reorder_span=2,
                                hold_timeout_s=1.0, seed=3), clock=lambda: now[0])
    out: list[int] = []
    for i in range(2000):
        out += ch.push(i)
        now[0] += 0.01
    out += ch.flush(force=True)
    assert ch.held == 0 and ch.forwarded == len(out) == ch.received - ch.dropped
    assert 0.17 < ch.dropped / ch.received < 0.23
    assert len(set(out)) == len(out)
    late = sum(1 for a, b in zip(out, out[1:]) if b < a)
    assert late > 100  # reordered frames come after newer ones
    t = FrameIdTracker()
    for i in out:
        t.add(i)
    assert t.lost == (max(out) + 1) - len(out) and t.reordered > 100


def test_loss_channel_flushes_held_frames_when_the_stream_stops() -> None:
    from sqgan_ros.ros.tools.loss_sim import LossChannel, LossConfig

    now = [0.0]
    ch = LossChannel(LossConfig(drop_probability=0.0, reorder_probability=0.99,
                                hold_timeout_s=0.5, seed=1), clock=lambda: now[0])
    passed = [x for i in range(3) for x in ch.push(i)]
    assert ch.held >= 1
    now[0] = 0.4
    assert ch.flush() == []  # not due yet
    now[0] = 0.6
    released = ch.flush()
    assert sorted(passed + released) == [0, 1, 2] and ch.held == 0


@pytest.mark.parametrize("bad", [dict(drop_probability=1.0), dict(reorder_probability=-0.1),
                                 dict(reorder_span=0), dict(hold_timeout_s=0.0)])
def test_loss_config_validation(bad: dict) -> None:
    from sqgan_ros.ros.tools.loss_sim import LossConfig

    with pytest.raises(ValueError):
        LossConfig(**bad)


def _soak_samples(duration: float, rss_slope: float, lat_slope: float):
    ts = np.arange(0.0, duration, 1.0)
    rss = {"sqgan_encoder": [(t, 300.0 + rss_slope * t) for t in ts]}
    lat = [(t, 100.0 + lat_slope * t) for t in ts]
    return rss, lat


def test_soak_verdict() -> None:
    from sqgan_ros.ros.tools.soak import summarise, windows

    assert windows(1800.0) == (30.0, 90.0, 1740.0, 1800.0)
    w = windows(120.0)
    assert w[1] <= w[2] and w[3] == 120.0
    counts = {"frames_decoded": 100}
    rss, lat = _soak_samples(1800.0, 0.0, 0.0)
    report = summarise(1800.0, rss, lat, counts)
    assert report.passed and report.rss_start_mb["sqgan_encoder"] == 300.0
    rss, lat = _soak_samples(1800.0, 0.1, 0.0)  # 0.1 MB/s: +170 MB over the run
    assert any("RSS grew" in f for f in summarise(1800.0, rss, lat, counts).failures)
    rss, lat = _soak_samples(1800.0, 0.0, 0.2)  # a queue building up
    assert any("latency grew" in f for f in summarise(1800.0, rss, lat, counts).failures)
    assert not summarise(1800.0, rss, lat, {"frames_decoded": 0}).passed
    assert not summarise(120.0, {"x": []}, [], counts).passed
    assert math.isnan(summarise(120.0, {"x": []}, [], counts).latency_start_ms)
