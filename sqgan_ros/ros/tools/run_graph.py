"""Run the teleop graph without launch_ros: camera source, encoder, decoder as processes + monitor.

::

    python -m sqgan_ros.ros.tools.run_graph --config config/teleop.yaml [--source synthetic]
        [--camera-topic T] [--model M] [--device auto] [--target-kbps 20] [--duration 60]
        [--robot-ns robot] [--operator-ns operator] [--output teleop_out]

    robot ns:     camera_source --camera/image_raw--> sqgan_encoder --sqgan/frame--+
    operator ns:  sqgan_decoder <---------------------------------------------------+
                     --> sqgan/image, sqgan/semantic, sqgan/decoder_stats --> monitor (this process)

The same YAML file serves launch_ros (launch/teleop.launch.py builds its nodes from
:func:`sqgan_ros.ros.graph_plan.graph_plan` too) and this runner (``--ros-args --params-file``). The monitor prints
rates, kbit/s and latency once a second and saves side-by-side PNGs (camera | reconstruction |
semantic map) under the output folder. Ctrl-C stops every child; a child that dies is reported
and stops the run with a non-zero status.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqgan_ros.ros.frame_sources import DEFAULT_SIZE, synthetic_seed
from sqgan_ros.ros.graph_plan import (
    GraphOptions,
    NodePlan,
    absolute_namespace,
    graph_plan,
    is_synthetic,
    node_command,
    resolve_topic,
)
from sqgan_ros.ros.launch_support import side_plan
from sqgan_ros.tools.processes import stop_processes

__all__ = ["prerender_synthetic", "main"]

REPO = Path(__file__).resolve().parents[3]


def prerender_synthetic(source: str, frames: int, size: tuple[int, int] = DEFAULT_SIZE) -> None:
    """Render the cache a ``synthetic[:SEED]`` camera replays (no-op when it exists)."""
    from sqgan_ros.data.synthetic.sequence_cache import find_cache, render_sequence_cache

    seed = synthetic_seed(source)
    if seed is None:
        raise ValueError(f"{source!r} is not a synthetic[:SEED] source")
    if frames <= 0 or find_cache(seed, size, frames) is not None:
        return
    print(f"run_graph: pre-rendering {frames} synthetic frames (seed {seed}) once, so the camera "
          "replays them instead of spending a core on rendering ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    cache = render_sequence_cache(seed, size, frames, workers=max(1, os.cpu_count() or 1))
    print(f"run_graph: {cache.path} ready in {time.monotonic() - start:.0f} s", file=sys.stderr)


# ----------------------------------------------------------------------------------- monitor
class _Monitor:
    """Subscribes to the graph's outputs; prints a status line and saves side-by-side PNGs."""

    def __init__(self, node: Any, robot: str, operator: str, image_topic: str, output: Path,
                 save_every_s: float, show: bool, side: str = "both") -> None:
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from sqgan_ros.msg import CodecStats

        self.node = node
        self.output = output
        self.save_every_s = save_every_s
        self.show = show
        self.camera: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.semantic: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.counts = {"camera": 0, "image": 0}
        self.first: dict[str, float] = {}
        self.last_stats: Any = None
        self.latencies: list[float] = []
        self.decode_ms: list[float] = []
        self.encode_ms: list[float] = []
        self.kbps: list[float] = []  # link kbit/s (IP level, sqgan_ros.link_cost): the headline
        self.payload_kbps: list[float] = []
        self.saved: list[Path] = []
        self._last_save = -math.inf
        self._start = time.monotonic()
        reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                              reliability=ReliabilityPolicy.RELIABLE)
        self.side = side
        if side != "operator":  # the raw camera never crosses to the operator's side
            node.create_subscription(Image, resolve_topic(robot, image_topic), self._on_camera,
                                     qos_profile_sensor_data)
        if side != "robot":
            node.create_subscription(Image, resolve_topic(operator, "sqgan/semantic"), self._on_semantic, reliable)
            node.create_subscription(Image, resolve_topic(operator, "sqgan/image"), self._on_image, reliable)
            node.create_subscription(CodecStats, resolve_topic(operator, "sqgan/decoder_stats"),
                                     self._on_stats, 10)

    @staticmethod
    def _key(msg: Any) -> tuple[int, int]:
        return (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))

    def _remember(self, store: OrderedDict, msg: Any) -> None:
        store[self._key(msg)] = msg
        while len(store) > 60:
            store.popitem(last=False)

    def _on_camera(self, msg: Any) -> None:
        self.counts["camera"] += 1
        self.first.setdefault("camera", time.monotonic())
        self._remember(self.camera, msg)

    def _on_semantic(self, msg: Any) -> None:
        self._remember(self.semantic, msg)

    def _on_stats(self, msg: Any) -> None:
        self.last_stats = msg
        if math.isfinite(msg.latency_ms):
            self.latencies.append(float(msg.latency_ms))
        if math.isfinite(msg.decode_ms):
            self.decode_ms.append(float(msg.decode_ms))
        if math.isfinite(msg.encode_ms):
            self.encode_ms.append(float(msg.encode_ms))
        if msg.link_kbps > 0:
            self.kbps.append(float(msg.link_kbps))
            self.payload_kbps.append(float(msg.payload_kbps))

    def _on_image(self, msg: Any) -> None:
        self.counts["image"] += 1
        self.first.setdefault("image", time.monotonic())
        now = time.monotonic()
        if now - self._last_save >= self.save_every_s:
            key = self._key(msg)
            cam, sem = self.camera.get(key), self.semantic.get(key)
            if sem is not None and (cam is not None or self.side == "operator"):
                self._save(cam, msg, sem)
                self._last_save = now

    def _save(self, cam: Any, rec: Any, sem: Any) -> None:
        import cv2
        import numpy as np

        from sqgan_ros.ros.image_conversion import image_to_numpy

        rec_rgb = image_to_numpy(rec, "rgb8")
        h, w = rec_rgb.shape[:2]
        panels = []
        for m in (cam, rec, sem):
            if m is None:  # the operator's side alone has no camera
                panels.append(np.zeros((h, w, 3), np.uint8))
                continue
            a = image_to_numpy(m, "rgb8")
            if a.shape[:2] != (h, w):
                a = cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA)
            panels.append(a)
        canvas = np.concatenate([panels[0], np.full((h, 4, 3), 255, np.uint8), panels[1],
                                 np.full((h, 4, 3), 255, np.uint8), panels[2]], axis=1)
        bgr = cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)
        for x, text in ((4, "camera"), (w + 8, "reconstruction"), (2 * w + 12, "semantic map")):
            cv2.putText(bgr, text, (x, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                        cv2.LINE_AA)
        self.output.mkdir(parents=True, exist_ok=True)
        path = self.output / f"frame_{len(self.saved):04d}.png"
        cv2.imwrite(str(path), bgr)
        cv2.imwrite(str(self.output / "latest.png"), bgr)
        self.saved.append(path)
        if self.show:
            try:
                cv2.imshow("sqgan_ros teleop", bgr)
                cv2.waitKey(1)
            except cv2.error:
                self.show = False

    def _fps(self, what: str) -> float:
        first = self.first.get(what)
        if first is None or self.counts[what] < 2:
            return 0.0
        return (self.counts[what] - 1) / max(time.monotonic() - first, 1e-6)

    def status_line(self) -> str:
        s = self.last_stats
        line = f"camera {self._fps('camera'):5.1f} fps | decoded {self._fps('image'):5.1f} fps"
        if s is not None:
            line += (f" | link {s.link_kbps:6.1f} kbit/s (payload {s.payload_kbps:5.1f}) "
                     f"{s.bpp:.4f} bpp | latency "
                     f"{s.latency_ms:6.0f} ms | {_ms('enc', s.encode_ms)} {_ms('dec', s.decode_ms)}"
                     f" | lost {s.frames_lost} rejected {s.frames_rejected}")
        else:
            line += " | waiting for the first decoded frame"
        return line

    def summary(self) -> dict[str, Any]:
        import numpy as np

        def med(x: list[float]) -> float | None:
            return float(np.median(x)) if x else None

        return {"camera_fps": self._fps("camera"), "decoded_fps": self._fps("image"),
                "frames_camera": self.counts["camera"], "frames_decoded": self.counts["image"],
                "link_kbps_median": med(self.kbps), "payload_kbps_median": med(self.payload_kbps), "latency_ms_median": med(self.latencies),
                "encode_ms_median": med(self.encode_ms), "decode_ms_median": med(self.decode_ms),
                "frames_lost": int(self.last_stats.frames_lost) if self.last_stats else 0,
                "saved_png": [str(p) for p in self.saved]}


def _ms(what: str, value: float) -> str:
    """``enc   42 ms``, or ``enc    - ms`` when the decoder does not know the value.

    The encoder's per-frame times stay on the robot: its stats cross the link only as a <= 1 Hz
    summary, which the decoder does not subscribe to by default.
    """
    return f"{what} {value:5.0f} ms" if math.isfinite(value) else f"{what}     - ms"


# ----------------------------------------------------------------------------------- runner
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.ros.tools.run_graph", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(REPO / "config" / "teleop.yaml"),
                   help="ROS parameters YAML shared with launch (default: config/teleop.yaml)")
    p.add_argument("--class-weights", default="",
                   help="extra params file applied after --config (e.g. config/class_weights/teleop_safety.yaml)")
    p.add_argument("--source", default="synthetic",
                   help="camera_source spec: synthetic[:seed] | pattern | video file | /dev/videoN | "
                        "'' for none (use --camera-topic)")
    p.add_argument("--camera-topic", default="camera/image_raw")
    p.add_argument("--fps", type=float, default=None, help="camera_source frame rate")
    p.add_argument("--model", default="", help="model file (default: bundled models/default.safetensors)")
    p.add_argument("--device", default="", choices=["", "auto", "cuda", "cpu"])
    p.add_argument("--target-kbps", type=float, default=None)
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch CPU threads per codec node (0 = auto: max(1, CPUs // 2); "
                        "default: config)")
    p.add_argument("--synthetic-cache-frames", type=int, default=200,
                   help="synthetic camera: pre-render this many frames once and replay them in a "
                        "loop (0 = render live, which costs 40-90 ms of CPU per frame)")
    p.add_argument("--video", action="store_true",
                   help="INTER frames against acknowledged references (default: the params file)")
    p.add_argument("--segmenter", default="", help="bundled | none | topic | path (default: config)")
    p.add_argument("--side", default="both", choices=["both", "robot", "operator"],
                   help="the nodes of one machine only, as robot.launch.py / operator.launch.py start "
                        "them (run the other side in another shell or on another host)")
    p.add_argument("--robot-ns", default="robot")
    p.add_argument("--operator-ns", default="operator")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    p.add_argument("--output", default="teleop_out", help="folder for side-by-side PNGs and summary.json")
    p.add_argument("--save-every", type=float, default=2.0, help="seconds between saved PNGs")
    p.add_argument("--show", action="store_true", help="also show the side-by-side in a window")
    p.add_argument("--quiet", action="store_true", help="no status line")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the graph; returns the exit status (0 on a clean stop)."""
    args = _parser().parse_args(argv)
    from sqgan_ros.ros.parameters import validate_params_file

    files = [Path(args.config)] + ([Path(args.class_weights)] if args.class_weights else [])
    for f in files:
        problems = validate_params_file(f)
        if problems:
            print("run_graph: error: " + "\n  ".join(problems), file=sys.stderr)
            return 2
    if args.model and not Path(args.model).expanduser().is_file():
        print(f"run_graph: error: model file not found: {args.model}", file=sys.stderr)
        return 2
    opts = GraphOptions(source=args.source, camera_topic=args.camera_topic, model=args.model,
                        device=args.device, target_kbps=args.target_kbps,
                        segmenter=args.segmenter, robot_ns=args.robot_ns,
                        operator_ns=args.operator_ns, fps=args.fps,
                        torch_threads=args.torch_threads,
                        synthetic_cache_frames=args.synthetic_cache_frames,
                        video=True if args.video else None)
    if args.synthetic_cache_frames < 0:
        print("run_graph: error: --synthetic-cache-frames must be >= 0", file=sys.stderr)
        return 2
    if is_synthetic(args.source) and args.side != "operator":
        prerender_synthetic(args.source, args.synthetic_cache_frames)
    plans = graph_plan(opts) if args.side == "both" else side_plan(opts, args.side)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    procs: list[tuple[NodePlan, subprocess.Popen]] = []
    status = 0
    rclpy.init(args=[])
    node = rclpy.create_node("sqgan_monitor")
    executor = SingleThreadedExecutor()  # our own, shut down before the node goes away
    executor.add_node(node)
    output = Path(args.output)
    monitor = _Monitor(node, absolute_namespace(args.robot_ns), absolute_namespace(args.operator_ns), args.camera_topic, output,
                       args.save_every, args.show, args.side)
    try:
        for plan in plans:
            cmd = node_command(plan, files)
            # Own session: the terminal's Ctrl-C reaches only us; we stop the children in order.
            procs.append((plan, subprocess.Popen(cmd, env=env, start_new_session=True)))
            print(f"run_graph: started {plan.namespace.rstrip('/')}/{plan.name} (pid {procs[-1][1].pid})",
                  file=sys.stderr)
        start = time.monotonic()
        next_status = start + 1.0
        while rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
            for plan, proc in procs:
                rc = proc.poll()
                if rc is not None:
                    print(f"run_graph: error: {plan.name} exited with status {rc}; stopping the graph",
                          file=sys.stderr)
                    status = 1
                    break
            if status:
                break
            now = time.monotonic()
            if now >= next_status:
                next_status = now + 1.0
                if not args.quiet:
                    print(monitor.status_line(), file=sys.stderr, flush=True)
            if args.duration > 0 and now - start >= args.duration:
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        stop_processes([proc for _, proc in procs], grace_s=5.0)
        summary = monitor.summary()
        summary["exit_status"] = status
        output.mkdir(parents=True, exist_ok=True)
        (output / "summary.json").write_text(json.dumps(summary, indent=2))
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    print("run_graph: " + json.dumps({k: v for k, v in summary.items() if k != "saved_png"}),
          file=sys.stderr)
    print(f"run_graph: side-by-side frames in {output}/ (latest.png)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
