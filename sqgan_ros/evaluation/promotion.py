"""The promotion gate: a candidate replaces the default model only when the numbers say so.

::

    sqgan-eval promote CANDIDATE [--baseline models/default.safetensors] [--dry-run]
        [--synthetic config/eval/gate_synthetic.yaml] [--real config/eval/gate_real.yaml]
        [--out docs/evaluation/promotion] [--readme README.md] [--threads 2]

Both models run through the same sweep (``run_evaluation``) on the synthetic test split and on
the held-out real frames. At each matched rate (~0.02 and ~0.04 bpp: the sweep's ``bpp<=T``
points, the highest keep ratio that fits each frame) the candidate must have, on every set:

    lpips           lower than the baseline's
    seg_miou        (segmenter agreement) higher than the baseline's
    semantic_miou   (decoded-map mIoU) no lower than the baseline's
    periodic_db     (stripe metric, when the sweep reports it) no higher than the baseline's
    encode_ms <= 40 and decode_ms <= 80 per frame on this CPU (the sweep's --threads), taken
                    from the sweep's fixed keep-ratio point (one encode and one decode per frame,
                    as the nodes do; a matched-rate point's encode time includes the search for
                    the largest keep ratio that fits), or from the matched-rate points when the
                    sweep has no fixed keep ratio

The side-by-side table and the verdict go to ``OUT/<candidate id>.md`` and ``gate.json``; when
the candidate passes (and not ``--dry-run``) it is copied over the baseline file and the README
block between ``<!-- gate:begin -->`` and ``<!-- gate:end -->`` is replaced by the table.
Exit codes: 0 promoted (or would be, with --dry-run), 1 refused by the gate, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Criterion", "GateResult", "compare", "gate_table", "refresh_readme", "main"]

TARGETS = ("bpp<=0.02", "bpp<=0.04")
MAX_ENCODE_MS = 40.0
MAX_DECODE_MS = 80.0
README_BEGIN, README_END = "<!-- gate:begin -->", "<!-- gate:end -->"

# metric -> (direction, strict): "lower"/"higher" is better; strict: must improve, else no worse
METRICS: dict[str, tuple[str, bool]] = {
    "lpips": ("lower", True),
    "seg_miou": ("higher", True),
    "semantic_miou": ("higher", False),
    "periodic_db": ("lower", False),
}


@dataclass(frozen=True)
class Criterion:
    """One comparison of the gate."""

    where: str
    metric: str
    candidate: float
    baseline: float
    passed: bool
    rule: str


@dataclass
class GateResult:
    """All comparisons, and whether every one passed."""

    criteria: list[Criterion] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every criterion passed (and there was at least one)."""
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    def failures(self) -> list[Criterion]:
        """The criteria that failed."""
        return [c for c in self.criteria if not c.passed]


def _sqgan_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["set"], r["setting"]): r for r in rows if r["codec"] == "sqgan" and r["setting"] in TARGETS}


