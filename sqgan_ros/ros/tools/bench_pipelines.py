"""End-to-end ROS 2 pipelines for ``sqgan-bench --ros``: SQ-GAN vs JPEG vs x264 over real DDS.

::

    camera_source --Image--> encoder --(SemanticFrame | CompressedImage)--> decoder --Image--> monitor
                 (same synthetic source, rate and size for every pipeline; one pipeline at a time)

    sqgan: sqgan_ros encoder_node / decoder_node (graph_plan.graph_plan, bundled segmenter)
    jpeg:  JpegEncoderNode (OpenCV, quality --jpeg-quality) / JpegDecoderNode, sensor_msgs/CompressedImage
    x264:  X264EncoderNode (PyAV libx264, ultrafast, zerolatency, CBR-like at --kbps, GOP 20) /
           X264DecoderNode, one Annex-B access unit per CompressedImage (format "h264")

The monitor (in the calling process) subscribes to the compressed topic serialised (bytes on
the wire: whole DDS message payloads) and to the decoded image, and reports decoded frames/s,
latency = receive time - camera stamp (one machine, one clock), and kbit/s. The first decoded
frame ends the warm-up (model loading); then each pipeline is measured for ``seconds``.

The JPEG and x264 nodes exist for this benchmark only; they are deliberately minimal (no
parameters beyond the codec setting, newest-frame-wins like the SQ-GAN encoder).

Every pipeline (what ``sqgan-bench --ros`` runs in a child process)::

    python -m sqgan_ros.ros.tools.bench_pipelines run --seconds 20 --json out.json

One node by hand: ``python -m sqgan_ros.ros.tools.bench_pipelines jpeg_encoder 10 --ros-args ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sqgan_ros.tools.processes import stop_processes

__all__ = ["PipelineResult", "run_pipelines", "format_pipeline_table", "main"]

REPO = Path(__file__).resolve().parents[3]
PIPELINES = ("sqgan", "jpeg", "x264")


@dataclass(frozen=True)
class PipelineResult:
    """One pipeline's numbers.

    Args:
        name: ``sqgan`` | ``jpeg`` | ``x264``.
        setting: codec setting.
        seconds: measured time.
        camera_frames: camera frames published while measuring.
        decoded_frames: decoded frames received while measuring.
        fps: decoded frames per second.
        latency_ms_median: camera stamp -> decoded image received.
        latency_ms_p90: 90th percentile of the same.
        kbps: compressed messages on the wire (serialised bytes) in kbit/s.
        bytes_per_frame: mean serialised message size.
        skipped: why it did not run (else "").
    """

    name: str
    setting: str
    seconds: float = 0.0
    camera_frames: int = 0
    decoded_frames: int = 0
    fps: float = float("nan")
    latency_ms_median: float = float("nan")
    latency_ms_p90: float = float("nan")
    kbps: float = float("nan")
    bytes_per_frame: float = float("nan")
    skipped: str = ""


# ---------------------------------------------------------------------------------------- nodes

def _image_msg(rgb: np.ndarray, header: Any) -> Any:
    from sqgan_ros.ros.image_conversion import numpy_to_image

    return numpy_to_image(np.ascontiguousarray(rgb), "rgb8", header)


def _rgb_of(msg: Any) -> np.ndarray:
    from sqgan_ros.ros.image_conversion import image_to_numpy

    return image_to_numpy(msg, "rgb8")


def _make_node(kind: str, codec_setting: float) -> Any:
    """Build one of the minimal benchmark nodes (rclpy must be initialised)."""
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)

    class _Base(Node):
        def __init__(self, name: str, in_type: Any, in_topic: str, out_type: Any, out_topic: str) -> None:
            super().__init__(name)
            qos = qos_profile_sensor_data if in_type is Image else reliable
            self.pub = self.create_publisher(out_type, out_topic, reliable)
            self.create_subscription(in_type, in_topic, self.on_msg, qos)

    class JpegEncoderNode(_Base):
        def __init__(self) -> None:
            super().__init__("jpeg_encoder", Image, "camera/image_raw", CompressedImage, "jpeg/compressed")

        def on_msg(self, msg: Any) -> None:
            import cv2

            bgr = cv2.cvtColor(_rgb_of(msg), cv2.COLOR_RGB2BGR)
            ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(codec_setting)])
            if ok:
                out = CompressedImage()
                out.header, out.format, out.data = msg.header, "jpeg", buf.tobytes()
                self.pub.publish(out)

    class JpegDecoderNode(_Base):
        def __init__(self) -> None:
            super().__init__("jpeg_decoder", CompressedImage, "jpeg/compressed", Image, "jpeg/image")

        def on_msg(self, msg: Any) -> None:
            import cv2

            bgr = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
            if bgr is not None:
                self.pub.publish(_image_msg(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), msg.header))

    class X264EncoderNode(_Base):
        def __init__(self) -> None:
            super().__init__("x264_encoder", Image, "camera/image_raw", CompressedImage, "x264/compressed")
            self.ctx = None

        def on_msg(self, msg: Any) -> None:
            import av

            rgb = _rgb_of(msg)
            if self.ctx is None:
                rate = int(codec_setting * 1000)
                self.ctx = av.CodecContext.create("libx264", "w")
                self.ctx.width, self.ctx.height = rgb.shape[1], rgb.shape[0]
                self.ctx.pix_fmt = "yuv420p"
                from fractions import Fraction

                self.ctx.time_base = Fraction(1, 10)
                self.ctx.framerate = Fraction(10, 1)
                self.ctx.bit_rate = rate
                self.ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "20", "bf": "0",
                                    "maxrate": str(rate), "bufsize": str(rate), "sc_threshold": "0"}
                self.pts = 0
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = self.pts
            self.pts += 1
            data = b"".join(bytes(p) for p in self.ctx.encode(frame))
            if data:
                out = CompressedImage()
                out.header, out.format, out.data = msg.header, "h264", data
                self.pub.publish(out)

    class X264DecoderNode(_Base):
        def __init__(self) -> None:
            super().__init__("x264_decoder", CompressedImage, "x264/compressed", Image, "x264/image")
            import av

            self.ctx = av.CodecContext.create("h264", "r")
            self.ctx.thread_count = 1  # frame threading would hold frames back

        def on_msg(self, msg: Any) -> None:
            import av

            try:
                frames = self.ctx.decode(av.Packet(bytes(msg.data)))
            except av.error.FFmpegError:
                return
            for frame in frames:
                self.pub.publish(_image_msg(frame.to_ndarray(format="rgb24"), msg.header))

    kinds = {"jpeg_encoder": JpegEncoderNode, "jpeg_decoder": JpegDecoderNode,
             "x264_encoder": X264EncoderNode, "x264_decoder": X264DecoderNode}
    if kind not in kinds:
        raise ValueError(f"unknown node {kind!r}; known: {sorted(kinds)}")
    return kinds[kind]()


def _node_main(kind: str, setting: float, ros_args: Sequence[str]) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=["--ros-args", *ros_args] if ros_args else None)
    node = None
    try:
        node = _make_node(kind, setting)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


# ------------------------------------------------------------------------------------ measuring

def x264_unavailable() -> str | None:
    """Why the x264 pipeline cannot run (None when PyAV with libx264 is installed)."""
    try:
        import av
    except ImportError:
        return "PyAV is not installed (pip install av)"
    if "libx264" not in av.codecs_available:
        return "this PyAV build has no libx264"
    return None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
    return env


def _commands(name: str, ns: str, fps: float, size: tuple[int, int], model: str, jpeg_quality: int,
              kbps: float) -> tuple[list[list[str]], str, str]:
    """Commands of one pipeline, its compressed topic and its decoded image topic."""
    from sqgan_ros.ros.graph_plan import GraphOptions, NodePlan, graph_plan, node_command

    cam = NodePlan("camera_source", "sqgan_ros.ros.camera_source", "camera_source", ns,
                   {"source": "synthetic", "rate_hz": float(fps), "height": size[0], "width": size[1],
                    "image_topic": "camera/image_raw", "camera_info_topic": "camera/camera_info"})
    cmds = [node_command(cam, [])]
    if name == "sqgan":
        opts = GraphOptions(source="", model=model, device="cpu", robot_ns=ns, operator_ns=ns)
        cmds += [node_command(p, [REPO / "config" / "teleop.yaml"]) for p in graph_plan(opts)]
        return cmds, f"{ns}/sqgan/frame", f"{ns}/sqgan/image"
    setting = str(jpeg_quality if name == "jpeg" else kbps)
    for role in ("encoder", "decoder"):
        cmds.append([sys.executable, "-m", "sqgan_ros.ros.tools.bench_pipelines", f"{name}_{role}", setting,
                     "--ros-args", "-r", f"__ns:={ns}"])
    return cmds, f"{ns}/{name}/compressed", f"{ns}/{name}/image"




def _measure(node: Any, name: str, setting: str, cmds: list[list[str]], compressed: str, image: str,
             camera: str, seconds: float, warmup_s: float) -> PipelineResult:
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    from sqgan_ros.msg import SemanticFrame

    state: dict[str, Any] = {"measuring": False, "camera": 0, "bytes": [], "latency": []}

    def now_ns() -> int:
        return time.time_ns()

    def on_camera(_msg: Any) -> None:
        if state["measuring"]:
            state["camera"] += 1

    def on_compressed(raw: bytes) -> None:
        if state["measuring"]:
            state["bytes"].append(len(raw))

    def on_image(msg: Any) -> None:
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        state["first"] = True
        if state["measuring"]:
            state["latency"].append((now_ns() - stamp) / 1e6)

    # Best effort matches both reliable and best-effort publishers.
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    subs = [node.create_subscription(Image, camera, on_camera, qos),
            node.create_subscription(SemanticFrame if name == "sqgan" else CompressedImage, compressed,
                                     on_compressed, qos, raw=True),
            node.create_subscription(Image, image, on_image, qos)]
    logs = [tempfile.TemporaryFile() for _ in cmds]  # a pipe could fill up and block a chatty node
    procs = [subprocess.Popen(c, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
             for c, log in zip(cmds, logs)]
    try:
        deadline = time.monotonic() + warmup_s
        while "first" not in state:
            rclpy.spin_once(node, timeout_sec=0.1)
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                if dead:
                    log = logs[procs.index(dead[0])]
                    log.seek(0)
                    why = f"{' '.join(dead[0].args[2:4])} exited: {log.read().decode(errors='replace')[-300:]}"
                else:
                    why = f"no decoded frame within {warmup_s:g} s"
                return PipelineResult(name, setting, skipped=why)
        state["measuring"] = True
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            rclpy.spin_once(node, timeout_sec=0.05)
        elapsed = time.monotonic() - start
        state["measuring"] = False
    finally:
        stop_processes(procs, grace_s=5.0)
        for log in logs:
            log.close()
        for sub in subs:
            node.destroy_subscription(sub)
    lat = sorted(state["latency"])
    sizes = state["bytes"]
    return PipelineResult(
        name, setting, seconds=elapsed, camera_frames=state["camera"], decoded_frames=len(lat),
        fps=len(lat) / elapsed, latency_ms_median=statistics.median(lat) if lat else float("nan"),
        latency_ms_p90=lat[int(0.9 * (len(lat) - 1))] if lat else float("nan"),
        kbps=8.0 * sum(sizes) / elapsed / 1000.0, bytes_per_frame=float(np.mean(sizes)) if sizes else float("nan"))


def run_pipelines(seconds: float = 20.0, fps: float = 10.0, model: str = "", size: tuple[int, int] = (256, 512),
                  jpeg_quality: int = 10, kbps: float = 50.0, pipelines: Sequence[str] = PIPELINES,
                  warmup_s: float = 120.0) -> list[PipelineResult]:
    """Run each pipeline in turn (same camera source and rate) and measure it.

    Args:
        seconds: measured seconds per pipeline (after its first decoded frame).
        fps: camera rate.
        model: SQ-GAN model file ("" = the nodes' default, models/default.safetensors).
        size: camera frame size.
        jpeg_quality: JPEG quality of the JPEG pipeline.
        kbps: x264 target bitrate.
        pipelines: which of ``sqgan``, ``jpeg``, ``x264``.
        warmup_s: longest wait for a pipeline's first decoded frame.
    """
    import rclpy

    unknown = [p for p in pipelines if p not in PIPELINES]
    if unknown:
        raise ValueError(f"unknown pipelines {unknown}; known: {PIPELINES}")
    if seconds <= 0 or fps <= 0:
        raise ValueError("seconds and fps must be positive")
    results = []
    rclpy.init(args=[])
    node = rclpy.create_node("sqgan_bench_monitor")
    try:
        for i, name in enumerate(pipelines):
            setting = {"sqgan": "teleop.yaml keep ratios", "jpeg": f"q={jpeg_quality}", "x264": f"{kbps:g} kbit/s"}[name]
            if name == "x264" and x264_unavailable():
                results.append(PipelineResult(name, setting, skipped=x264_unavailable()))
                continue
            if name == "sqgan" and model and not Path(model).is_file():
                results.append(PipelineResult(name, setting, skipped=f"model file not found: {model}"))
                continue
            ns = f"/bench{os.getpid()}_{i}"
            cmds, compressed, image = _commands(name, ns, fps, size, model, jpeg_quality, kbps)
            results.append(_measure(node, name, setting, cmds, compressed, image, f"{ns}/camera/image_raw",
                                    seconds, warmup_s))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return results


def format_pipeline_table(results: Sequence[PipelineResult]) -> str:
    """Plain-text table of pipeline results."""
    head = f"{'pipeline':<8} {'setting':<24} {'cam fr':>6} {'dec fr':>6} {'fps':>6} {'lat ms':>8} {'p90 ms':>8} " \
           f"{'kbit/s':>8} {'B/frame':>8}"
    lines = [head, "-" * len(head)]
    for r in results:
        if r.skipped:
            lines.append(f"{r.name:<8} {r.setting:<24} skipped: {r.skipped}")
            continue
        lines.append(f"{r.name:<8} {r.setting:<24} {r.camera_frames:>6} {r.decoded_frames:>6} {r.fps:>6.2f} "
                     f"{r.latency_ms_median:>8.1f} {r.latency_ms_p90:>8.1f} {r.kbps:>8.1f} {r.bytes_per_frame:>8.0f}")
    return "\n".join(lines)


def _run_main(argv: list[str]) -> int:
    """``bench_pipelines run [--seconds S] ... [--json F]``: every pipeline, a table, optionally JSON."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.ros.tools.bench_pipelines run",
                                description="SQ-GAN vs JPEG vs x264 pipelines over DDS (used by sqgan-bench --ros)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per pipeline")
    p.add_argument("--fps", type=float, default=10.0, help="camera rate")
    p.add_argument("--model", default="", help="model of the SQ-GAN pipeline (default: the nodes' default)")
    p.add_argument("--pipelines", default=",".join(PIPELINES), help="pipelines to run, in order")
    p.add_argument("--jpeg-quality", type=int, default=10, help="JPEG quality of the JPEG pipeline")
    p.add_argument("--kbps", type=float, default=50.0, help="x264 bitrate of the x264 pipeline")
    p.add_argument("--json", default="", help="write the results to this JSON file")
    args = p.parse_args(argv)
    pipes = run_pipelines(seconds=args.seconds, fps=args.fps, model=args.model, jpeg_quality=args.jpeg_quality,
                          kbps=args.kbps, pipelines=[name for name in args.pipelines.split(",") if name])
    print(f"ROS 2 pipelines over DDS (camera {args.fps:g} Hz, {args.seconds:g} s each, same synthetic source)")
    print(format_pipeline_table(pipes))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in pipes], indent=2, default=str))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``bench_pipelines run ...`` (all pipelines) or one node: ``<jpeg|x264>_<encoder|decoder> <setting>``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        return _run_main(argv[1:])
    ros_args: list[str] = []
    if "--ros-args" in argv:
        cut = argv.index("--ros-args")
        argv, ros_args = argv[:cut], argv[cut + 1:]
    if len(argv) != 2:
        print("usage: python -m sqgan_ros.ros.tools.bench_pipelines run [--seconds S] [--json F] ...\n"
              "       python -m sqgan_ros.ros.tools.bench_pipelines <jpeg|x264>_<encoder|decoder> <quality|kbps> "
              "[--ros-args ...]", file=sys.stderr)
        return 2
    return _node_main(argv[0], float(argv[1]), ros_args)


if __name__ == "__main__":
    sys.exit(main())
