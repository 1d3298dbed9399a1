"""Two-host link harness: the teleop graph across a rate-limited veth pair, every byte counted.

::

    netns robot:    camera_source -> sqgan_encoder ==tbf R kbit/s==+
                                          ^                         | veth 10.231.0.1 <-> .2
    netns operator: rtps_capture (AF_PACKET on the veth) ; link_monitor <- sqgan_decoder
                                          +======== acks, stats subscriptions, discovery

Run as root (``scripts/link_test.sh`` sources the environment):
``python -m sqgan_ros.ros.tools.link_harness --kbps 32 --loss 0.1 --duration 60 [--video]
[--target-kbps K] [--profile thin|default] [--out DIR]``.

DDS runs over UDPv4 only (``FASTDDS_BUILTIN_TRANSPORTS=UDPv4``, no shared memory) in domain 0
inside the harness' own namespaces. The veth counters of both ends are read once a second
(link kbit/s each way; IP level = counter bytes minus 14 B Ethernet header per packet); the
capture splits the same bytes into frames / stats / acks / discovery (see
:mod:`sqgan_ros.tools.rtps_capture`); the monitor records each decoded frame's stats (fps,
latency, frames lost). Everything is removed at the end, also on Ctrl-C, SIGTERM or errors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, is_synthetic, node_command
from sqgan_ros.ros.tools.run_graph import prerender_synthetic
from sqgan_ros.tools.link_report import summarize
from sqgan_ros.tools.netns_link import LinkConfig, NetnsLink, namespaces_problem

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[3]
PROFILE_DIR = REPO / "config" / "link"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.ros.tools.link_harness",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--kbps", type=float, default=32.0, help="tbf rate each way (0 = unlimited)")
    p.add_argument("--loss", type=float, default=0.0, help="UDP loss probability each way")
    p.add_argument("--duration", type=float, default=60.0, help="seconds after the graph starts")
    p.add_argument("--target-kbps", type=float, default=None,
                   help="encoder target_kbps (default: --kbps; 0 = no rate control)")
    p.add_argument("--video", action="store_true", help="INTER frames with acknowledgements")
    p.add_argument("--fps", type=float, default=None, help="camera frame rate (default: its own)")
    p.add_argument("--source", default="synthetic", help="camera_source spec")
    p.add_argument("--model", default="", help="model file (default: bundled)")
    p.add_argument("--config", default=str(REPO / "config" / "teleop.yaml"))
    p.add_argument("--profile", choices=["default", "thin"], default="default",
                   help="discovery: default (multicast SPDP, 3 s) or thin (config/link/*.xml)")
    p.add_argument("--burst", type=int, default=1600, help="tbf bucket bytes (>= 1514)")
    p.add_argument("--latency-ms", type=float, default=250.0, help="tbf queue limit in ms")
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--window-s", type=float, default=10.0,
                   help="latency percentiles over the first and the last this many seconds")
    p.add_argument("--out", default="link_out", help="folder for the JSON files and node logs")
    p.add_argument("--quiet", action="store_true")
    return p


class _Run:
    """The processes of one run and their cleanup."""

    def __init__(self, link: NetnsLink, out: Path) -> None:
        self.link, self.out = link, out
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs: list[Any] = []

    def start(self, name: str, ns: str, cmd: list[str], env: dict[str, str]) -> None:
        log = open(self.out / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        proc = subprocess.Popen(self.link.exec_prefix(ns) + cmd, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))

    def dead(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.procs if p.poll() is not None]

    def stop(self, names: list[str] | None = None, grace_s: float = 8.0) -> None:
        chosen = [(n, p) for n, p in self.procs if names is None or n in names]
        for _, p in chosen:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for _, p in chosen:
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def close_logs(self) -> None:
        for log in self.logs:
            log.close()


def _env(base: dict[str, str], profile: str, xml: str | None, local: bool = False) -> dict[str, str]:
    env = dict(base)
    env.update(FASTDDS_BUILTIN_TRANSPORTS="UDPv4", ROS_DOMAIN_ID="0", RCUTILS_COLORIZED_OUTPUT="0")
    for key in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE",
                "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_STATIC_PEERS", "ROS_LOCALHOST_ONLY"):
        env.pop(key, None)
    if xml and (profile == "thin" or local):
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE_DIR / xml)
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One harness run; returns the summary (also written to ``<out>/summary.json``)."""
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if is_synthetic(args.source):
        prerender_synthetic(args.source, 200)
    target = args.kbps if args.target_kbps is None else args.target_kbps
    opts = GraphOptions(source=args.source, model=args.model, target_kbps=float(target),
                           fps=args.fps, torch_threads=args.torch_threads,
                           video=True if args.video else None)
    plans = {p.executable: p for p in graph_plan(opts)}
    link = NetnsLink(LinkConfig(kbps=args.kbps, loss=args.loss, burst_bytes=args.burst,
                                latency_ms=args.latency_ms))
    base = dict(os.environ)
    base["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [
        p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p])
    files = [Path(args.config)]
    py = sys.executable
    counters: list[tuple[float, dict[str, dict[str, int]]]] = []
    link.setup()
    run_ = _Run(link, out)
    status = 0
    t0 = t_end = time.time()
    qdisc: dict[str, str] = {}
    try:
        o_if = link.ifaces[link.operator]
        run_.start("capture", link.operator, [py, "-m", "sqgan_ros.tools.rtps_capture", "--iface",
                                             o_if, "--out", str(out / "capture.json")], base)
        time.sleep(1.0)  # the capture socket is open before the first packet
        t0 = time.time()
        counters.append((t0, link.counters()))
        order = [("decoder_node", link.operator, "operator_link.xml"),
                 ("camera_source", link.robot, "robot_local.xml"),
                 ("encoder_node", link.robot, "robot_link.xml")]
        for exe, ns, xml in order:
            if exe in plans:
                run_.start(exe, ns, node_command(plans[exe], files), _env(base, args.profile, xml))
                time.sleep(0.5)  # participant ids in start order (the thin profile fixes them)
        monitor_env = _env(base, args.profile, "operator_local.xml", local=True)
        run_.start("monitor", link.operator, [py, "-m", "sqgan_ros.ros.tools.link_monitor",
                                             "--topic", "/operator/sqgan/decoder_stats",
                                             "--out", str(out / "monitor.json")], monitor_env)
        next_print = time.monotonic() + 5.0
        while time.time() - t0 < args.duration:
            time.sleep(1.0)
            counters.append((time.time(), link.counters()))
            if run_.dead():
                name, rc = run_.dead()[0]
                print(f"link_harness: error: {name} exited with status {rc} (log: "
                      f"{out / (name + '.log')})", file=sys.stderr)
                status = 1
                break
            if not args.quiet and time.monotonic() >= next_print:
                next_print += 5.0
                print(_progress(counters, link), file=sys.stderr, flush=True)
        t_end = time.time()
        qdisc = link.qdisc_stats()
        run_.stop([n for n, _ in run_.procs if n not in ("capture",)])
        run_.stop(["capture"])
    except KeyboardInterrupt:
        status = 130
        t_end = time.time()
        run_.stop()
    finally:
        run_.stop()
        run_.close_logs()
        link.teardown()
    summary = summarize(counters=counters, t0=t0, t_end=t_end, link=link, args=vars(args),
                        target_kbps=float(target), out=out, window_s=args.window_s,
                        message_overhead=_frame_message_overhead())
    summary["qdisc"] = qdisc
    summary["exit_status"] = status
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _frame_message_overhead() -> int | None:
    """CDR bytes a SemanticFrame adds to its payload (camera frame id "camera"); None if unknown."""
    try:
        from sqgan_ros.ros.message_size import semantic_frame_overhead
    except ImportError:
        return None
    return int(semantic_frame_overhead(b"", "camera")[0])


