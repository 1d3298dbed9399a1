"""Summary and printed report of one link-harness run (no ROS): counters + capture + monitor.

Windows: ``start-up`` is from the first node's start to the first decoded frame + 5 s;
``steady`` is from the first decoded frame + 10 s to the end of the run. Directions:
``r2o`` robot -> operator (frames, stats), ``o2r`` operator -> robot (acks, acknacks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sqgan_ros.link_cost import sample_link_cost

__all__ = ["summarize", "format_report", "percentile", "markdown_table", "frame_stats", "main"]

ETH = 14
CATEGORIES = ("frame", "stats", "ack", "camera_info", "discovery", "ros_graph")


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 100]); None for no values."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _counter_rates(counters: list, a: float, b: float, robot: str, operator: str) -> dict[str, Any]:
    """kbit/s each way between wall times a and b (nearest samples), L2 and IP level."""
    inside = [c for c in counters if a <= c[0] <= b]
    if len(inside) < 2:
        return {}
    (ta, ca), (tb, cb) = inside[0], inside[-1]
    dt = tb - ta
    out: dict[str, Any] = {"seconds": dt}
    for d, ns in (("r2o", robot), ("o2r", operator)):
        nbytes = cb[ns]["tx_bytes"] - ca[ns]["tx_bytes"]
        npk = cb[ns]["tx_packets"] - ca[ns]["tx_packets"]
        out[d] = {"l2_kbps": 8 * nbytes / dt / 1000, "ip_kbps": 8 * (nbytes - ETH * npk) / dt / 1000,
                  "packets": npk, "ip_bytes": nbytes - ETH * npk}
    return out


def _capture_rates(cap: dict[str, Any], a: float, b: float) -> dict[str, dict[str, float]]:
    """kbit/s per category and direction between wall times a and b, from the capture series."""
    w0 = cap["wall_start"]
    out: dict[str, dict[str, float]] = {}
    for d, series in cap["series"].items():
        sums: dict[str, float] = {}
        for sec, cats in series.items():
            t = w0 + int(sec) + 0.5
            if a <= t < b:
                for k, n in cats.items():
                    sums[k] = sums.get(k, 0) + n
        out[d] = {k: 8 * n / max(b - a, 1e-6) / 1000 for k, n in sorted(sums.items())}
    return out


def _latency(records: list[dict[str, Any]], a: float, b: float) -> dict[str, Any]:
    lat = [r["latency_ms"] for r in records if a <= r["wall"] < b and r["latency_ms"] is not None]
    return {"n": len(lat), "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95)}


def summarize(counters: list, t0: float, t_end: float, link: Any, args: dict[str, Any],
              target_kbps: float, out: Path, window_s: float,
              message_overhead: int | None = None) -> dict[str, Any]:
    """Everything one run measured (see module docstring for the windows)."""
    cap = _load(out / "capture.json")
    mon = _load(out / "monitor.json") or {"records": []}
    rec = mon["records"]
    first = rec[0]["wall"] if rec else None
    s: dict[str, Any] = {"args": args, "target_kbps": target_kbps,
                         "link": {"kbps": link.config.kbps, "loss": link.config.loss,
                                  "burst_bytes": link.config.burst_bytes,
                                  "latency_ms": link.config.latency_ms,
                                  "queue_limit_bytes": link.config.queue_limit_bytes,
                                  "loss_method": link.loss_method},
                         "duration_s": t_end - t0, "namespaces": [link.robot, link.operator]}
    steady_a = (first + 10.0) if first else t0
    s["windows"] = {"steady": [steady_a - t0, t_end - t0],
                    "startup": [0.0, ((first + 5.0) if first else t_end) - t0]}
    s["link_whole"] = _counter_rates(counters, t0, t_end + 1, link.robot, link.operator)
    s["link_steady"] = _counter_rates(counters, steady_a, t_end + 1, link.robot, link.operator)
    if cap:
        s["split_whole_kbps"] = _capture_rates(cap, t0, t_end)  # the counters' window
        s["split_steady_kbps"] = _capture_rates(cap, steady_a, t_end)
        s["split_startup_kbps"] = _capture_rates(cap, t0, (first + 5.0) if first else t_end)
        s["capture"] = {k: cap[k] for k in ("bytes", "by_category", "topics", "datagrams", "non_ip",
                                            "incomplete_fragment_bytes")}
        s["frame_samples"] = _frame_samples(cap)
    if rec:
        last = rec[-1]["wall"]
        ids = [r["frame_id"] for r in rec]
        s["decoded"] = {"frames": len(rec), "fps": (len(rec) - 1) / max(last - first, 1e-6)
                        if len(rec) > 1 else 0.0,
                        "first_frame_s": first - t0,
                        "frames_lost": rec[-1]["frames_lost"],
                        "frames_rejected": rec[-1]["frames_rejected"],
                        "frame_id_span": max(ids) - min(ids) + 1,
                        "inter_frames": sum(1 for r in rec if r["frame_type"] == 1),
                        "payload_bits_mean": sum(r["payload_bits"] for r in rec) / len(rec),
                        "message_bits_mean": sum(r["message_bits"] for r in rec) / len(rec)}
        s["estimate_check"] = _estimate_check(rec, cap, message_overhead)
        if cap:
            s["estimate_check"]["decoder_link_kbps"] = _decoder_link_kbps(
                rec, s["split_steady_kbps"], steady_a, t_end)
        s["latency_start"] = _latency(rec, first, first + window_s)
        s["latency_end"] = _latency(rec, last - window_s, last + 1)
    else:
        s["decoded"] = {"frames": 0, "fps": 0.0, "first_frame_s": None}
    return s


def _estimate_check(rec: list[dict[str, Any]], cap: dict[str, Any] | None,
                    message_overhead: int | None) -> dict[str, Any]:
    """link_cost's estimate of the frame bytes vs the frame bytes captured on the link.

    ``from_serialized``: per captured frame, the estimate from its serialised size (the DATA
    payload) against its captured IP bytes, summed. ``from_decoder_payload``: mean estimate per
    decoded frame from the decoder's payload bits plus the message's CDR overhead, against the
    mean captured IP bytes per frame datagram (decoded and captured counts differ by the frames
    in flight at the end).
    """
    if not cap:
        return {}
    measured = sum(n for k, n in cap["bytes"]["r2o"].items() if k.startswith("frame/"))
    sizes = cap.get("user_serialized_sizes", {}).get("frame", [])
    datagrams = len(cap.get("datagram_ip_bytes", {}).get("frame@r2o", []))
    out: dict[str, Any] = {"measured_ip_bytes": measured, "frame_datagrams": datagrams}
    if sizes and measured:
        est = sum(sample_link_cost(n).forward_bytes for n in sizes)
        out["from_serialized"] = {"samples": len(sizes), "estimated_ip_bytes": est,
                                  "ratio": est / measured}
    if rec and datagrams and message_overhead is not None:
        est_mean = sum(sample_link_cost(math.ceil(r["payload_bits"] / 8) + message_overhead)
                       .forward_bytes for r in rec) / len(rec)
        meas_mean = measured / datagrams
        out["from_decoder_payload"] = {"frames_decoded": len(rec), "message_overhead": message_overhead,
                                       "estimated_mean_ip_bytes": est_mean,
                                       "measured_mean_ip_bytes": meas_mean,
                                       "ratio": est_mean / meas_mean}
    if rec and datagrams and all("link_bits" in r for r in rec):
        # what the decoder's stats report (link_bits / link_kbps, the headline), against the link
        rep_mean = sum(r["link_bits"] for r in rec) / 8.0 / len(rec)
        out["decoder_link_bits"] = {"frames_decoded": len(rec), "reported_mean_ip_bytes": rep_mean,
                                    "measured_mean_ip_bytes": measured / datagrams,
                                    "ratio": rep_mean / (measured / datagrams)}
    return out


def _decoder_link_kbps(rec: list[dict[str, Any]], cap_rates: dict[str, Any], a: float,
                       b: float) -> dict[str, Any]:
    """The decoder's reported link kbit/s against the frames' captured r2o kbit/s in a window.

    ``reported_link_kbps``: the decoder's ``link_kbps`` (a 5 s window rate) averaged over time
    (each value holds until the next decoded frame; a plain mean over frames would weigh bursts
    of frames more). ``summed_link_kbps``: its ``link_bits`` summed over the window (item 2 of
    issue 15: within 5 % of the capture).
    """
    frames = sum(v for k, v in (cap_rates or {}).get("r2o", {}).items() if k.startswith("frame"))
    win = [r for r in rec if a <= r["wall"] < b and "link_kbps" in r]
    if len(win) < 2 or not frames:
        return {}
    held = [(r["link_kbps"], min(nxt["wall"], b) - r["wall"]) for r, nxt in zip(win, win[1:] + [{"wall": b}])]
    total = sum(dt for _, dt in held)
    reported = sum(v * dt for v, dt in held) / total if total > 0 else win[-1]["link_kbps"]
    summed = sum(r["link_bits"] for r in win) / (b - a) / 1000.0
    return {"reported_link_kbps": reported, "summed_link_kbps": summed, "captured_frame_kbps": frames,
            "ratio": reported / frames, "summed_ratio": summed / frames}


def _frame_samples(cap: dict[str, Any]) -> dict[str, Any]:
    sizes = cap.get("user_serialized_sizes", {}).get("frame", [])
    ip = cap.get("datagram_ip_bytes", {}).get("frame@r2o", [])
    if not sizes or not ip:
        return {}
    return {"n": len(sizes), "serialized_mean": sum(sizes) / len(sizes),
            "datagram_ip_mean": sum(ip) / len(ip), "datagrams": len(ip)}


def _f(x: Any, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def format_report(s: dict[str, Any]) -> str:
    """The printed report of one run."""
    lines = [f"link {s['link']['kbps']:g} kbit/s each way, loss {s['link']['loss']:g}, "
             f"target_kbps {s['target_kbps']:g}, {s['duration_s']:.0f} s"]
    for name in ("link_whole", "link_steady"):
        r = s.get(name) or {}
        if r:
            lines.append(f"  {name:12s} robot->operator {r['r2o']['ip_kbps']:6.2f} kbit/s IP "
                         f"({r['r2o']['l2_kbps']:.2f} L2) | operator->robot {r['o2r']['ip_kbps']:6.2f} "
                         f"kbit/s IP ({r['o2r']['l2_kbps']:.2f} L2) over {r['seconds']:.0f} s")
    for name in ("split_steady_kbps", "split_startup_kbps"):
        sp = s.get(name)
        if sp:
            for d in ("r2o", "o2r"):
                parts = ", ".join(f"{k} {v:.2f}" for k, v in sp.get(d, {}).items())
                lines.append(f"  {name[6:-5]:8s} {d}: {parts or 'nothing'}")
    d = s["decoded"]
    lines.append(f"  decoded {d['frames']} frames, {d['fps']:.2f} fps, first after "
                 f"{_f(d.get('first_frame_s'))} s, lost {d.get('frames_lost', '-')}, "
                 f"INTER {d.get('inter_frames', 0)}")
    est = s.get("estimate_check") or {}
    for key in ("from_serialized", "from_decoder_payload", "decoder_link_bits"):
        if key in est:
            lines.append(f"  link_cost estimate / measured frame IP bytes ({key}): "
                         f"{est[key]['ratio']:.4f}")
    if est.get("decoder_link_kbps"):
        k = est["decoder_link_kbps"]
        lines.append(f"  decoder's link_kbps {k['reported_link_kbps']:.2f} (its link_bits summed: "
                     f"{k['summed_link_kbps']:.2f}) / captured frames {k['captured_frame_kbps']:.2f} "
                     f"kbit/s (steady): {k['ratio']:.4f} ({k['summed_ratio']:.4f})")
    st = (s.get("link_steady") or {}).get("r2o")
    if st and s.get("target_kbps"):
        lines.append(f"  robot->operator IP / target_kbps (steady): {st['ip_kbps'] / s['target_kbps']:.3f}")
    for name in ("latency_start", "latency_end"):
        lat = s.get(name)
        if lat:
            lines.append(f"  {name}: p50 {_f(lat['p50_ms'], '{:.0f}')} ms, p95 "
                         f"{_f(lat['p95_ms'], '{:.0f}')} ms (n={lat['n']})")
    return "\n".join(lines)


def frame_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-type payload sizes and decode gaps of the decoded frames (video vs intra-only runs).

    ``gap_*``: seconds between consecutive decoded frames (a loss shows as a longer gap; the
    longest gap is the worst recovery time); ``frames_rejected`` counts frames the decoder
    refused (e.g. an INTER frame whose reference it lacks).
    """
    out: dict[str, Any] = {}
    for name, ftype in (("intra", 0), ("inter", 1)):
        bits = [r["payload_bits"] for r in records if r["frame_type"] == ftype]
        out[name] = {"n": len(bits), "payload_bytes_mean": sum(bits) / len(bits) / 8 if bits else None}
    allbits = [r["payload_bits"] for r in records]
    out["payload_bytes_mean"] = sum(allbits) / len(allbits) / 8 if allbits else None
    gaps = [b["wall"] - a["wall"] for a, b in zip(records, records[1:])]
    out["gap_p50_s"], out["gap_p95_s"] = percentile(gaps, 50), percentile(gaps, 95)
    out["gap_max_s"] = max(gaps) if gaps else None
    out["frames_rejected"] = records[-1]["frames_rejected"] if records else 0
    return out