def compare(name: str, candidate_rows: list[dict[str, Any]], baseline_rows: list[dict[str, Any]],
            max_encode_ms: float = MAX_ENCODE_MS, max_decode_ms: float = MAX_DECODE_MS) -> list[Criterion]:
    """The gate's criteria on one evaluation (``name``: e.g. ``synthetic``), from ``points.csv`` rows.

    Raises:
        ValueError: a matched-rate point is missing from either evaluation.
    """
    cand, base = _sqgan_rows(candidate_rows), _sqgan_rows(baseline_rows)
    if not cand or set(cand) != set(base):
        raise ValueError(f"{name}: matched-rate points differ or are missing "
                         f"(candidate {sorted(cand)}, baseline {sorted(base)})")
    fixed_c, fixed_b = _fixed_keep_rows(candidate_rows), _fixed_keep_rows(baseline_rows)
    timed = {k: (fixed_c[k], fixed_b[k]) for k in fixed_c if k in fixed_b and fixed_c[k]["setting"] == fixed_b[k]["setting"]}
    out = []
    for key in sorted(cand):
        c, b = cand[key], base[key]
        where = f"{name}/{key[0]}/{key[1]}"
        for metric, (direction, strict) in METRICS.items():
            cv, bv = float(c.get(metric, math.nan)), float(b.get(metric, math.nan))
            if math.isnan(cv) and math.isnan(bv):
                continue  # not measured by either (e.g. no periodic column in an old sweep)
            if math.isnan(cv) or math.isnan(bv):
                out.append(Criterion(where, metric, cv, bv, False, "measured for one model only"))
                continue
            better = cv < bv if direction == "lower" else cv > bv
            same = math.isclose(cv, bv, rel_tol=0.0, abs_tol=1e-9)
            passed = better or (not strict and same)
            rule = f"{direction} than baseline" if strict else f"no {'higher' if direction == 'lower' else 'lower'}"
            out.append(Criterion(where, metric, cv, bv, passed, rule))
        if key[0] not in timed:
            out += _speed(where, c, b, max_encode_ms, max_decode_ms)
    for set_name, (c, b) in timed.items():
        out += _speed(f"{name}/{set_name}/{c['setting']}", c, b, max_encode_ms, max_decode_ms)
    return out


def _speed(where: str, c: dict[str, Any], b: dict[str, Any], max_encode_ms: float,
           max_decode_ms: float) -> list[Criterion]:
    out = []
    for metric, limit in (("encode_ms", max_encode_ms), ("decode_ms", max_decode_ms)):
        cv = float(c.get(metric, math.nan))
        out.append(Criterion(where, metric, cv, float(b.get(metric, math.nan)),
                             math.isfinite(cv) and cv <= limit, f"<= {limit:g} ms"))
    return out


def _fixed_keep_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per set, the first SQ-GAN point at a fixed keep ratio (``keep=...``)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["codec"] == "sqgan" and str(r["setting"]).startswith("keep="):
            out.setdefault(r["set"], r)
    return out


def gate_table(result: GateResult, candidate: str, baseline: str) -> str:
    """The side-by-side table (markdown) with one row per criterion."""
    lines = [f"| where | metric | candidate `{candidate}` | baseline `{baseline}` | rule | pass |",
             "|---|---|---|---|---|---|"]
    for c in result.criteria:
        lines.append(f"| {c.where} | {c.metric} | {c.candidate:.4g} | {c.baseline:.4g} | {c.rule} | "
                     f"{'yes' if c.passed else '**no**'} |")
    return "\n".join(lines) + "\n"


def readme_block(result: GateResult, candidate: str, baseline: str, out: Path) -> str:
    """The README's lines on a promotion: LPIPS per set and rate, and the per-frame times.

    Each figure is tied to ``OUT/gate.json`` by a docs-figures marker (``sqgan_ros.tools.docs_figures``).
    """
    art = (out / "gate.json").as_posix()

    def ref(c: Criterion, side: str) -> str:
        return f"{{{art}:criteria[where={c.where},metric={c.metric}].{side}}}"

    lines = [f"  `{candidate}` replaced `{baseline}`: every criterion of the promotion gate passed "
             f"(`{(out / (candidate + '.md')).as_posix()}` has the table)."]
    by_set: dict[str, list[Criterion]] = {}
    for c in result.criteria:
        by_set.setdefault(c.where.split("/")[0], []).append(c)
    for name, criteria in by_set.items():
        lpips = [c for c in criteria if c.metric == "lpips"]
        times = [c for c in criteria if c.metric in ("encode_ms", "decode_ms")][:2]
        if lpips:
            rates = " and ".join(f"~{c.where.rsplit('<=', 1)[-1]} bpp" for c in lpips)
            cand = " / ".join(f"{c.candidate:.3f}" for c in lpips)
            base = " / ".join(f"{c.baseline:.3f}" for c in lpips)
            marks = "; ".join([ref(c, "candidate") for c in lpips] + [ref(c, "baseline") for c in lpips])
            lines.append(f"  {name}: LPIPS {cand} (was {base})<!-- fig: {marks} --> at {rates}"
                         + (f"; encode / decode {times[0].candidate:.1f} / {times[1].candidate:.1f} ms per frame"
                            f"<!-- fig: {ref(times[0], 'candidate')}; {ref(times[1], 'candidate')} -->"
                            if len(times) == 2 else "") + ".")
    return "\n".join(lines) + "\n"