def _progress(counters: list, link: NetnsLink) -> str:
    (ta, a), (tb, b) = counters[-6] if len(counters) > 5 else counters[0], counters[-1]
    dt = max(tb - ta, 1e-6)
    r, o = link.robot, link.operator

    def kbps(ns: str, key: str) -> float:
        return 8 * (b[ns][key] - a[ns][key]) / dt / 1000

    return (f"link_harness: t={tb - counters[0][0]:5.0f} s  robot->operator {kbps(r, 'tx_bytes'):6.1f} "
            f"kbit/s  operator->robot {kbps(o, 'tx_bytes'):6.1f} kbit/s (L2, last 5 s)")


def main(argv: list[str] | None = None) -> int:
    """Entry point: one run, a printed report, ``<out>/summary.json``."""
    from sqgan_ros.tools.link_report import format_report

    args = _parser().parse_args(argv)
    problem = namespaces_problem()
    if problem:
        print(f"link_harness: cannot run: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        summary = run(args)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"link_harness: error: {exc}", file=sys.stderr)
        return 1
    report = format_report(summary)
    (Path(args.out) / "report.txt").write_text(report + "\n")
    print(report)
    print(f"link_harness: summary in {Path(args.out) / 'summary.json'}", file=sys.stderr)
    return int(summary["exit_status"])


if __name__ == "__main__":
    sys.exit(main())