def markdown_table(summaries: dict[str, dict[str, Any]]) -> str:
    """One markdown row per run (steady-state link rates, split, fps, latency, loss)."""
    head = ("| run | tbf kbit/s | target | r2o IP kbit/s (steady) | of which frames / stats / "
            "camera_info / discovery | o2r IP kbit/s | decoded fps | first frame s | lost | "
            "p50/p95 ms start | p50/p95 ms end |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [head]
    for name, s in summaries.items():
        st = s.get("link_steady") or s.get("link_whole") or {}
        sp = (s.get("split_steady_kbps") or {}).get("r2o", {})
        d = s["decoded"]
        ls, le = s.get("latency_start") or {}, s.get("latency_end") or {}
        split = " / ".join(_f(sp.get(k, 0.0), "{:.2f}") for k in ("frame", "stats", "camera_info"))
        disc = sp.get("discovery", 0.0) + sp.get("ros_graph", 0.0)
        rows.append(
            f"| {name} | {s['link']['kbps']:g} | {s['target_kbps']:g} | "
            f"{_f((st.get('r2o') or {}).get('ip_kbps'), '{:.2f}')} | {split} / {disc:.2f} | "
            f"{_f((st.get('o2r') or {}).get('ip_kbps'), '{:.2f}')} | {d['fps']:.2f} | "
            f"{_f(d.get('first_frame_s'))} | {d.get('frames_lost', '-')} | "
            f"{_f(ls.get('p50_ms'), '{:.0f}')}/{_f(ls.get('p95_ms'), '{:.0f}')} | "
            f"{_f(le.get('p50_ms'), '{:.0f}')}/{_f(le.get('p95_ms'), '{:.0f}')} |")
    return "\n".join(rows)


def budget_figures(run_dir: Path) -> dict[str, Any]:
    """A run's link-budget figures (issue 15 item 4), from its summary, monitor and capture.

    ``offered_kbps``: the frame ids the encoder numbered between the first and the last decoded
    frame times the captured mean IP bytes per frame datagram, over that time: what the rate
    control sent into the link (the tbf may drop part of it); ``r2o_ip_kbps``: what the link
    delivered in the steady window (veth counters). ``decoder_*``: the decoder's reported
    link_kbps check (:func:`_decoder_link_kbps`).
    """
    s = _load(run_dir / "summary.json") or {}
    rec = (_load(run_dir / "monitor.json") or {"records": []})["records"]
    sp = s.get("split_steady_kbps") or {}
    r2o, o2r = sp.get("r2o", {}), sp.get("o2r", {})
    st = s.get("link_steady") or {}
    d = s.get("decoded") or {}
    fs = s.get("frame_samples") or {}
    span_s = rec[-1]["wall"] - rec[0]["wall"] if len(rec) > 1 else 0.0
    enc_fps = d.get("frame_id_span", 0) / span_s if span_s > 0 else 0.0
    offered = enc_fps * fs.get("datagram_ip_mean", 0.0) * 8 / 1000.0
    target = s.get("target_kbps") or float("nan")
    ip = (st.get("r2o") or {}).get("ip_kbps", 0.0)
    k = (s.get("estimate_check") or {}).get("decoder_link_kbps") or {}
    return {"target_kbps": target, "r2o_ip_kbps": ip, "r2o_over_target": ip / target,
            "frame_kbps": r2o.get("frame", 0.0), "stats_kbps": r2o.get("stats", 0.0),
            "camera_info_kbps": r2o.get("camera_info", 0.0),
            "discovery_kbps": r2o.get("discovery", 0.0) + r2o.get("ros_graph", 0.0),
            "o2r_ip_kbps": (st.get("o2r") or {}).get("ip_kbps", 0.0), "o2r_ack_kbps": o2r.get("ack", 0.0),
            "encoded_fps": enc_fps, "offered_kbps": offered, "offered_over_target": offered / target,
            "decoded_fps": d.get("fps", 0.0), "frames_lost": d.get("frames_lost", 0),
            "frame_ip_bytes_mean": fs.get("datagram_ip_mean"), "serialized_mean": fs.get("serialized_mean"),
            "latency_start": s.get("latency_start"), "latency_end": s.get("latency_end"),
            "decoder_link_kbps": k.get("reported_link_kbps"), "decoder_summed_kbps": k.get("summed_link_kbps"),
            "captured_frame_kbps": k.get("captured_frame_kbps"), "decoder_ratio": k.get("ratio"),
            "decoder_summed_ratio": k.get("summed_ratio"),
            "from_serialized_ratio": ((s.get("estimate_check") or {}).get("from_serialized") or {}).get("ratio")}


def main(argv: list[str] | None = None) -> int:
    """``python -m sqgan_ros.tools.link_report [--budget] RUN_DIR...``: a markdown table of the runs.

    With ``--budget`` each run's :func:`budget_figures` are written to ``RUN_DIR/budget.json``.
    """
    import sys

    dirs = sys.argv[1:] if argv is None else argv
    if dirs and dirs[0] == "--budget":
        for d in dirs[1:]:
            (Path(d) / "budget.json").write_text(json.dumps(budget_figures(Path(d)), indent=2) + "\n")
            print(f"{d}/budget.json")
        return 0
    summaries = {}
    for d in dirs:
        s = _load(Path(d) / "summary.json")
        if s is None:
            print(f"link_report: error: no readable summary.json in {d}", file=sys.stderr)
            return 2
        summaries[Path(d).name] = s
    print(markdown_table(summaries))
    for d in dirs:
        mon = _load(Path(d) / "monitor.json")
        if mon and mon.get("records"):
            print(f"{Path(d).name}: {json.dumps(frame_stats(mon['records']))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
