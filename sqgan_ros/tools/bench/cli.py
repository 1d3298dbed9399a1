"""``sqgan-bench``: codec speed and memory, a per-stage breakdown, the ROS pipelines end to end.

::

    sqgan-bench                                   # small on CPU (+ paper on GPU when CUDA is present)
    sqgan-bench --presets tiny,small,paper --frames 10 --threads 1
    sqgan-bench --breakdown --model models/default.safetensors --threads 2
                                                  # network / API ms, peak RSS, bytes per frame
    sqgan-bench --ros --ros-seconds 20            # + camera -> encoder -> decoder over DDS:
                                                  #   SQ-GAN vs JPEG vs x264, same camera source

Table: :mod:`sqgan_ros.tools.bench.codec`. Breakdown (``--breakdown``; ``--model`` or the first
of ``--presets``, random-initialised): :mod:`sqgan_ros.tools.bench.breakdown`. ROS part
(``--ros``, needs rclpy + built messages): ``python -m sqgan_ros.ros.tools.bench_pipelines run`` in a
child process (the tools outside ``sqgan_ros.ros`` never import rclpy).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sqgan-bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", default="", help="comma-separated presets (default: small, + paper with CUDA)")
    p.add_argument("--model", default="", help="also benchmark this model file")
    p.add_argument("--devices", default="", help="cpu,cuda (default: cpu, + cuda when available)")
    p.add_argument("--frames", type=int, default=5, help="timed frames per measurement")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default; 1 = robust on busy machines)")
    p.add_argument("--keep-ratio", type=float, default=0.25)
    p.add_argument("--paper-cpu-limit-s", type=float, default=5.0,
                   help="run the paper preset on the CPU only if one encode takes less than this")
    p.add_argument("--no-isolate", action="store_true", help="measure in this process (peak memory is shared)")
    b = p.add_argument_group("breakdown of one model (--model, else the first preset; CPU)")
    b.add_argument("--breakdown", action="store_true",
                   help="instead of the table: transmitter/receiver/API ms, peak RSS, bytes per frame per keep ratio")
    b.add_argument("--runs", type=int, default=20, help="timed runs after warm-up")
    b.add_argument("--ratios", type=float, nargs="+", default=[0.05, 0.25, 0.5, 1.0],
                   help="keep ratios of the bytes-per-frame table")
    b.add_argument("--scenes", type=int, default=8, help="synthetic test scenes averaged in the bytes table")
    b.add_argument("--precision", default="auto", help="compute precision (auto: bf16 where the CPU has it)")
    r = p.add_argument_group("ROS 2 pipelines")
    r.add_argument("--ros", action="store_true", help="also run the DDS pipelines (SQ-GAN, JPEG, x264)")
    r.add_argument("--ros-seconds", type=float, default=20.0, help="measured seconds per pipeline")
    r.add_argument("--ros-fps", type=float, default=10.0, help="camera rate of the pipelines")
    r.add_argument("--ros-model", default="", help="model for the SQ-GAN pipeline (default: --model / bundled)")
    r.add_argument("--ros-pipelines", default="sqgan,jpeg,x264", help="pipelines to run, in order")
    r.add_argument("--ros-jpeg-quality", type=int, default=10, help="JPEG quality of the JPEG pipeline")
    r.add_argument("--ros-kbps", type=float, default=50.0, help="x264 bitrate of the x264 pipeline")
    p.add_argument("--json", default="", help="write all results to this JSON file")
    return p


def _breakdown(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import torch

    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.codec.precision import PRECISIONS
    from sqgan_ros.tools.bench.breakdown import random_model, run

    if args.scenes < 1:
        parser.error("--scenes must be >= 1")
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    if args.precision not in PRECISIONS:
        parser.error(f"--precision must be one of {', '.join(PRECISIONS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    presets = [s for s in args.presets.split(",") if s] or ["small"]
    loaded = load_model(args.model) if args.model else random_model(presets[0])
    report = run(loaded, args.runs, args.ratios, args.precision, args.scenes)
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps({"breakdown": report.splitlines()}, indent=2))
    return 0


def _ros_pipelines(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """Run the DDS pipelines in a child process (it prints its table); their results, None on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ros.json"
        cmd = [sys.executable, "-m", "sqgan_ros.ros.tools.bench_pipelines", "run", "--seconds", str(args.ros_seconds),
               "--fps", str(args.ros_fps), "--model", args.ros_model or args.model,
               "--pipelines", args.ros_pipelines, "--jpeg-quality", str(args.ros_jpeg_quality),
               "--kbps", str(args.ros_kbps), "--json", str(out)]
        print(flush=True)
        if subprocess.run(cmd, check=False).returncode != 0 or not out.is_file():
            print("sqgan-bench: error: the ROS pipelines failed (see above)", file=sys.stderr)
            return None
        return json.loads(out.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sqgan-bench``; returns the exit status."""
    import torch

    from sqgan_ros.tools.bench.codec import bench_presets, format_table

    parser = _parser()
    args = parser.parse_args(argv)
    if args.model and not Path(args.model).is_file():
        print(f"sqgan-bench: error: model file not found: {args.model}", file=sys.stderr)
        return 2
    if args.breakdown:
        return _breakdown(args, parser)
    cuda = torch.cuda.is_available()
    devices = [d for d in args.devices.split(",") if d] or (["cpu", "cuda"] if cuda else ["cpu"])
    specs = [s for s in args.presets.split(",") if s] or (["small", "paper"] if cuda else ["small"])
    if args.model:
        specs.append(args.model)
    notes = []
    if not cuda:
        notes.append("no CUDA device: GPU rows not measured")
    results = bench_presets(specs, devices, frames=args.frames, threads=args.threads, keep_ratio=args.keep_ratio,
                            paper_cpu_limit_s=args.paper_cpu_limit_s, isolate=not args.no_isolate)
    print(f"codec (camera frame 256x512, keep ratio {args.keep_ratio:g}, {args.frames} frames; "
          "ms = median wall, cpu = process CPU ms per frame)")
    print(format_table(results))
    for n in notes:
        print(f"note: {n}")
    report: dict[str, Any] = {"codec": [asdict(r) for r in results], "notes": notes}
    if args.ros:
        report["ros"] = _ros_pipelines(args)
        if report["ros"] is None:
            return 1
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
