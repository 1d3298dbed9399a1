"""Soak test of the teleop nodes: hours of camera input, memory and latency must not creep.

::

    python -m sqgan_ros.ros.tools.soak [--minutes 30] [--fps 30] [--size 256x512] [--model M]
                                 [--segmenter bundled] [--torch-threads 0] [--output soak_out]

    this driver --camera/image_raw (fps, HxW)--> sqgan_encoder --sqgan/frame--> sqgan_decoder
         ^                                           | encoder_stats              | decoder_stats
         +-------------- RSS of both (/proc), latency, frame counters <-----------+

The encoder and decoder run as their own processes, started exactly as the runner and launch file
start them (:func:`sqgan_ros.ros.graph_plan.graph_plan`, ``config/teleop.yaml``). The driver
publishes pre-rendered synthetic street scenes at ``fps``, samples each node's resident memory
once a second, and records the decoder's end-to-end latency. At the end it compares the first
and the last measurement windows (one minute each on runs of 4 minutes or more; after a warm-up)
and fails (exit status 1) if

* a node's RSS grew by more than ``max(--max-rss-growth-mb, 10 %)``, or
* the median latency of the last window exceeds ``1.5 x first + 50 ms`` (a queue building up), or
* a node died, or no frame was decoded.

It prints memory and latency at start and end, frames sent / encoded / decoded, dropped and lost
counts, and writes ``summary.json`` (with every sample) under ``--output``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sqgan_ros.tools.processes import stop_processes

__all__ = ["SoakLimits", "SoakReport", "windows", "summarise", "rss_mb", "run_soak", "main"]

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SoakLimits:
    """Pass/fail bounds.

    Args:
        max_rss_growth_mb: allowed RSS growth per node, first to last window (MB) ...
        max_rss_growth_ratio: ... or this fraction of the first window's RSS, whichever is larger.
        latency_ratio: allowed last/first median latency ratio ...
        latency_slack_ms: ... plus this many milliseconds.
    """

    max_rss_growth_mb: float = 64.0
    max_rss_growth_ratio: float = 0.10
    latency_ratio: float = 1.5
    latency_slack_ms: float = 50.0


@dataclass
class SoakReport:
    """What a soak run measured (all times in seconds from the start of the input stream)."""

    duration_s: float
    window_s: tuple[float, float, float, float]
    rss_start_mb: dict[str, float]
    rss_end_mb: dict[str, float]
    latency_start_ms: float
    latency_end_ms: float
    frames_sent: int
    frames_encoded: int
    frames_decoded: int
    encoder_dropped: int
    encoder_rejected: int
    decoder_lost: int
    decoder_rejected: int
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no bound was exceeded."""
        return not self.failures

    def lines(self) -> list[str]:
        """Human-readable summary."""
        out = [f"soak: {self.duration_s / 60:.1f} min; windows {self.window_s[0]:.0f}-"
               f"{self.window_s[1]:.0f} s vs {self.window_s[2]:.0f}-{self.window_s[3]:.0f} s"]
        for name in sorted(self.rss_start_mb):
            out.append(f"soak: {name} RSS {self.rss_start_mb[name]:.1f} MB -> "
                       f"{self.rss_end_mb.get(name, math.nan):.1f} MB")
        out.append(f"soak: latency (median) {self.latency_start_ms:.0f} ms -> "
                   f"{self.latency_end_ms:.0f} ms")
        out.append(f"soak: frames sent {self.frames_sent}, encoded {self.frames_encoded}, decoded "
                   f"{self.frames_decoded}; encoder dropped {self.encoder_dropped} (busy: newest "
                   f"wins), rejected {self.encoder_rejected}; decoder lost {self.decoder_lost}, "
                   f"rejected {self.decoder_rejected}")
        out.append("soak: PASS" if self.passed else "soak: FAIL: " + "; ".join(self.failures))
        return out


