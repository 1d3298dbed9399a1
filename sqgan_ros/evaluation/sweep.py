"""Rate-quality sweep of SQ-GAN against classical image and video codecs on the same frames.

::

    EvalConfig (YAML) --build_sets--> stills (still frames)      sequences (10 fps clips)
                                        |                           |
        SQ-GAN keep ratios / target bpp +-> bytes per frame <-------+ SQ-GAN (intra, per frame)
        JPEG .. AV1 intra (qualities)   +                           + x264 / x265 (kbit/s)
                                        v                           v
                      decode exactly those bytes -> Scorer: PSNR, MS-SSIM, LPIPS, FID, mIoU
                                        v
                            one row per (set, codec, setting)  ->  points.csv

Bits are counted from ``len(bytes)`` of the complete stream each codec would send: the SQ-GAN
frame (header, entropy-coded payload, CRC) and each baseline's file / Annex-B stream. The ROS
``SemanticFrame`` message that carries an SQ-GAN frame adds a few tens of bytes of fields and CDR
framing; that overhead is measured separately (``message_overhead_bytes``) by serialising a real
message when rclpy and the built messages are importable, else computed from the CDR layout.

Segmentation quality follows the paper's task metric: the bundled segmenter runs on each
reconstruction and is scored against ground truth (synthetic frames). Real footage has no labels:
there the reference is the segmenter's own output on the original frame (``label_reference``
says which), i.e. segmenter *agreement*, not accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sqgan_ros.evaluation.eval_sets import EvalSet, build_sets
from sqgan_ros.evaluation.scorer import Scorer
from sqgan_ros.evaluation.sweep_config import (
    ConfigError,
    EvalConfig,
    MetricsConfig,
    SetConfig,
    SQGANConfig,
    VideoConfig,
    config_from_dict,
    load_config,
)
from sqgan_ros.evaluation.sweep_points import (
    Point,
    image_codec_points,
    kbps_at,
    sqgan_points,
    video_codec_points,
)
from sqgan_ros.ros.message_size import semantic_frame_overhead

__all__ = [
    "ConfigError", "SetConfig", "SQGANConfig", "VideoConfig", "MetricsConfig", "EvalConfig", "load_config",
    "config_from_dict", "EvalSet", "build_sets", "Point", "Scorer", "SweepResult", "run_sweep", "COLUMNS",
    "CODEC_LABELS", "semantic_frame_overhead", "kbps_at", "sqgan_points", "image_codec_points",
    "video_codec_points",
]

#: Display names of the codecs.
CODEC_LABELS: dict[str, str] = {
    "sqgan": "SQ-GAN", "jpeg": "JPEG", "jpeg2000": "JPEG 2000", "webp": "WebP", "avif": "AVIF",
    "heif": "HEIF (HEVC)", "hevc_intra": "HEVC intra", "av1_intra": "AV1 intra", "x264": "x264", "x265": "x265",
    **{f"{base}_x{s}": f"{name} at 1/{s} size" for base, name in
       (("av1_intra", "AV1 intra"), ("hevc_intra", "HEVC intra"), ("jpeg2000", "JPEG 2000"), ("x264", "x264"),
        ("x265", "x265")) for s in (2, 4)},
}

#: Columns of points.csv, in order.
COLUMNS: tuple[str, ...] = (
    "set", "codec", "kind", "setting", "frames", "bytes_mean", "bpp", "kbps", "message_overhead_bytes",
    "message_bpp", "reached_fraction", "psnr", "ms_ssim", "lpips", "fid", "seg_miou", "semantic_miou",
    "psnr_important", "label_reference", "encode_ms", "decode_ms", "periodic_db",
)


@dataclass
class SweepResult:
    """Everything a report needs.

    Args:
        rows: one dict per point (``COLUMNS``).
        sets: the evaluation sets.
        grid_images: ``{(set, codec, setting): [(frame index, image, bpp), ...]}`` for the first
            ``grid_frames`` frames of each set.
        notes: statements for the report (bit accounting, FID, label source).
        meta: model id, sizes, timings.
    """

    rows: list[dict[str, Any]]
    sets: list[EvalSet]
    grid_images: dict[tuple[str, str, str], list[tuple[int, np.ndarray, float]]]
    notes: list[str]
    meta: dict[str, Any]


def run_sweep(cfg: EvalConfig, model: Any, progress: Callable[[str], None] | None = None) -> SweepResult:
    """Run every codec of ``cfg`` on its sets and score every point.

    Args:
        cfg: the configuration.
        model: SQ-GAN ``LoadedModel`` or model file path.
        progress: called with a line per finished point (e.g. ``print``).
    """
    import torch

    from sqgan_ros.api import resolve_device
    from sqgan_ros.codec.model_file import LoadedModel, load_model
    from sqgan_ros.codec.precision import resolve_precision

    say = progress or (lambda line: None)
    start = time.perf_counter()
    device = str(resolve_device(cfg.device))
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device)
    sets = build_sets(cfg)
    if not sets:
        raise ConfigError("no evaluation set: stills and sequences are both 'none'")
    scorer = Scorer(cfg.metrics, device=device)
    rows: list[dict[str, Any]] = []
    grids: dict[tuple[str, str, str], list[tuple[int, np.ndarray, float]]] = {}
    pixels = cfg.size[0] * cfg.size[1]
    notes = []
    for evalset in sets:
        say(f"[{evalset.name}] {len(evalset)} frames: {evalset.description}")
        if cfg.sqgan.labels == "ground_truth" and evalset.labels is not None:
            tx_labels, tx_kind = evalset.labels, "ground-truth label maps"
        else:
            tx_labels, tx_kind = scorer.segment(evalset.images), f"the segmenter ({scorer.segmenter.name})"
        notes.append(f"{evalset.name}: SQ-GAN's transmitter is given {tx_kind}.")
        points = sqgan_points(evalset, loaded, cfg.sqgan.keep_ratios, cfg.sqgan.target_bpps,
                              cfg.sqgan.semantic_keep_ratio, tx_labels, device)
        if evalset.name == "stills":
            for name, qualities in cfg.image_codecs.items():
                points += image_codec_points(evalset, name, qualities)
        else:
            for name in cfg.video.codecs:
                points += video_codec_points(evalset, name, cfg.video.kbps, cfg.fps, cfg.video.gop, cfg.video.preset)
        note = scorer.fid_note(evalset)
        if note:
            notes.append(f"{evalset.name}: {note}.")
        for p in points:
            row = scorer.score(evalset, p, cfg.size, cfg.fps)
            rows.append(row)
            shown = min(cfg.grid_frames, len(evalset))
            grids[(evalset.name, p.codec, p.setting)] = [
                (i, p.recon[i], 8.0 * p.frame_bytes[i] / pixels) for i in range(shown)]
            say(f"  {CODEC_LABELS.get(p.codec, p.codec):>11} {p.setting:>12}: {row['bpp']:.4f} bpp "
                f"PSNR {row['psnr']:.2f} LPIPS {row['lpips']:.3f} seg mIoU {row['seg_miou']:.3f}")
    sample = next(p for p in rows if p["codec"] == "sqgan")
    _, method = semantic_frame_overhead(b"\0" * int(sample["bytes_mean"]))
    notes.append(f"SQ-GAN bits are whole frames (header, entropy-coded payload, CRC-32); the SemanticFrame "
                 f"message adds {sample['message_overhead_bytes']:.0f} bytes per frame "
                 f"(measured by {method}), reported as message_bpp.")
    notes.append("Baseline bits are whole files / Annex-B streams (container headers included), without "
                 "transport framing.")
    meta = {"model_id": loaded.model_id, "model_size": list(loaded.config.image_size),
            "size": list(cfg.size), "fps": cfg.fps, "device": device,
            "precision": str(resolve_precision("auto", torch.device(device))).removeprefix("torch."),
            "seconds": time.perf_counter() - start,
            "segmenter": scorer.segmenter.name,
            "sets": {s.name: {"frames": len(s), "description": s.description} for s in sets}}
    return SweepResult(rows, sets, grids, notes, meta)
