"""Text that commands write from committed artifacts, for ``sqgan_ros.tools.docs_figures``.

Generated blocks (``<!-- begin: NAME ARGS -->`` ... ``<!-- end: NAME -->``; ``GENERATORS``) and
documents written whole by a command (``whole_files``: the ``sqgan-eval`` reports, the promotion
gate's page), each rebuilt from its artifact the way the command builds it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path


def reports(root: Path) -> list[Path]:
    """The ``sqgan-eval`` reports: folders under docs/evaluation with report.md, points.csv, summary.json."""
    return sorted(p.parent for p in root.glob("docs/evaluation/*/report.md")
                  if (p.parent / "points.csv").is_file() and (p.parent / "summary.json").is_file())


def video_table(root: Path, path: str) -> str:
    """The table ``python -m sqgan_ros.evaluation.video`` prints, from its ``--out`` JSON."""
    data = json.loads((root / path).read_text(encoding="utf-8"))
    lines = ["```", f"{'source':8} {'run':13} {'setting':>7} {'loss':>5} {'kbit/s':>8} {'bits/fr':>8} "
             f"{'I':>3} {'fresh':>5} {'PSNR':>6} {'impPSNR':>7} {'mIoU%':>6} {'LPIPS':>6} {'xIntra':>6}"]
    for s in data["summary"]:
        ratio = s.get("intra_bits_at_equal_lpips_ratio")
        lines.append(f"{s['source']:8} {s['name']:13} {s['setting']:7.3g} {s['loss']:5.2f} {s['kbps']:8.2f} "
                     f"{s['bits_per_frame']:8.0f} {s['intra_frames']:3d} {s['fresh_frames']:5d} "
                     f"{s['psnr']:6.2f} {s['important_psnr']:7.2f} {s['seg_miou']:6.1f} {s['lpips']:6.3f} "
                     f"{math.nan if ratio is None else ratio:6.2f}")
    return "\n".join(lines + ["```"]) + "\n"


GENERATORS: dict[str, Callable[..., str]] = {"video_table": video_table}


def eval_report(root: Path, folder: str) -> str:
    """``report.md`` as ``sqgan-eval`` writes it, from the folder's points.csv and summary.json."""
    from sqgan_ros.evaluation.report import read_points_csv, render_report
    from sqgan_ros.evaluation.run import PLOT_METRICS
    from sqgan_ros.evaluation.sweep_config import load_config

    out = root / folder
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cfg = load_config(root / "config" / "eval" / f"{summary['name']}.yaml")
    rows = read_points_csv(out / "points.csv")
    figures: dict[str, list[str]] = {}
    for name in summary["meta"].get("sets", {}):
        figures[name] = [f"{name}_{m}.png" for m in PLOT_METRICS if (out / f"{name}_{m}.png").is_file()]
        figures[name] += sorted(p.name for p in out.glob(f"{name}_grid_*.png"))
    return render_report(rows, name=summary["name"], targets=cfg.targets_bpp, notes=summary["notes"],
                         meta=summary["meta"], figures=figures)


def gate_table(root: Path, folder: str) -> str:
    """The promotion gate's table, as ``sqgan-eval promote`` writes it, from its ``gate.json``."""
    from sqgan_ros.evaluation.promotion import Criterion, GateResult
    from sqgan_ros.evaluation.promotion import gate_table as render

    gate = json.loads((root / folder / "gate.json").read_text(encoding="utf-8"))
    result = GateResult([Criterion(**c) for c in gate["criteria"]])
    return render(result, gate["candidate"][:16], gate["baseline"][:16])


def whole_files(root: Path) -> dict[Path, tuple[str, Callable[[], str]]]:
    """Documents a command writes whole: path -> (``equal`` | ``contains``, what the artifact gives).

    The ``sqgan-eval`` reports must equal ``render_report`` of their points.csv; the promotion
    gate's page for the latest candidate must contain the table of ``gate.json`` (older pages have
    no artifact left: gate.json is rewritten by each run).
    """
    out: dict[Path, tuple[str, Callable[[], str]]] = {}
    for folder in reports(root):
        rel = str(folder.relative_to(root))
        out[folder / "report.md"] = ("equal", lambda rel=rel: eval_report(root, rel))
    for gate in root.glob("docs/evaluation/*/gate.json"):
        try:
            candidate = json.loads(gate.read_text(encoding="utf-8"))["candidate"][:16]
        except (OSError, ValueError, KeyError):
            continue
        rel = str(gate.parent.relative_to(root))
        out[gate.parent / f"{candidate}.md"] = ("contains", lambda rel=rel: gate_table(root, rel))
    return out