def refresh_readme(readme: Path, block: str) -> bool:
    """Replace the text between the gate markers of ``readme``; False when it has no markers."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        return False
    readme.write_text(text[: start + len(README_BEGIN)] + "\n" + block + text[end:], encoding="utf-8")
    return True


def _evaluate(config: Path, model: Path, out: Path, threads: int) -> list[dict[str, Any]]:
    import torch

    from sqgan_ros.evaluation.report import read_points_csv
    from sqgan_ros.evaluation.run import run_evaluation
    from sqgan_ros.evaluation.sweep import load_config

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = run_evaluation(load_config(config), model, out)
    finally:
        torch.set_num_threads(previous)
    return read_points_csv(result.csv)


def main(argv: list[str] | None = None) -> int:
    """``sqgan-eval promote``: run the gate; see the module docstring."""
    parser = argparse.ArgumentParser(prog="sqgan-eval promote", description=__doc__.split("\n")[0])
    parser.add_argument("candidate", type=Path, help="candidate model file")
    parser.add_argument("--baseline", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--synthetic", type=Path, default=Path("config/eval/gate_synthetic.yaml"))
    parser.add_argument("--real", type=Path, default=Path("config/eval/gate_real.yaml"))
    parser.add_argument("--out", type=Path, default=Path("docs/evaluation/promotion"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the speed limits are per frame)")
    parser.add_argument("--dry-run", action="store_true", help="report only; replace nothing")
    args = parser.parse_args(argv)
    from sqgan_ros.codec.model_file import ModelFileError, load_model

    try:
        cand, base = load_model(args.candidate), load_model(args.baseline)
    except (ModelFileError, OSError) as exc:
        print(f"sqgan-eval promote: {exc}", file=sys.stderr)
        return 2
    if cand.model_id == base.model_id:
        print("sqgan-eval promote: the candidate is the baseline (same model id)", file=sys.stderr)
        return 2
    result = GateResult()
    work = args.out / f"runs_{cand.short_id}"
    for name, config in (("synthetic", args.synthetic), ("real", args.real)):
        rows_c = _evaluate(config, args.candidate, work / name / "candidate", args.threads)
        rows_b = _evaluate(config, args.baseline, work / name / "baseline", args.threads)
        result.criteria += compare(name, rows_c, rows_b)
    table = gate_table(result, cand.short_id, base.short_id)
    verdict = "PROMOTED" if result.passed and not args.dry_run else (
        "would be promoted (dry run)" if result.passed else "REFUSED")
    args.out.mkdir(parents=True, exist_ok=True)
    report = (f"# Promotion gate: `{cand.short_id}` against `{base.short_id}`: {verdict}\n\n"
              f"Command: `sqgan-eval promote {args.candidate} --baseline {args.baseline}"
              f"{' --dry-run' if args.dry_run else ''}` (sweeps in `{work}`).\n\n{table}")
    (args.out / f"{cand.short_id}.md").write_text(report, encoding="utf-8")
    (args.out / "gate.json").write_text(json.dumps(
        {"candidate": cand.model_id, "baseline": base.model_id, "passed": result.passed, "verdict": verdict,
         "criteria": [c.__dict__ for c in result.criteria]}, indent=1) + "\n", encoding="utf-8")
    print(report)
    if not result.passed:
        for c in result.failures():
            print(f"gate: {c.where} {c.metric}: {c.candidate:.4g} vs {c.baseline:.4g} ({c.rule})", file=sys.stderr)
        return 1
    if not args.dry_run:
        shutil.copy2(args.candidate, args.baseline)
        block = readme_block(result, cand.short_id, base.short_id, args.out)
        if not refresh_readme(args.readme, block):
            print(f"gate: {args.readme} has no {README_BEGIN} block; README not refreshed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