def windows(duration_s: float) -> tuple[float, float, float, float]:
    """First and last measurement windows ``(a0, a1, b0, b1)`` of a run of ``duration_s``.

    A warm-up of ``min(30 s, 15 %)`` is skipped (model loading, first allocations); each window
    is ``min(60 s, a third of the rest)``: one minute on runs of 4 minutes and more.

    Args:
        duration_s: run length (> 0).
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    warm = min(30.0, 0.15 * duration_s)
    win = min(60.0, (duration_s - warm) / 3.0)
    return warm, warm + win, duration_s - win, duration_s


def _median_in(samples: list[tuple[float, float]], lo: float, hi: float) -> float:
    values = [v for t, v in samples if lo <= t <= hi and math.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def summarise(duration_s: float, rss: dict[str, list[tuple[float, float]]],
              latency: list[tuple[float, float]], counters: dict[str, int],
              limits: SoakLimits = SoakLimits(), died: list[str] | None = None) -> SoakReport:
    """Turn the samples of a run into a report with pass/fail reasons.

    Args:
        duration_s: run length.
        rss: per node, ``(t, MB)`` samples.
        latency: ``(t, ms)`` from the decoder's stats.
        counters: ``frames_sent``, ``frames_encoded``, ``frames_decoded``, ``encoder_dropped``,
            ``encoder_rejected``, ``decoder_lost``, ``decoder_rejected``.
        limits: bounds.
        died: nodes that exited during the run.
    """
    w = windows(duration_s)
    start = {n: _median_in(s, w[0], w[1]) for n, s in rss.items()}
    end = {n: _median_in(s, w[2], w[3]) for n, s in rss.items()}
    lat0, lat1 = _median_in(latency, w[0], w[1]), _median_in(latency, w[2], w[3])
    failures: list[str] = [f"{n} exited during the run" for n in (died or [])]
    for name in sorted(rss):
        a, b = start[name], end[name]
        if not (math.isfinite(a) and math.isfinite(b)):
            failures.append(f"no RSS samples of {name} in both windows")
            continue
        bound = max(limits.max_rss_growth_mb, limits.max_rss_growth_ratio * a)
        if b - a > bound:
            failures.append(f"{name} RSS grew {b - a:.1f} MB (> {bound:.1f} MB)")
    if counters.get("frames_decoded", 0) == 0:
        failures.append("no frame was decoded")
    elif not (math.isfinite(lat0) and math.isfinite(lat1)):
        failures.append("no latency samples in both windows")
    elif lat1 > limits.latency_ratio * lat0 + limits.latency_slack_ms:
        failures.append(f"latency grew {lat0:.0f} -> {lat1:.0f} ms "
                        f"(> {limits.latency_ratio:g} x + {limits.latency_slack_ms:g} ms)")
    c = {k: int(counters.get(k, 0)) for k in (
        "frames_sent", "frames_encoded", "frames_decoded", "encoder_dropped", "encoder_rejected",
        "decoder_lost", "decoder_rejected")}
    return SoakReport(duration_s, w, start, end, lat0, lat1, failures=failures, **c)


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (``/proc``; NaN where unavailable)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return math.nan


class _Driver:
    """The soak's own ROS node: camera input, stats listener."""

    def __init__(self, robot: str, operator: str, frames: list[np.ndarray], fps: float) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        from sqgan_ros.msg import CodecStats
        from sqgan_ros.ros.image_conversion import numpy_to_image

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context, args=[])
        self.node = rclpy.create_node("sqgan_soak", context=self.context)
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.latency: list[tuple[float, float]] = []
        self.enc: Any = None
        self.dec: Any = None
        self.decoded = 0
        self.sent = 0
        self._msgs = [numpy_to_image(f, "rgb8") for f in frames]
        for m in self._msgs:
            m.header.frame_id = "camera"
        self._pub = self.node.create_publisher(
            Image, f"{robot}/camera/image_raw",
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        best = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.node.create_subscription(CodecStats, f"{robot}/sqgan/encoder_stats", self._on_enc, best)
        self.node.create_subscription(CodecStats, f"{operator}/sqgan/decoder_stats", self._on_dec, 10)
        self.node.create_subscription(Image, f"{operator}/sqgan/image", self._on_image,
                                      QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
        self.node.create_timer(1.0 / fps, self._tick)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def _tick(self) -> None:
        msg = self._msgs[self.sent % len(self._msgs)]
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self._pub.publish(msg)
        self.sent += 1

    def _on_enc(self, msg: Any) -> None:
        with self.lock:
            self.enc = msg

    def _on_dec(self, msg: Any) -> None:
        with self.lock:
            self.dec = msg
            if math.isfinite(msg.latency_ms):
                self.latency.append((time.monotonic() - self.t0, float(msg.latency_ms)))

    def _on_image(self, msg: Any) -> None:
        with self.lock:
            self.decoded += 1

    def spin_once(self, timeout: float) -> None:
        self.executor.spin_once(timeout_sec=timeout)

    def counters(self) -> dict[str, int]:
        with self.lock:
            enc, dec = self.enc, self.dec
            return {"frames_sent": self.sent, "frames_decoded": self.decoded,
                    "frames_encoded": int(enc.frames_total) if enc else 0,
                    "encoder_dropped": int(enc.frames_dropped) if enc else 0,
                    "encoder_rejected": int(enc.frames_rejected) if enc else 0,
                    "decoder_lost": int(dec.frames_lost) if dec else 0,
                    "decoder_rejected": int(dec.frames_rejected) if dec else 0}

    def close(self) -> None:
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.context)


def _random_model(path: Path) -> Path:
    import torch

    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import save_model

    torch.manual_seed(0)
    save_model(path, SQGAN(get_config("small")).eval(), None,
               {"note": "random-initialised small model for the soak test"})
    return path




def run_soak(duration_s: float, model: Path, output: Path, *, fps: float = 30.0,
             size: tuple[int, int] = (256, 512), segmenter: str = "bundled",
             torch_threads: int | None = None, limits: SoakLimits = SoakLimits(),
             log: Any = print) -> SoakReport:
    """Run encoder and decoder under camera input for ``duration_s``; return the report.

    Args:
        duration_s: length of the input stream (s).
        model: model file for both nodes.
        output: folder for node logs and ``summary.json``.
        fps: camera rate.
        size: camera image ``(H, W)``.
        segmenter: the encoder's ``segmenter`` parameter.
        torch_threads: the nodes' ``torch_threads`` (None: config file).
        limits: pass/fail bounds.
        log: progress line sink.
    """
    from sqgan_ros.data.synthetic import render_scene
    from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, node_command

    output.mkdir(parents=True, exist_ok=True)
    frames = [render_scene(seed, size)[0] for seed in range(8)]
    plans = graph_plan(GraphOptions(source="", model=str(model), device="cpu",
                                    segmenter=segmenter, torch_threads=torch_threads))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    procs: dict[str, subprocess.Popen] = {}
    rss: dict[str, list[tuple[float, float]]] = {}
    died: list[str] = []
    driver = None
    try:
        for plan in plans:
            logfile = (output / f"{plan.name}.log").open("w")
            procs[plan.name] = subprocess.Popen(
                node_command(plan, [REPO / "config" / "teleop.yaml"]), env=env,
                stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
            rss[plan.name] = []
        robot = plans[0].namespace.rstrip("/")
        operator = plans[-1].namespace.rstrip("/")
        driver = _Driver(robot, operator, frames, fps)
        # Wait until the chain is up (first decoded frame), then start the clock.
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline and driver.counters()["frames_decoded"] == 0:
            driver.spin_once(0.05)
            if any(p.poll() is not None for p in procs.values()):
                break
        driver.t0 = start = time.monotonic()
        with driver.lock:
            driver.latency.clear()
        next_sample = start
        next_log = start + 60.0
        while (now := time.monotonic()) - start < duration_s:
            driver.spin_once(0.01)
            if now >= next_sample:
                next_sample += 1.0
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        if name not in died:
                            died.append(name)
                        continue
                    rss[name].append((now - start, rss_mb(proc.pid)))
                if died:
                    break
            if now >= next_log:
                next_log += 60.0
                c = driver.counters()
                log(f"soak: {(now - start) / 60:.0f} min: " + ", ".join(
                    f"{k} {v}" for k, v in c.items()) + "; RSS " + ", ".join(
                    f"{n} {s[-1][1]:.0f} MB" for n, s in rss.items() if s))
        counters = driver.counters()
        with driver.lock:
            latency = list(driver.latency)
    finally:
        if driver is not None:
            driver.close()
        stop_processes(procs.values(), grace_s=10.0)
    report = summarise(duration_s, rss, latency, counters, limits, died)
    (output / "summary.json").write_text(json.dumps(
        {**asdict(report), "passed": report.passed, "fps": fps, "size": list(size),
         "model": str(model), "segmenter": segmenter, "rss_samples": rss,
         "latency_samples": latency}, indent=1))
    return report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.ros.tools.soak",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="input stream length (default 30)")
    p.add_argument("--fps", type=float, default=30.0, help="camera rate (default 30)")
    p.add_argument("--size", default="256x512", help="camera image HxW (default 256x512)")
    p.add_argument("--model", default="", help="model file (default: models/default.safetensors, "
                                               "else a random-initialised small model)")
    p.add_argument("--segmenter", default="bundled", help="encoder segmenter (default bundled)")
    p.add_argument("--torch-threads", type=int, default=None, help="nodes' torch_threads")
    p.add_argument("--max-rss-growth-mb", type=float, default=SoakLimits.max_rss_growth_mb)
    p.add_argument("--output", default="soak_out", help="folder for logs and summary.json")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the soak; returns 0 on pass, 1 on fail, 2 on bad arguments."""
    args = _parser().parse_args(argv)
    try:
        h, w = (int(v) for v in args.size.lower().split("x"))
        if args.minutes <= 0 or args.fps <= 0 or h <= 0 or w <= 0:
            raise ValueError
    except ValueError:
        print("soak: error: --minutes and --fps must be > 0 and --size HxW positive",
              file=sys.stderr)
        return 2
    output = Path(args.output)
    if args.model:
        model = Path(args.model).expanduser()
        if not model.is_file():
            print(f"soak: error: model file not found: {model}", file=sys.stderr)
            return 2
    elif (REPO / "models" / "default.safetensors").is_file():
        model = REPO / "models" / "default.safetensors"
    else:
        output.mkdir(parents=True, exist_ok=True)
        model = _random_model(output / "random_small.safetensors")
        print(f"soak: no trained model; using a random-initialised one ({model})", file=sys.stderr)
    report = run_soak(args.minutes * 60.0, model, output, fps=args.fps, size=(h, w),
                      segmenter=args.segmenter, torch_threads=args.torch_threads,
                      limits=SoakLimits(max_rss_growth_mb=args.max_rss_growth_mb),
                      log=lambda line: print(line, file=sys.stderr, flush=True))
    for line in report.lines():
        print(line, flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
