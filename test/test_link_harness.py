"""Two-host link harness: RTPS classification (offline) and a short run across real namespaces.

The run needs root (network namespaces, veth, tc); elsewhere it skips and says why.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys

import pytest

from sqgan_ros.tools.link_report import percentile
from sqgan_ros.tools.netns_link import LinkConfig, namespaces_problem
from sqgan_ros.tools.rtps_capture import RtpsClassifier, topic_category

PREFIX = bytes(range(12))


def _rtps(*subs: bytes, prefix: bytes = PREFIX) -> bytes:
    return b"RTPS" + bytes([2, 3, 1, 15]) + prefix + b"".join(subs)


def _sub(sub_id: int, body: bytes, flags: int = 0x01) -> bytes:
    return bytes([sub_id, flags]) + struct.pack("<H", len(body)) + body


def _data(writer: bytes, payload: bytes, reader: bytes = bytes(4)) -> bytes:
    return _sub(0x15, struct.pack("<HH", 0, 16) + reader + writer + bytes(8) + payload, 0x05)


def _sedp(guid: bytes, topic: str) -> bytes:
    name = topic.encode() + b"\0"
    name_param = struct.pack("<I", len(name)) + name
    name_param += bytes(-len(name_param) % 4)
    plist = (struct.pack("<HH", 0x005A, 16) + guid + struct.pack("<HH", 0x0005, len(name_param))
             + name_param + struct.pack("<HH", 0x0001, 0))
    return b"\x00\x03\x00\x00" + plist


def test_topic_categories():
    assert topic_category("rt/robot/sqgan/frame") == "frame"
    assert topic_category("rt/robot/sqgan/frame_lossy") == "frame"
    assert topic_category("rt/robot/sqgan/encoder_stats") == "stats"
    assert topic_category("rt/robot/sqgan/ack") == "ack"
    assert topic_category("rt/robot/sqgan/camera_info") == "camera_info"
    assert topic_category("ros_discovery_info") == "ros_graph"
    assert topic_category("rt/rosout") == "other:rt/rosout"


def test_classifier_learns_topics_from_sedp_and_attributes_headers():
    c = RtpsClassifier()
    writer = bytes([0, 0, 0x12, 0x03])
    sedp = _rtps(_data(bytes([0, 0, 3, 0xC2]), _sedp(PREFIX + writer, "rt/robot/sqgan/frame")))
    c.datagram("r2o", sedp, 28 + len(sedp), 0.2)
    info_ts = _sub(0x09, bytes(8))
    frame = _rtps(info_ts, _data(writer, b"\x00\x01\x00\x00" + bytes(400)))
    c.datagram("r2o", frame, 28 + len(frame), 1.5)
    heartbeat = _rtps(_sub(0x07, bytes(4) + writer + bytes(20)))
    c.datagram("r2o", heartbeat, 28 + len(heartbeat), 1.6)
    ack = _rtps(_sub(0x06, bytes([0, 0, 0x99, 0x04]) + writer + bytes(16)), prefix=bytes(12))
    c.datagram("o2r", ack, 28 + len(ack), 2.0)
    s = c.summary()
    assert s["topics"] == ["rt/robot/sqgan/frame"]
    # IP/UDP/RTPS header and INFO_TS count with the frame's DATA
    assert s["bytes"]["r2o"]["frame/data"] == 28 + len(frame)
    assert s["bytes"]["r2o"]["frame/heartbeat"] == 28 + len(heartbeat)
    assert s["bytes"]["r2o"]["discovery/data"] == 28 + len(sedp)
    assert s["bytes"]["o2r"] == {"unknown/acknack": 28 + len(ack)}  # reader never announced
    assert s["user_serialized_sizes"]["frame"] == [404]
    assert s["series"]["r2o"]["1"]["frame"] == 28 + len(frame) + 28 + len(heartbeat)


def test_classifier_counts_non_rtps_and_truncated_datagrams():
    c = RtpsClassifier()
    c.datagram("r2o", b"hello", 41, 0.0)
    c.datagram("r2o", _rtps(b"\x15\x01"), 50, 0.0)  # a header cut short
    s = c.summary()
    assert s["bytes"]["r2o"] == {"non_rtps": 41, "rtps_no_entity": 50}


def test_percentile_and_link_config():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError, match="burst"):
        LinkConfig(burst_bytes=1000)
    with pytest.raises(ValueError, match="loss"):
        LinkConfig(loss=1.0)


def _run_harness(tmp_path, *args: str) -> dict:
    problem = namespaces_problem()
    if problem:
        pytest.skip(f"link harness needs network namespaces: {problem}")
    out = tmp_path / "link"
    cmd = [sys.executable, "-m", "sqgan_ros.ros.tools.link_harness", "--quiet", "--out", str(out),
           *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    summary = json.loads((out / "summary.json").read_text())
    for ns in summary["namespaces"]:  # removed at the end
        assert ns not in left.split()
    return summary


def _check_counts(s: dict, kbps: float) -> None:
    whole = s["link_whole"]
    assert whole["r2o"]["ip_bytes"] > 0 and whole["o2r"]["ip_bytes"] > 0
    # tbf counts Ethernet frames: the L2 rate stays at the limit (1600 B bucket of slack)
    slack = 8 * 1600 / whole["seconds"] / 1000
    assert whole["r2o"]["l2_kbps"] <= kbps + slack + 0.5
    # the capture accounts for the counters' IP bytes over the same window (both directions;
    # the capture's one-second buckets blur the window's edges)
    for d in ("r2o", "o2r"):
        captured = sum(s["split_whole_kbps"][d].values())
        assert captured == pytest.approx(whole[d]["ip_kbps"], rel=0.05, abs=0.3)
    assert s["decoded"]["frames"] >= 1
    assert s["split_steady_kbps"]["r2o"].get("frame", 0) > 0


def test_short_run_across_namespaces(tmp_path):
    # 60 s: the thin profile announces every 20 s, so a missed first announcement delays the
    # first frame to ~35 s; the steady window (first frame + 10 s to the end) must still hold frames
    s = _run_harness(tmp_path, "--kbps", "64", "--profile", "thin", "--duration", "60")
    _check_counts(s, 64.0)
    assert s["decoded"]["first_frame_s"] < 40


@pytest.mark.slow
def test_long_run_with_loss(tmp_path):
    if shutil.which("iptables") is None:
        pytest.skip("--loss needs iptables (statistic match): not installed")
    s = _run_harness(tmp_path, "--kbps", "32", "--loss", "0.1", "--profile", "thin",
                     "--duration", "120")
    _check_counts(s, 32.0)
    assert s["link"]["loss_method"].startswith("iptables")
    assert s["decoded"]["frames_lost"] > 0
    assert s["latency_end"]["n"] > 0


def test_frame_stats_and_table():
    from sqgan_ros.tools.link_report import frame_stats, markdown_table

    recs = [{"wall": t, "frame_type": ft, "payload_bits": b, "frames_rejected": rj}
            for t, ft, b, rj in ((0.0, 0, 800, 0), (0.5, 1, 160, 0), (1.0, 1, 240, 0), (3.0, 0, 800, 1))]
    fs = frame_stats(recs)
    assert fs["intra"] == {"n": 2, "payload_bytes_mean": 100.0}
    assert fs["inter"] == {"n": 2, "payload_bytes_mean": 25.0}
    assert fs["gap_max_s"] == 2.0 and fs["gap_p50_s"] == 0.5 and fs["frames_rejected"] == 1
    summary = {"link": {"kbps": 32.0}, "target_kbps": 32.0,
               "link_steady": {"r2o": {"ip_kbps": 30.5}, "o2r": {"ip_kbps": 1.25}},
               "split_steady_kbps": {"r2o": {"frame": 20.0, "stats": 9.0, "discovery": 0.5}},
               "decoded": {"fps": 4.0, "first_frame_s": 12.0, "frames_lost": 3},
               "latency_start": {"p50_ms": 400.0, "p95_ms": 500.0}}
    row = markdown_table({"run": summary}).splitlines()[-1]
    assert row.startswith("| run | 32 | 32 | 30.50 | 20.00 / 9.00 / 0.00 / 0.50 | 1.25 | 4.00 | 12.0 | 3 |")
    assert row.endswith("| 400/500 | -/- |")
