r"""``sqgan-eval``: sweep SQ-GAN and the baselines, write points.csv, plots, image grids and report.md.

::

    sqgan-eval --config config/eval/synthetic.yaml --model models/default.safetensors \
               --out docs/evaluation/synthetic
    sqgan-eval --config config/eval/ci.yaml --out /tmp/eval_ci     # random tiny model, ~30 s

    out/points.csv            one row per (set, codec, setting): bpp, kbit/s, metrics (sweep.COLUMNS)
    out/<set>_<metric>.png    rate-quality curves, every codec
    out/<set>_grid_*.png      original | SQ-GAN | each baseline at the point closest to each target
    out/report.md             headline table, wins / losses, all points, figures
    out/summary.json          notes, model id, timing
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqgan_ros.evaluation.run import random_model_file, run_evaluation

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sqgan-eval", description="Rate-quality evaluation of SQ-GAN against "
                                "JPEG, JPEG 2000, WebP, AVIF, HEVC/AV1 intra and x264/x265.")
    p.add_argument("--config", required=True, help="evaluation YAML (config/eval/*.yaml)")
    p.add_argument("--model", default="", help="SQ-GAN model file (default: the config's random_model, CI only)")
    p.add_argument("--out", default="", help="output folder (default: docs/evaluation/<config name>)")
    p.add_argument("--device", default="", choices=["", "auto", "cpu", "cuda"], help="override the config's device")
    p.add_argument("--frames", type=int, default=0, help="override the number of still frames")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0 = torch default; 1 is fastest on a busy machine)")
    p.add_argument("--quiet", action="store_true", help="no per-point progress lines")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sqgan-eval``; returns the exit status.

    ``sqgan-eval promote CANDIDATE ...`` runs the promotion gate (``evaluation/promotion.py``).
    """
    import dataclasses

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["promote"]:
        from sqgan_ros.evaluation.promotion import main as promote_main

        return promote_main(argv[1:])

    from sqgan_ros.evaluation.sweep import ConfigError, load_config

    args = _parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
        if args.device:
            cfg = dataclasses.replace(cfg, device=args.device)
        if args.frames:
            cfg = dataclasses.replace(cfg, stills=dataclasses.replace(cfg.stills, count=args.frames))
    except ConfigError as exc:
        print(f"sqgan-eval: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or Path("docs") / "evaluation" / cfg.name)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.model:
        model: Any = Path(args.model)
        if not model.is_file():
            print(f"sqgan-eval: error: model file not found: {model}", file=sys.stderr)
            return 2
    elif cfg.random_model:
        model = random_model_file(cfg.random_model, out / f"random_{cfg.random_model}.safetensors")
        print(f"sqgan-eval: no --model: using a random-initialised '{cfg.random_model}' model ({model}); "
              "its numbers only test the pipeline", file=sys.stderr)
    else:
        print("sqgan-eval: error: --model is required for this configuration", file=sys.stderr)
        return 2
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        result = run_evaluation(cfg, model, out, say)
    except (FileNotFoundError, ConfigError) as exc:
        print(f"sqgan-eval: error: {exc}", file=sys.stderr)
        return 2
    print(f"sqgan-eval: {len(result.rows)} points -> {result.csv}, {len(result.plots)} plots, "
          f"{len(result.grids)} grids, report {result.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
