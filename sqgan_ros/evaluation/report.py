"""Matched-rate comparison and the Markdown report, computed only from the sweep's rows.

::

    points.csv rows --curves(set, codec, metric)--> matched_value(curve, target bpp)
                                                      |  "cannot reach": codec's lowest bpp > target
                                                      v
                     headline table (LPIPS, segmenter mIoU at ~0.02/0.04/0.08 bpp)
                     verdicts: SQ-GAN vs the best baseline that reaches each rate, per metric
                                                      v
                                               render_report -> report.md

Nothing in the text is written in advance: every "wins" / "loses" sentence is derived from the
numbers it quotes.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "METRICS", "HIGHER_IS_BETTER", "CANNOT_REACH", "ABOVE_RANGE", "Matched", "Verdict", "matched_value",
    "curve", "codecs_of", "headline", "verdicts", "closest_point", "write_points_csv", "read_points_csv",
    "render_report",
]

#: metric column -> (display name, unit/format).
METRICS: dict[str, tuple[str, str]] = {
    "psnr": ("PSNR", "{:.2f} dB"), "ms_ssim": ("MS-SSIM", "{:.4f}"), "lpips": ("LPIPS", "{:.3f}"),
    "fid": ("FID", "{:.1f}"), "seg_miou": ("segmenter mIoU", "{:.1%}"), "semantic_miou": ("decoded-map mIoU", "{:.1%}"),
    "psnr_important": ("PSNR (important classes)", "{:.2f} dB"),
    "periodic_db": ("stripe energy at period 4", "{:.1f} dB"),
}
#: Metrics where larger is better (the others, LPIPS and FID, are distances).
HIGHER_IS_BETTER: frozenset[str] = frozenset({"psnr", "ms_ssim", "seg_miou", "semantic_miou", "psnr_important"})
CANNOT_REACH = "cannot reach"
ABOVE_RANGE = "above range"
_NUMERIC = {"frames", "bytes_mean", "bpp", "kbps", "message_overhead_bytes", "message_bpp", "reached_fraction",
            "psnr", "ms_ssim", "lpips", "fid", "seg_miou", "semantic_miou", "psnr_important", "encode_ms", "decode_ms",
            "periodic_db"}


@dataclass(frozen=True)
class Matched:
    """A codec's metric at a target rate.

    Args:
        value: interpolated value (nan unless ``status == "ok"``).
        status: ``"ok"``, ``CANNOT_REACH`` (its lowest rate is above the target) or
            ``ABOVE_RANGE`` (the target is above the highest rate swept).
        lowest_bpp: the codec's lowest measured bpp (for "cannot reach" messages).
        highest_bpp: the codec's highest measured bpp.
    """

    value: float
    status: str
    lowest_bpp: float = float("nan")
    highest_bpp: float = float("nan")

    @property
    def ok(self) -> bool:
        """Whether a value exists."""
        return self.status == "ok"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def matched_value(bpps: Sequence[float], values: Sequence[float], target: float, tolerance: float = 0.05) -> Matched:
    """Interpolate a rate-quality curve at ``target`` bpp (linear in log bpp).

    A target below the lowest measured rate cannot be reached (a codec's lowest setting cannot
    go lower), unless it lies within ``tolerance`` (relative) of it: "~0.02 bpp" accepts a codec
    whose lowest point is 0.0205. Targets above the highest measured rate are not extrapolated.

    Args:
        bpps: measured rates (any order; points with a non-finite value are ignored).
        values: metric at each rate.
        target: bpp to read the curve at (> 0).
        tolerance: relative slack at both ends of the curve.
    """
    if len(bpps) != len(values):
        raise ValueError(f"bpps and values differ in length: {len(bpps)} vs {len(values)}")
    if not (_finite(target) and target > 0):
        raise ValueError(f"target must be a positive bpp, got {target}")
    pts: dict[float, list[float]] = {}
    for b, v in zip(bpps, values):
        if _finite(b) and b > 0 and _finite(v):
            pts.setdefault(float(b), []).append(float(v))
    if not pts:
        return Matched(float("nan"), CANNOT_REACH)
    xs = sorted(pts)
    ys = [sum(pts[x]) / len(pts[x]) for x in xs]
    lowest, highest = xs[0], xs[-1]
    if target < lowest:
        if lowest <= target * (1.0 + tolerance):
            return Matched(ys[0], "ok", lowest, highest)
        return Matched(float("nan"), CANNOT_REACH, lowest, highest)
    if target > highest:
        if highest >= target * (1.0 - tolerance):
            return Matched(ys[-1], "ok", lowest, highest)
        return Matched(float("nan"), ABOVE_RANGE, lowest, highest)
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= target <= x1:
            t = 0.0 if x1 == x0 else (math.log(target) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return Matched(y0 + t * (y1 - y0), "ok", lowest, highest)
    return Matched(ys[-1], "ok", lowest, highest)  # not reached: target lies within [lowest, highest]


def codecs_of(rows: Iterable[Mapping[str, Any]], set_name: str) -> list[str]:
    """Codecs with rows in ``set_name``, SQ-GAN first, then in order of appearance."""
    seen: list[str] = []
    for r in rows:
        if r["set"] == set_name and r["codec"] not in seen:
            seen.append(r["codec"])
    return sorted(seen, key=lambda c: (c != "sqgan", seen.index(c)))


def curve(rows: Iterable[Mapping[str, Any]], set_name: str, codec: str, metric: str) -> tuple[list[float], list[float]]:
    """``(bpps, values)`` of one codec on one set.

    Args:
        rows: sweep rows.
        set_name: ``stills`` / ``sequences``.
        codec: codec name.
        metric: a ``METRICS`` column.
    """
    sel = [r for r in rows if r["set"] == set_name and r["codec"] == codec]
    return [float(r["bpp"]) for r in sel], [float(r[metric]) for r in sel]


def headline(rows: Sequence[Mapping[str, Any]], set_name: str, targets: Sequence[float],
             metrics: Sequence[str] = ("lpips", "seg_miou")) -> dict[str, dict[float, dict[str, Matched]]]:
    """``{codec: {target: {metric: Matched}}}`` for one set."""
    return {c: {t: {m: matched_value(*curve(rows, set_name, c, m), t) for m in metrics} for t in targets}
            for c in codecs_of(rows, set_name)}


@dataclass(frozen=True)
class Verdict:
    """SQ-GAN against the best baseline at one rate on one metric.

    Args:
        target: bpp.
        metric: metric column.
        sqgan: SQ-GAN's matched value.
        best_codec: the best baseline that reaches the rate (None if none does).
        best: its matched value.
        unreachable: baselines whose lowest rate is above the target.
        not_swept: baselines whose highest measured rate is below the target.
    """

    target: float
    metric: str
    sqgan: Matched
    best_codec: str | None
    best: Matched | None
    unreachable: tuple[str, ...]
    not_swept: tuple[str, ...] = ()

    @property
    def sqgan_wins(self) -> bool | None:
        """True/False when both have values; True when SQ-GAN alone can reach the rate; else None."""
        if not self.sqgan.ok:
            return None
        if self.best is None:
            return True if self.unreachable and not self.not_swept else None
        a, b = self.sqgan.value, self.best.value
        return a > b if self.metric in HIGHER_IS_BETTER else a < b


def verdicts(rows: Sequence[Mapping[str, Any]], set_name: str, targets: Sequence[float],
             metrics: Sequence[str], tolerance: float = 0.05) -> list[Verdict]:
    """One ``Verdict`` per (target, metric) where SQ-GAN and some baseline have that metric.

    Args:
        rows: sweep rows.
        set_name: the set.
        targets: bpp points.
        metrics: metric columns (metrics only SQ-GAN has, such as ``semantic_miou``, are skipped).
        tolerance: relative slack of "~target" (as ``matched_value``).
    """
    out = []
    codecs = codecs_of(rows, set_name)
    if "sqgan" not in codecs:
        return out
    mine = [r for r in rows if r["set"] == set_name]
    for t in targets:
        for m in metrics:
            baselines = [c for c in codecs[1:] if any(_finite(r.get(m)) for r in mine if r["codec"] == c)]
            if not baselines or not any(_finite(r.get(m)) for r in mine if r["codec"] == "sqgan"):
                continue
            sq = matched_value(*curve(rows, set_name, "sqgan", m), t, tolerance)
            best_codec, best, unreachable, not_swept = None, None, [], []
            for c in baselines:
                mv = matched_value(*curve(rows, set_name, c, m), t, tolerance)
                if mv.status == CANNOT_REACH:
                    unreachable.append(c)
                elif mv.status == ABOVE_RANGE:
                    not_swept.append(c)
                if not mv.ok:
                    continue
                better = best is None or (mv.value > best.value if m in HIGHER_IS_BETTER else mv.value < best.value)
                if better:
                    best_codec, best = c, mv
            out.append(Verdict(t, m, sq, best_codec, best, tuple(unreachable), tuple(not_swept)))
    return out


def closest_point(rows: Sequence[Mapping[str, Any]], set_name: str, codec: str, target: float) -> Mapping[str, Any] | None:
    """The codec's row whose mean bpp is closest to ``target`` (log distance)."""
    sel = [r for r in rows if r["set"] == set_name and r["codec"] == codec and _finite(r["bpp"]) and r["bpp"] > 0]
    if not sel:
        return None
    return min(sel, key=lambda r: abs(math.log(r["bpp"]) - math.log(target)))


