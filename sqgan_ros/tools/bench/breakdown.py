"""Benchmark of the codec on this machine: speed, memory and bytes per frame.

Run ``sqgan-bench --breakdown [--model file.safetensors] [--presets small]``.
Measures at the model's size (256x512 for ``small``), batch 1, ``torch.inference_mode``:

- network time of the transmitter (both branches: encoders, SAMM, quantizers) and of the
  receiver (both branches: lookup, de-maskers, decoders), median of ``--runs`` after warm-up,
  as wall time and as process CPU time (the robust number on a loaded machine: with
  ``--threads 1`` it is the single-core cost whatever else runs);
- end-to-end ``SemanticEncoder.encode`` / ``SemanticDecoder.decode`` (adds resizing and
  entropy coding);
- peak resident memory (RSS high-water mark of this process);
- bytes per frame at several keep ratios, entropy coded vs the paper's fixed-length count.

A randomly initialised model is fine for speed; sizes are only meaningful for a trained model
with trained priors (random weights give nearly uniform index statistics).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.bitstream import CHECKSUM_BYTES, Coding, decode_frame, fixed_length_bits
from sqgan_ros.bitstream.header import read_header
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.index_rdo import NEAREST_INDICES
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.model_file import LoadedModel, load_model, save_model
from sqgan_ros.codec.precision import autocast
from sqgan_ros.data.splits import SPLIT_SEEDS
from sqgan_ros.data.synthetic import render_scene

#: The first seed of the synthetic test split (scenes no model was trained on).
TEST_SEED = SPLIT_SEEDS["test"]


def _median_ms(fn: Callable[[], object], runs: int, warmup: int = 3) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds of ``fn`` over ``runs`` calls after warm-up."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000.0)
        wall.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(wall), statistics.median(cpu)


def _load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # not available on this platform
        return "n/a"


def _test_frame(size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    return render_scene(seed, size)


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _payload_bytes(data: bytes) -> int:
    """Range-coded symbols alone: the frame less its header and CRC-32."""
    return len(data) - read_header(data[:-CHECKSUM_BYTES])[2] - CHECKSUM_BYTES


def _size_table(loaded: LoadedModel, enc: SemanticEncoder, ratios: list[float],
                frames: int) -> list[str]:
    """Mean bytes per frame over ``frames`` test scenes at each keep ratio (lines of the report)."""
    size = loaded.config.image_size
    scenes = [_test_frame(size, seed=TEST_SEED + i) for i in range(frames)]
    cells = size[0] * size[1]
    sizes = {"semantic": loaded.config.semantic.codebook_size, "image": loaded.config.image.codebook_size}
    lines = [f"bytes per frame: mean of {frames} synthetic test-split scenes at {size[0]}x{size[1]}",
             "keep   k_sem  k_img  frame B  fixed-len B  paper B  bpp     kbit/s@10fps  "
             "payload B  saving vs paper  nearest-codeword payload B  saving"]
    for ratio in ratios:
        rows = []
        for image, labels in scenes:
            entropy = enc.encode(image, labels, keep_ratio=ratio)
            stats = enc.last_stats
            nearest = enc.encode(image, labels, keep_ratio=ratio, index_rdo=NEAREST_INDICES)
            fixed = enc.encode(image, labels, keep_ratio=ratio, coding=Coding.FIXED_LENGTH)
            _, symbols = decode_frame(fixed, loaded.priors)
            rows.append((stats.semantic_k, stats.image_k, len(entropy), len(fixed),
                         fixed_length_bits(symbols, sizes) / 8.0,
                         _payload_bytes(entropy), _payload_bytes(nearest)))
        k_sem, k_img, frame, fixed, paper, payload, near = np.mean(rows, axis=0)
        lines.append(f"{ratio:<5}  {k_sem:5.0f}  {k_img:5.0f}  {frame:7.1f}  {fixed:11.1f}  {paper:7.1f}  "
                     f"{8 * frame / cells:.4f}  {8 * frame * 10 / 1000:12.1f}  {payload:9.1f}  "
                     f"{100.0 * (1.0 - payload / paper):14.1f}%  {near:26.1f}  "
                     f"{100.0 * (1.0 - near / paper):5.1f}%")
    lines += ["frame B: the whole frame (17-byte header, range-coded symbols, CRC-32); payload B: the "
              "range-coded symbols alone, the quantity the paper's count (1 bit per cell + 10 bits per "
              "index) describes. The encoder picks indices rate-distortion optimised "
              f"(lambda {enc.index_rdo.semantic} / {enc.index_rdo.image}, sqgan_ros.codec.index_rdo); "
              "the last two columns send the nearest codewords instead."]
    return lines


def random_model(preset: str) -> LoadedModel:
    """A random-initialised model of ``preset``, saved and loaded as a model file (seed 0)."""
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.safetensors"
        save_model(path, SQGAN(get_config(preset)), extra_metadata={"random_init": True})
        return load_model(path)


def run(loaded: LoadedModel, runs: int, ratios: list[float], precision: str = "auto",
        frames: int = 8) -> str:
    """Run the benchmark and return the printed report."""
    model = loaded.model
    size = loaded.config.image_size
    image, labels = _test_frame(size, seed=TEST_SEED)
    x = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    lab = torch.from_numpy(labels.astype(np.int64)).unsqueeze(0)
    enc = SemanticEncoder(loaded, device="cpu", precision=precision)
    dec = SemanticDecoder(loaded, device="cpu", precision=precision)
    params = sum(p.numel() for p in model.parameters())
    lines = [f"preset {loaded.config.name}  model {loaded.short_id}  {params / 1e6:.2f} M params  "
             f"input {size[0]}x{size[1]}  {str(enc.dtype).removeprefix('torch.')}  "
             f"threads {torch.get_num_threads()}  median of {runs}  "
             f"load average {_load_average()}"]
    with torch.inference_mode(), autocast(enc.device, enc.dtype):
        tx, rx = model.transmitter, model.receiver
        symbols = tx.compress(x, lab, KeepRatios.both(0.25))
        enc_ms = _median_ms(lambda: tx.compress(x, lab, KeepRatios.both(0.25)), runs)
        dec_ms = _median_ms(lambda: rx.decompress(symbols), runs)
    data = enc.encode(image, labels, keep_ratio=0.25)
    api_enc_ms = _median_ms(lambda: enc.encode(image, labels, keep_ratio=0.25), runs)
    api_dec_ms = _median_ms(lambda: dec.decode(data), runs)
    lines += ["                              wall ms   CPU ms",
              f"transmitter (both branches)  {enc_ms[0]:8.1f} {enc_ms[1]:8.1f}",
              f"receiver    (both branches)  {dec_ms[0]:8.1f} {dec_ms[1]:8.1f}",
              f"API encode (resize+entropy)  {api_enc_ms[0]:8.1f} {api_enc_ms[1]:8.1f}",
              f"API decode (entropy+resize)  {api_dec_ms[0]:8.1f} {api_dec_ms[1]:8.1f}",
              f"peak RSS                     {_peak_rss_mb():8.1f} MB", ""]
    lines += _size_table(loaded, enc, ratios, frames)
    return "\n".join(lines)
