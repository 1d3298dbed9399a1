"""Rate-quality plots and matched-rate image grids (matplotlib, Agg backend, PNG files).

::

    rows --rate_quality_plot(set, metric)--> <set>_<metric>.png   (bpp on a log axis, one line per codec)
    original + reconstructions --image_grid--> <set>_grid_<bpp>.png (original | SQ-GAN | baselines)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["rate_quality_plot", "image_grid", "training_curve_plot"]

_MARKERS = "os^vD<>ph*"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rate_quality_plot(rows: Sequence[Mapping[str, Any]], set_name: str, metric: str, path: str | Path,
                      targets: Sequence[float] = ()) -> Path:
    """One metric against bpp for every codec of a set.

    Args:
        rows: sweep rows.
        set_name: ``stills`` / ``sequences``.
        metric: a ``report.METRICS`` column.
        path: PNG to write.
        targets: bpp values marked with dotted vertical lines.
    """
    from sqgan_ros.evaluation.report import METRICS, codecs_of
    from sqgan_ros.evaluation.sweep import CODEC_LABELS

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    try:
        for i, codec in enumerate(codecs_of(rows, set_name)):
            pts = sorted((float(r["bpp"]), float(r[metric])) for r in rows
                         if r["set"] == set_name and r["codec"] == codec
                         and math.isfinite(float(r["bpp"])) and math.isfinite(float(r[metric])))
            if not pts:
                continue
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker=_MARKERS[i % len(_MARKERS)], linewidth=2.2 if codec == "sqgan" else 1.2,
                    label=CODEC_LABELS.get(codec, codec), color="black" if codec == "sqgan" else None)
        for t in targets:
            ax.axvline(t, linestyle=":", color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("bits per pixel (log scale)")
        name = METRICS[metric][0]
        ax.set_ylabel(name + (" (lower is better)" if metric in ("lpips", "fid") else ""))
        ax.set_title(f"{name} vs rate ({set_name})")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def image_grid(panels: Sequence[tuple[str, np.ndarray]], path: str | Path, title: str = "", columns: int = 3) -> Path:
    """Side-by-side images with captions.

    Args:
        panels: ``(caption, uint8 RGB (H, W, 3))`` in display order (original first).
        path: PNG to write.
        title: figure title.
        columns: panels per row.
    """
    if not panels:
        raise ValueError("no panels to draw")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    plt = _pyplot()
    columns = min(columns, len(panels))
    rows = math.ceil(len(panels) / columns)
    h, w = panels[0][1].shape[:2]
    scale = 4.0 / w
    fig, axes = plt.subplots(rows, columns, figsize=(columns * w * scale + 0.2, rows * (h * scale + 0.5) + 0.4),
                             dpi=max(100, int(w / 4.0)), squeeze=False)
    try:
        for ax in axes.flat:
            ax.axis("off")
        for ax, (caption, image) in zip(axes.flat, panels):
            ax.imshow(image, interpolation="nearest")
            ax.set_title(caption, fontsize=8)
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def training_curve_plot(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Held-out LPIPS (synthetic, real frames, library photos) and decoded-map mIoU against samples seen.

    Args:
        rows: rows of ``docs/evaluation/training_curve.csv`` (strings as read by ``csv.DictReader``);
            a row with 0 samples on both branches (the bundled model) is drawn as a dashed level.
        path: PNG to write.
    """
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    trained = [r for r in rows if int(r["image_samples"]) > 0]
    colours = {"synthetic_lpips": "tab:blue", "real_lpips": "tab:red", "photos_lpips": "tab:green",
               "real_decoded_map_lpips": "tab:orange"}
    for key, colour in colours.items():
        x = [int(r["image_samples"]) / 1000 for r in trained if r.get(key)]
        left.plot(x, [float(r[key]) for r in trained if r.get(key)], "o-", color=colour,
                  label=key.replace("_lpips", "").replace("_", " ") + " (v2)")
        for r in rows:
            if int(r["image_samples"]) == 0 and r.get(key):
                left.axhline(float(r[key]), color=colour, linestyle="--", linewidth=1)
    left.set_xlabel("image-branch samples seen (thousands)")
    left.set_ylabel("held-out LPIPS, keep 0.25")
    left.set_title("dashed: the bundled model", fontsize=9)
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    x = [int(r["semantic_samples"]) / 1000 for r in trained]
    right.plot(x, [100 * float(r["synthetic_decoded_miou"]) for r in trained], "o-", color="tab:purple",
               label="decoded-map mIoU (v2)")
    for r in rows:
        if int(r["semantic_samples"]) == 0:
            right.axhline(100 * float(r["synthetic_decoded_miou"]), color="tab:purple", linestyle="--", linewidth=1)
    right.axhline(60, color="black", linestyle=":", linewidth=1, label="target 60 %")
    right.set_xlabel("semantic-branch samples seen (thousands)")
    right.set_ylabel("decoded-map mIoU at keep 0.25 (%)")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
