"""Codec speed and memory per preset and device (the table of ``sqgan-bench``).

Each (preset, device) runs in a fresh process (so peak memory is that model's alone):
``SemanticEncoder.encode`` and ``SemanticDecoder.decode`` of a synthetic 256x512 frame with its
label map, after warm-up; wall ms (median), process CPU ms per frame (``time.process_time``;
robust on a busy machine), frames/s of encode + decode in series, peak resident memory of the
process (CPU) or ``torch.cuda.max_memory_allocated`` (GPU). The bundled segmenter that the ROS
encoder runs first is timed separately. Presets are random-initialised (speed does not depend on
the weights). The paper preset on CPU is run only when its first encode takes less than
``cpu_limit_s``; otherwise it is skipped with the measured reason.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["CodecBench", "bench_codec", "bench_presets", "format_table"]


@dataclass(frozen=True)
class CodecBench:
    """One codec measurement.

    Args:
        name: preset name or model file.
        device: ``cpu`` / ``cuda``.
        threads: torch CPU threads.
        frames: timed frames.
        size: ``(H, W)`` of the camera frame.
        keep_ratio: image and semantic keep ratio.
        bytes_per_frame: mean frame size.
        encode_ms: median wall time of one encode.
        decode_ms: median wall time of one decode.
        encode_cpu_ms: process CPU time per encode.
        decode_cpu_ms: process CPU time per decode.
        segment_ms: median wall time of the bundled segmenter on the frame (nan if unavailable).
        fps: frames/s of encode + decode in series (``1000 / (encode_ms + decode_ms)``).
        peak_mb: peak memory (process RSS on CPU, allocated device memory on GPU).
        skipped: reason the measurement was skipped (other fields nan), else ``""``.
    """

    name: str
    device: str
    threads: int
    frames: int
    size: tuple[int, int]
    keep_ratio: float
    bytes_per_frame: float = float("nan")
    encode_ms: float = float("nan")
    decode_ms: float = float("nan")
    encode_cpu_ms: float = float("nan")
    decode_cpu_ms: float = float("nan")
    segment_ms: float = float("nan")
    fps: float = float("nan")
    peak_mb: float = float("nan")
    skipped: str = ""


def _model_for(spec: str, device: str) -> Any:
    import torch

    from sqgan_ros.bitstream import EntropyPriors
    from sqgan_ros.codec.config import PRESETS, get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import LoadedModel, load_model

    if spec in PRESETS:
        torch.manual_seed(0)
        model = SQGAN(get_config(spec)).eval().requires_grad_(False)
        sizes = {"semantic": model.config.semantic.codebook_size, "image": model.config.image.codebook_size}
        return LoadedModel(model.to(device), model.config, EntropyPriors.uniform(sizes), "0" * 64)
    return load_model(spec, device)


def bench_codec(spec: str, device: str = "cpu", frames: int = 5, threads: int = 0, keep_ratio: float = 0.25,
                size: tuple[int, int] = (256, 512), cpu_limit_s: float = 0.0, segmenter: bool = True) -> CodecBench:
    """Measure one preset / model file on one device in this process.

    Args:
        spec: preset name (random weights) or model file.
        device: ``cpu`` | ``cuda``.
        frames: timed frames (after 2 warm-up frames).
        threads: torch CPU threads (0: leave as is).
        keep_ratio: keep ratio of both branches.
        size: camera frame size.
        cpu_limit_s: > 0: skip when the first encode takes longer (seconds).
        segmenter: also time the bundled segmenter.
    """
    import numpy as np
    import torch

    from sqgan_ros.api import SemanticDecoder, SemanticEncoder
    from sqgan_ros.data.synthetic import render_scene

    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if threads:
        torch.set_num_threads(threads)
    base = dict(name=spec, device=device, threads=torch.get_num_threads(), frames=frames, size=tuple(size),
                keep_ratio=keep_ratio)
    if device.startswith("cuda") and not torch.cuda.is_available():
        return CodecBench(**base, skipped="CUDA is not available")
    loaded = _model_for(spec, device)
    enc, dec = SemanticEncoder(loaded, device=device), SemanticDecoder(loaded, device=device)
    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    image, labels = render_scene(12345, tuple(size))
    t0 = time.perf_counter()
    data = enc.encode(image, labels, keep_ratio=keep_ratio)
    sync()
    first = time.perf_counter() - t0
    if cpu_limit_s > 0 and first > cpu_limit_s:
        return CodecBench(**base, skipped=f"first encode took {first:.1f} s > {cpu_limit_s:g} s limit on {device}")
    dec.decode(data)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    enc_ms, dec_ms, sizes = [], [], []
    enc_cpu = dec_cpu = 0.0
    for i in range(frames):
        c0, t0 = time.process_time(), time.perf_counter()
        data = enc.encode(image, labels, keep_ratio=keep_ratio, frame_id=i)
        sync()
        c1, t1 = time.process_time(), time.perf_counter()
        dec.decode(data)
        sync()
        c2, t2 = time.process_time(), time.perf_counter()
        enc_ms.append((t1 - t0) * 1000.0)
        dec_ms.append((t2 - t1) * 1000.0)
        enc_cpu += c1 - c0
        dec_cpu += c2 - c1
        sizes.append(len(data))
    seg_ms = float("nan")
    if segmenter:
        from sqgan_ros.segmentation import make_segmenter

        seg = make_segmenter("bundled", device=device)
        seg.segment(image)
        times = []
        for _ in range(frames):
            t0 = time.perf_counter()
            seg.segment(image)
            sync()
            times.append((time.perf_counter() - t0) * 1000.0)
        seg_ms = statistics.median(times)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    e, d = statistics.median(enc_ms), statistics.median(dec_ms)
    return CodecBench(**base, bytes_per_frame=float(np.mean(sizes)), encode_ms=e, decode_ms=d,
                      encode_cpu_ms=1000.0 * enc_cpu / frames, decode_cpu_ms=1000.0 * dec_cpu / frames,
                      segment_ms=seg_ms, fps=1000.0 / (e + d), peak_mb=peak)


def _child(queue: Any, kwargs: dict) -> None:
    try:
        queue.put(("ok", asdict(bench_codec(**kwargs))))
    except Exception as exc:  # reported by the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def _isolated(kwargs: dict, timeout_s: float) -> CodecBench:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, kwargs))
    proc.start()
    try:
        status, value = queue.get(timeout=timeout_s)
    except Exception:
        value, status = f"no result within {timeout_s:g} s", "error"
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join()
    if status == "ok":
        value["size"] = tuple(value["size"])
        return CodecBench(**value)
    return CodecBench(name=kwargs["spec"], device=kwargs["device"], threads=kwargs.get("threads", 0),
                      frames=kwargs["frames"], size=tuple(kwargs["size"]), keep_ratio=kwargs["keep_ratio"],
                      skipped=f"failed: {value}")


def bench_presets(specs: Sequence[str], devices: Sequence[str], frames: int = 5, threads: int = 0,
                  keep_ratio: float = 0.25, size: tuple[int, int] = (256, 512), paper_cpu_limit_s: float = 5.0,
                  isolate: bool = True, timeout_s: float = 600.0) -> list[CodecBench]:
    """``bench_codec`` for every (spec, device), each in a fresh process unless ``isolate`` is False.

    The paper preset is run on CUDA devices, and on the CPU only within ``paper_cpu_limit_s``.

    Args:
        specs: preset names / model files.
        devices: ``cpu`` and/or ``cuda``.
        frames: timed frames.
        threads: torch CPU threads (0: default).
        keep_ratio: keep ratio.
        size: frame size.
        paper_cpu_limit_s: first-encode limit for the paper preset on the CPU.
        isolate: one process per measurement (honest peak memory).
        timeout_s: per measurement.
    """
    out = []
    for spec in specs:
        for device in devices:
            kwargs = dict(spec=spec, device=device, frames=frames, threads=threads, keep_ratio=keep_ratio,
                          size=tuple(size), cpu_limit_s=paper_cpu_limit_s if (spec == "paper" and device == "cpu") else 0.0)
            out.append(_isolated(kwargs, timeout_s) if isolate else bench_codec(**kwargs))
    return out


def format_table(results: Sequence[CodecBench]) -> str:
    """Plain-text table of codec results."""
    head = f"{'model':<12} {'device':<6} {'thr':>3} {'enc ms':>8} {'dec ms':>8} {'enc cpu':>8} {'dec cpu':>8} " \
           f"{'seg ms':>7} {'fps':>6} {'peak MB':>8} {'bytes':>7}"
    lines = [head, "-" * len(head)]
    for r in results:
        name = Path(r.name).name[:12]
        if r.skipped:
            lines.append(f"{name:<12} {r.device:<6} {r.threads:>3} skipped: {r.skipped}")
            continue
        lines.append(f"{name:<12} {r.device:<6} {r.threads:>3} {r.encode_ms:>8.1f} {r.decode_ms:>8.1f} "
                     f"{r.encode_cpu_ms:>8.1f} {r.decode_cpu_ms:>8.1f} {r.segment_ms:>7.1f} {r.fps:>6.2f} "
                     f"{r.peak_mb:>8.0f} {r.bytes_per_frame:>7.0f}")
    return "\n".join(lines)