# ------------------------------------------------------------------------------------------ CSV

def write_points_csv(rows: Sequence[Mapping[str, Any]], path: str | Path, columns: Sequence[str] | None = None) -> None:
    """Write rows (nan -> empty cell).

    Args:
        rows: sweep rows.
        path: destination.
        columns: column order (default: ``sweep.COLUMNS``).
    """
    if columns is None:
        from sqgan_ros.evaluation.sweep import COLUMNS as columns
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(r.get(k), float) and math.isnan(r[k]) else r.get(k, ""))
                        for k in columns})


def read_points_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read ``points.csv`` back (numeric columns as float, empty cells as nan).

    Args:
        path: the CSV file.
    """
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            rows.append({k: ((float(v) if v != "" else float("nan")) if k in _NUMERIC else v) for k, v in raw.items()})
    return rows


# --------------------------------------------------------------------------------------- report

def _label(codec: str) -> str:
    from sqgan_ros.evaluation.sweep import CODEC_LABELS

    return CODEC_LABELS.get(codec, codec)


def _fmt(metric: str, value: float) -> str:
    return METRICS[metric][1].format(value) if _finite(value) else "n/a"


def _cell(metric: str, m: Matched) -> str:
    if m.status == CANNOT_REACH:
        return CANNOT_REACH if not _finite(m.lowest_bpp) else f"{CANNOT_REACH} (min {m.lowest_bpp:.3f})"
    if m.status == ABOVE_RANGE:
        return f"above its max ({m.highest_bpp:.3f})"
    return _fmt(metric, m.value)


def _sqgan_missing(v: Verdict) -> str:
    if v.sqgan.status == CANNOT_REACH:
        return f"SQ-GAN cannot reach ~{v.target:g} bpp (its lowest point is {v.sqgan.lowest_bpp:.4f} bpp)"
    return f"~{v.target:g} bpp is above SQ-GAN's highest measured rate ({v.sqgan.highest_bpp:.4f} bpp)"


def _verdict_sentence(v: Verdict) -> str:
    name = METRICS[v.metric][0]
    if v.best is None:
        if v.sqgan_wins:
            return f"{name}: only SQ-GAN reaches ~{v.target:g} bpp ({_fmt(v.metric, v.sqgan.value)})"
        return (f"{name}: SQ-GAN {_fmt(v.metric, v.sqgan.value)}; no baseline was swept up to "
                f"~{v.target:g} bpp ({', '.join(_label(c) for c in v.not_swept)})")
    word = "wins" if v.sqgan_wins else "loses"
    return (f"{name}: SQ-GAN {word}, {_fmt(v.metric, v.sqgan.value)} vs {_fmt(v.metric, v.best.value)} "
            f"for the best baseline ({_label(v.best_codec)})")


def render_report(rows: Sequence[Mapping[str, Any]], *, name: str, targets: Sequence[float], notes: Sequence[str] = (),
                  meta: Mapping[str, Any] | None = None, figures: Mapping[str, Sequence[str]] | None = None,
                  headline_metrics: Sequence[str] = ("lpips", "seg_miou"),
                  verdict_metrics: Sequence[str] = ("lpips", "seg_miou", "psnr", "ms_ssim", "psnr_important",
                                                    "fid")) -> str:
    """The Markdown report.

    Args:
        rows: sweep rows (``sweep.COLUMNS``).
        name: evaluation name (title).
        targets: matched-rate bpp points.
        notes: statements about the setup (bit accounting, label sources, FID).
        meta: model id, sizes, timing (shown as a setup list).
        figures: ``{set: [relative image paths]}`` embedded per set.
        headline_metrics: metrics of the headline table.
        verdict_metrics: metrics compared in the wins / losses section.
    """
    meta = dict(meta or {})
    figures = dict(figures or {})
    sets = []
    for r in rows:
        if r["set"] not in sets:
            sets.append(r["set"])
    lines = [f"# SQ-GAN evaluation: {name}", ""]
    lines += ["Generated by `sqgan-eval` from `points.csv`; every statement below is computed from those "
              "numbers. Matched-rate values interpolate each codec's measured curve (linear in log bpp); "
              f"\"{CANNOT_REACH}\" means the codec's lowest setting is above that rate.", ""]
    if meta or notes:
        lines += ["## Setup", ""]
        for k, v in meta.items():
            if k != "sets":
                lines.append(f"- {k}: {v}")
        for s, info in (meta.get("sets") or {}).items():
            lines.append(f"- set `{s}`: {info['frames']} frames, {info['description']}")
        lines += [f"- {n}" for n in notes]
        lines.append("")
    for s in sets:
        codecs = codecs_of(rows, s)
        ref = next((r.get("label_reference") for r in rows if r["set"] == s), "")
        seg_name = "segmenter mIoU" if ref == "ground truth" else "segmenter agreement (mIoU vs its output on the original)"
        lines += [f"## Set `{s}`", ""]
        # headline
        table = headline(rows, s, targets, headline_metrics)
        lines += [f"### Headline: matched rates ({', '.join(f'~{t:g}' for t in targets)} bpp)", ""]
        head = "| codec | " + " | ".join(
            f"{METRICS[m][0] if m != 'seg_miou' else seg_name} @ ~{t:g} bpp" for t in targets for m in headline_metrics) + " |"
        lines += [head, "|" + "---|" * (1 + len(targets) * len(headline_metrics))]
        for c in codecs:
            cells = [_cell(m, table[c][t][m]) for t in targets for m in headline_metrics]
            lines.append(f"| {_label(c)} | " + " | ".join(cells) + " |")
        lines.append("")
        if ref != "ground truth":
            lines += [f"Labels: this set has no ground truth; segmentation columns compare with the {ref}.", ""]
        # verdicts
        vs = verdicts(rows, s, targets, verdict_metrics)
        wins = [v for v in vs if v.sqgan_wins is True]
        losses = [v for v in vs if v.sqgan_wins is False]
        lines += ["### Where SQ-GAN wins and where it loses", ""]
        for t in targets:
            at = [v for v in vs if v.target == t]
            if not at:
                continue
            unreachable = at[0].unreachable
            compared = [v for v in at if v.sqgan.ok]
            if compared:
                lines.append(f"- **~{t:g} bpp**: " + "; ".join(_verdict_sentence(v) for v in compared) + ".")
            else:
                lines.append(f"- **~{t:g} bpp**: {_sqgan_missing(at[0])}.")
            if unreachable:
                lines.append(f"  Cannot reach this rate: {', '.join(_label(c) for c in unreachable)}.")
        lines += ["", f"Summary: SQ-GAN wins {len(wins)} and loses {len(losses)} of {len(wins) + len(losses)} "
                      "comparisons against the best baseline at the same rate (a win includes being the only "
                      "codec that reaches the rate)."]
        if wins:
            lines.append("Wins: " + ", ".join(f"{METRICS[v.metric][0]} at ~{v.target:g} bpp" for v in wins) + ".")
        if losses:
            lines.append("Losses: " + ", ".join(f"{METRICS[v.metric][0]} at ~{v.target:g} bpp (best: {_label(v.best_codec)})"
                                                 for v in losses) + ".")
        lines.append("")
        # all points
        lines += ["### All points", "",
                  "| codec | setting | bpp | kbit/s | PSNR | MS-SSIM | LPIPS | FID | seg mIoU | decoded-map mIoU | "
                  "PSNR important | enc ms | dec ms |", "|" + "---|" * 13]
        for c in codecs:
            for r in sorted((r for r in rows if r["set"] == s and r["codec"] == c), key=lambda r: r["bpp"]):
                reached = "" if not _finite(r.get("reached_fraction")) or r["reached_fraction"] >= 1 else \
                    f" ({r['reached_fraction']:.0%} of frames fit)"
                lines.append(
                    f"| {_label(c)} | {r['setting']}{reached} | {r['bpp']:.4f} | {r['kbps']:.1f} | {_fmt('psnr', r['psnr'])} | "
                    f"{_fmt('ms_ssim', r['ms_ssim'])} | {_fmt('lpips', r['lpips'])} | {_fmt('fid', r['fid'])} | "
                    f"{_fmt('seg_miou', r['seg_miou'])} | {_fmt('semantic_miou', r['semantic_miou'])} | "
                    f"{_fmt('psnr_important', r['psnr_important'])} | {_num(r.get('encode_ms'))} | {_num(r.get('decode_ms'))} |")
        lines.append("")
        for fig in figures.get(s, ()):
            lines += [f"![{Path(fig).stem}]({fig})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _num(x: Any) -> str:
    return f"{x:.1f}" if _finite(x) else "n/a"
