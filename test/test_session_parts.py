"""Helpers of the teleop nodes: newest-wins mailbox, per-cause warning throttle, rate window."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from sqgan_ros.ros.node_utils import LatestSlot, RateWindow, WarningThrottle, resolve_model_path, scale_camera_info


def test_latest_slot_newest_wins_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take(0.01) == 3
    assert slot.dropped == 2
    assert slot.take(0.01) is None


def test_latest_slot_close_wakes_a_waiting_worker() -> None:
    slot: LatestSlot[int] = LatestSlot()
    got: list = []
    t = threading.Thread(target=lambda: got.append(slot.take(10.0)))
    t.start()
    slot.close()
    t.join(2.0)
    assert not t.is_alive() and got == [None] and slot.closed


def test_warning_throttle_once_per_period_per_cause() -> None:
    now = [0.0]
    out: list[str] = []
    w = WarningThrottle(out.append, period_s=1.0, clock=lambda: now[0])
    for _ in range(50):  # 50 frames within one second: one message
        w.warn("model_id", "refused")
        now[0] += 0.01
    assert out == ["refused"]
    assert w.warn("corrupt", "bad") is True  # another cause is not throttled by the first
    now[0] = 1.6
    w.warn("model_id", "refused")
    assert out[-1].startswith("refused (49 more")


def test_rate_window() -> None:
    now = [0.0]
    win = RateWindow(5.0, clock=lambda: now[0])
    assert win.rates() == (0.0, 0.0, 0.0)
    for _ in range(11):  # 10 fps, 1000 payload bits and 1600 message bits per frame
        win.add(1000, 1600)
        now[0] += 0.1
    now[0] -= 0.1
    payload, message, fps = win.rates()
    assert fps == pytest.approx(10.0)
    assert payload == pytest.approx(10.0) and message == pytest.approx(16.0)
    now[0] += 100.0  # stream stalled: the window empties
    assert win.rates() == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        RateWindow(0.0)


def test_resolve_model_path_missing_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="model file not found"):
        resolve_model_path(str(tmp_path / "nope.safetensors"))
    f = tmp_path / "m.safetensors"
    f.write_bytes(b"x")
    assert resolve_model_path(str(f)) == f


def test_scale_camera_info_halves_intrinsics() -> None:
    roi = SimpleNamespace(x_offset=3, y_offset=4, width=5, height=6, do_rectify=True)
    info = SimpleNamespace(width=640, height=480, k=[500.0, 0, 320.0, 0, 500.0, 240.0, 0, 0, 1],
                           p=[500.0, 0, 320.0, 10.0, 0, 500.0, 240.0, 0, 0, 0, 1, 0],
                           binning_x=2, binning_y=2, roi=roi)
    out = scale_camera_info(info, 240, 320)
    assert (out.width, out.height) == (320, 240)
    assert out.k[0] == 250.0 and out.k[2] == 160.0 and out.k[4] == 250.0 and out.k[5] == 120.0
    assert out.p[3] == 5.0 and out.roi.width == 0 and info.k[0] == 500.0
