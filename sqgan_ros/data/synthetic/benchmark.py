"""Speed of the synthetic street generator: process CPU time per frame.

Run ``python -m sqgan_ros.data.synthetic.benchmark [--size 256 512] [--frames 20] [--threads 1]``.
Reports, per frame, the process CPU time (robust on a shared machine) and the wall time, for
independent scenes (``render_scene(seed)``: a new world each time, as a training pool uses it)
and for consecutive frames of one drive (``StreetSequence.render(i)``: the world's chunks and
the shapes of its static items are reused).

``--threads`` sets OpenCV's thread count (``cv2.setNumThreads``) for the run; the default 1 gives
the single-core figure (on a 2-core machine OpenCV's worker pool otherwise adds CPU time for
no wall-time gain: 1-2 ms per frame at 256x512). Set ``OMP_NUM_THREADS=1`` as well.

Measured at 256x512, OpenCV 1 thread, on a shared 2-core machine (load average ~2: CPU times
are inflated by contention and vary by ~5-10% between runs; best of three runs of 30 frames,
interleaved with the previous version): ``render_scene`` 15.3 ms CPU per frame (about 65 frames
per CPU-second), ``StreetSequence.render`` 9.7 ms (about 103 per CPU-second); the version before
the third speed-up pass 16.5 and 10.9 ms in the same runs. Valgrind (callgrind) instruction
counts, which contention does not move, per frame after a warm-up: 112.6 -> 104.2 million per
``render_scene`` frame, 75.2 -> 67.3 million per drive frame (114 and 81 million before the second
pass; 46 ms and 35-37 ms before the first). Where the time goes now (per drive frame): painting
~7.6 ms: polygon fills ~2.1 (about 860 ``cv2.fillPoly`` calls at ~1.2 us each, the vertex projection
~0.5, polygons clipped at the near plane ~0.1), facade warps ~1.7 (``warpPerspective`` ~0.6, then
per warp the mask, setup, colour transform and masked copy), the finishing blur/haze/grain passes
~1.3 (two Gaussian blurs ~0.5), detail gain ~0.6, per-id table look-ups for labels and colour
~0.45, sky ~0.35, haze ~0.25, tables ~0.3; scene assembly ~1.9 ms (people walking and vehicles
driving are rebuilt each frame, ~0.9 of it). A new world (``render_scene``) adds ~2.5 ms of world
generation (random draws that must stay in order) and ~3 ms of shape building.

Tried and dropped in the third pass (no gain): one 4-channel blur instead of a 3- and a
1-channel one (as slow, plus a 4-channel merge), planar colour channels (the split costs more than
the merge it saves), ``fillPoly`` through ``map`` (the calls themselves dominate), ``cv2.remap``
or 4-wide tables as the per-id gather, 32-bit detail-tile indices, one ``cv2.transform`` for the
fog and grain.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import cv2

from sqgan_ros.data.synthetic.sequence import StreetSequence, render_scene


def _per_frame(fn: Callable[[int], object], frames: int) -> tuple[float, float]:
    """Mean (CPU ms, wall ms) per call of ``fn(i)`` for i in 1..frames, after one warm-up call."""
    fn(0)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(1, frames + 1):
        fn(i)
    return ((time.process_time() - cpu) * 1000.0 / frames, (time.perf_counter() - wall) * 1000.0 / frames)


def run(size: tuple[int, int], frames: int, seed: int = 0) -> str:
    """Measure and return the printed table.

    Args:
        size: frame (height, width).
        frames: timed frames per row.
        seed: first scene seed / the drive's world seed.
    """
    sequence = StreetSequence(seed, size, speed=10.0)
    rows = [("render_scene(seed)", _per_frame(lambda i: render_scene(seed + i, size), frames)),
            ("StreetSequence.render(i)", _per_frame(sequence.render, frames))]
    load = " ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    lines = [f"size {size[0]}x{size[1]}  frames {frames}  OpenCV threads {cv2.getNumThreads()}  OMP_NUM_THREADS "
             f"{os.environ.get('OMP_NUM_THREADS', 'unset')}  load average {load}",
             "                            CPU ms/frame  frames/CPU-s  wall ms/frame"]
    for name, (cpu_ms, wall_ms) in rows:
        lines.append(f"{name:26s}  {cpu_ms:12.1f}  {1000.0 / max(cpu_ms, 1e-9):12.1f}  {wall_ms:13.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=[256, 512], metavar=("H", "W"))
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenCV threads during the run (default 1: single-core CPU time)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be >= 1")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    previous = cv2.getNumThreads()
    cv2.setNumThreads(args.threads)
    try:
        print(run((args.size[0], args.size[1]), args.frames, args.seed))
    finally:
        cv2.setNumThreads(previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
