"""Parts of the sessions and nodes: newest-wins mailbox, rate window, stamp matching, model path,
camera info scaling."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from sqgan_ros.ros.camera_info import scale_camera_info
from sqgan_ros.sessions.mailbox import LatestSlot
from sqgan_ros.sessions.runtime import resolve_model_path
from sqgan_ros.sessions.stamps import StampMatcher, stamp_key
from sqgan_ros.sessions.stats import RateWindow


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


def test_stamp_matcher_pairs_either_order_and_bounds_what_waits() -> None:
    m: StampMatcher[str, str] = StampMatcher(max_labels=2, max_images=2)
    assert m.add_image(stamp_key(1, 0), "img1") is None
    assert m.add_labels(stamp_key(1, 0), "lab1") == "img1"  # image first
    assert m.add_labels(stamp_key(2, 5), "lab2") is None
    assert m.add_image(stamp_key(2, 5), "img2") == "lab2"  # labels first
    for k in range(3, 7):  # four images whose labels never come: only the newest two wait
        assert m.add_image(stamp_key(k, 0), f"img{k}") is None
    assert m.dropped_images == 2
    assert m.add_labels(stamp_key(3, 0), "lab3") is None  # img3 was dropped: labels wait now
    assert m.add_labels(stamp_key(6, 0), "lab6") == "img6"
    for k in range(10, 14):  # labels beyond max_labels are forgotten, oldest first
        m.add_labels(stamp_key(k, 0), f"lab{k}")
    assert m.add_image(stamp_key(10, 0), "img10") is None and m.add_image(stamp_key(13, 0), "x") == "lab13"
    assert stamp_key(1, 5) == 1_000_000_005
    with pytest.raises(ValueError):
        StampMatcher(max_labels=0)


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
    for _ in range(80):  # 8 fps for 10 s: past the start-up, a fixed window less the newest frame
        win.add(1000, 1600)
        now[0] += 0.125
    now[0] -= 0.125  # read as the newest frame arrives
    payload, message, fps = win.rates()
    assert fps == pytest.approx(8.0) and payload == pytest.approx(8.0) and message == pytest.approx(12.8)
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
