"""One evaluation run: the sweep, its CSV, report, plots and image grids in one folder.

Shared by ``sqgan-eval`` (:mod:`sqgan_ros.evaluation.cli`) and the promotion gate
(:mod:`sqgan_ros.evaluation.promotion`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EvaluationOutput", "PLOT_METRICS", "random_model_file", "run_evaluation"]

#: Metrics plotted (each only when some point has a value).
PLOT_METRICS = ("lpips", "psnr", "ms_ssim", "seg_miou", "semantic_miou", "psnr_important", "fid")


@dataclass
class EvaluationOutput:
    """Files written by ``run_evaluation``.

    Args:
        out_dir: the output folder.
        csv: points.csv.
        report: report.md.
        plots: rate-quality PNGs.
        grids: image-grid PNGs.
        rows: the rows written.
    """

    out_dir: Path
    csv: Path
    report: Path
    plots: list[Path] = field(default_factory=list)
    grids: list[Path] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def random_model_file(preset: str, path: str | Path, seed: int = 0) -> Path:
    """Write a random-initialised model of ``preset`` (for tests/CI; uniform entropy priors).

    Args:
        preset: codec preset name.
        path: destination file.
        seed: torch seed of the initialisation.
    """
    import torch

    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import save_model

    torch.manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(path, SQGAN(get_config(preset)), extra_metadata={"note": f"random-initialised {preset}, seed {seed}"})
    return path


def _grids(result: Any, targets: Sequence[float], out_dir: Path) -> list[Path]:
    from sqgan_ros.evaluation.plots import image_grid
    from sqgan_ros.evaluation.report import closest_point, codecs_of
    from sqgan_ros.evaluation.sweep import CODEC_LABELS

    paths = []
    for evalset in result.sets:
        codecs = codecs_of(result.rows, evalset.name)
        for target in targets:
            chosen = {c: closest_point(result.rows, evalset.name, c, target) for c in codecs}
            frames = {i for key, shown in result.grid_images.items() if key[0] == evalset.name for i, _, _ in shown}
            for idx in sorted(frames):
                panels = [("original", evalset.images[idx])]
                for c, row in chosen.items():
                    if row is None:
                        continue
                    for i, image, bpp in result.grid_images[(evalset.name, c, row["setting"])]:
                        if i == idx:
                            panels.append((f"{CODEC_LABELS.get(c, c)} {row['setting']}: {bpp:.4f} bpp", image))
                name = f"{evalset.name}_grid_{target:g}bpp_frame{idx}.png"
                paths.append(image_grid(panels, out_dir / name, title=f"{evalset.name}, frame {idx}: each codec at "
                                        f"its setting closest to ~{target:g} bpp (this frame's bpp in the caption)",
                                        columns=4))
    return paths


def run_evaluation(cfg: Any, model: Any, out_dir: str | Path, progress: Callable[[str], None] | None = None) -> EvaluationOutput:
    """Sweep, then write points.csv, plots, grids, report.md and summary.json into ``out_dir``.

    Args:
        cfg: an ``EvalConfig``.
        model: SQ-GAN model file or ``LoadedModel``.
        out_dir: output folder (created).
        progress: line callback.
    """
    from sqgan_ros.evaluation.plots import rate_quality_plot
    from sqgan_ros.evaluation.report import render_report, write_points_csv
    from sqgan_ros.evaluation.sweep import run_sweep

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = run_sweep(cfg, model, progress)
    csv_path = out / "points.csv"
    write_points_csv(result.rows, csv_path)
    plots: list[Path] = []
    figures: dict[str, list[str]] = {}
    for evalset in result.sets:
        for metric in PLOT_METRICS:
            if any(r["set"] == evalset.name and math.isfinite(r[metric]) for r in result.rows):
                p = rate_quality_plot(result.rows, evalset.name, metric, out / f"{evalset.name}_{metric}.png",
                                      cfg.targets_bpp)
                plots.append(p)
                figures.setdefault(evalset.name, []).append(p.name)
    grids = _grids(result, cfg.targets_bpp, out)
    for g in grids:
        figures.setdefault(g.name.split("_grid_")[0], []).append(g.name)
    meta = dict(result.meta)
    meta["seconds"] = round(meta["seconds"], 1)
    report = render_report(result.rows, name=cfg.name, targets=cfg.targets_bpp, notes=result.notes, meta=meta,
                           figures=figures)
    report_path = out / "report.md"
    report_path.write_text(report, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({"name": cfg.name, "meta": meta, "notes": result.notes,
                                                  "points": len(result.rows)}, indent=2), encoding="utf-8")
    return EvaluationOutput(out, csv_path, report_path, plots, grids, result.rows)
