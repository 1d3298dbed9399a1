"""A whole training round in a fixed time budget: the run a lent GPU gets (``scripts/train_gpu.sh``).

::

    python -m sqgan_ros.training.budget_run --minutes 9 --out OUT [--config config/train/v2_gpu.yaml]
        [--state models/train_state] [--init models/default.safetensors] [--device auto]
        [--phases A,B,export]

    pool   render the synthetic pool in parallel (one process per core), unless it exists
    A      stage 1 (semantic) and stage 2 (image) side by side, each from the committed state
           (copied into OUT/train_state first), for 60 % of the budget
    merge  the two branches into one model (in memory, then a checkpoint)
    B      stage 3 (image branch on decoded maps) for 25 % of the budget
    export priors measured on the training data, OUT/model.safetensors (float16 weights)

``--phases B,export`` skips A: the candidate of a long CPU run is made from its committed states
(stage 3 then gets 85 % of the budget). OUT then holds ``model.safetensors``, ``train_state/`` (to commit back into ``models/train_state``
when the model passes the promotion gate), the stage logs and ``summary.json`` (steps, samples,
images per second, wall time of each phase). Needs only torch, numpy, OpenCV, safetensors, PyYAML
and constriction (for the priors), with the repository on PYTHONPATH and the LPIPS weights in
``.cache/lpips`` (``python -m sqgan_ros.setup_assets`` makes them; carry them to the GPU machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SHARES = {"A": 0.60, "B": 0.25}  # the rest: start-up, merge, export


def _stage_command(config: Path, stage: int, init: Path, state: Path, out: Path, minutes: float,
                   device: str) -> list[str]:
    return [sys.executable, "-m", "sqgan_ros.training.cli", "--config", str(config), "--stage", str(stage),
            "--init", str(init), "--state", str(state), "--out", str(out), "--minutes", f"{minutes:.3f}",
            "--device", device]


def _run_parallel(commands: list[tuple[list[str], Path]], threads: int) -> None:
    """Run each command with its log file; all side by side; raise if one fails."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    procs = []
    for cmd, log in commands:
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("w")
        procs.append((subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env), handle, log))
    failed = []
    for proc, handle, log in procs:
        proc.wait()
        handle.close()
        if proc.returncode != 0:
            failed.append(f"{log} (exit {proc.returncode}): {log.read_text()[-1500:]}")
    if failed:
        raise RuntimeError("training process failed: " + "\n".join(failed))


def _state_meta(path: Path) -> dict:
    file = path.with_suffix(".json")
    return json.loads(file.read_text()) if file.is_file() else {}


def merged_checkpoint(config_path: Path, init: Path, semantic_state: Path, image_state: Path,
                      out: Path, stage: int) -> Path:
    """One checkpoint: ``init``'s weights, then each branch from its training state (if any)."""
    from sqgan_ros.training.checkpoint import CheckpointMeta, load_initial_weights, load_train_state, save_checkpoint
    from sqgan_ros.training.config import load_config
    from sqgan_ros.training.export import build_model

    config = load_config(config_path)
    model = build_model(config)
    load_initial_weights(init, model)
    step = 0
    for state in (semantic_state, image_state):
        if state.with_suffix(".json").is_file():
            step = load_train_state(state, model).step
    return save_checkpoint(out, {"model": model}, {}, CheckpointMeta(stage, step, config.to_dict()))


def run(args: argparse.Namespace) -> dict:
    """The whole round; returns the summary written to ``OUT/summary.json``."""
    from sqgan_ros.training.config import load_config

    start = time.monotonic()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(args.config)
    cores = os.cpu_count() or 1
    summary: dict = {"config": str(args.config), "minutes": args.minutes, "device": args.device, "phases": {}}

    pool = config.data.synthetic_pool
    if pool and not Path(pool).exists():
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "sqgan_ros.data.pool", str(pool), "--count", str(args.pool_count),
                        "--size", *map(str, config.data.size), "--workers", str(cores)], check=True)
        summary["phases"]["pool"] = {"seconds": time.monotonic() - t0, "frames": args.pool_count}

    states = out / "train_state"
    states.mkdir(exist_ok=True)
    for name in ("semantic", "image"):
        for suffix in (".safetensors", ".json"):
            source = (args.state / name).with_suffix(suffix)
            if source.is_file() and not (states / name).with_suffix(suffix).is_file():
                shutil.copy2(source, (states / name).with_suffix(suffix))
    before = {name: _state_meta(states / name).get("step", 0) for name in ("semantic", "image")}

    budget = args.minutes
    spent = (time.monotonic() - start) / 60.0
    if "A" in args.phases:
        minutes_a = max(0.05, SHARES["A"] * budget - spent)
        t0 = time.monotonic()
        threads = max(1, cores // 2)
        _run_parallel([(_stage_command(args.config, 1, args.init, states / "semantic", out / "s1", minutes_a,
                                       args.device), out / "s1" / "train.log"),
                       (_stage_command(args.config, 2, args.init, states / "image", out / "s2", minutes_a,
                                       args.device), out / "s2" / "train.log")], threads)
        summary["phases"]["A"] = {"seconds": time.monotonic() - t0, "minutes_budget": minutes_a}

    merged = merged_checkpoint(args.config, args.init, states / "semantic", states / "image", out / "merged", 2)
    minutes_b = max(0.05, (SHARES["B"] if "A" in args.phases else SHARES["A"] + SHARES["B"]) * budget)
    t0 = time.monotonic()
    _run_parallel([(_stage_command(args.config, 3, merged, states / "image_finetune", out / "s3", minutes_b,
                                   args.device), out / "s3" / "train.log")], cores)
    summary["phases"]["B"] = {"seconds": time.monotonic() - t0, "minutes_budget": minutes_b}

    t0 = time.monotonic()
    final = merged_checkpoint(args.config, args.init, states / "semantic", states / "image_finetune",
                              out / "final", 3)
    from sqgan_ros.training.distributed import resolve_device
    from sqgan_ros.training.export import export_model

    model_path = export_model(final, out / "model.safetensors", args.export_batches,
                              resolve_device(args.device), weights_dtype="float16")
    summary["phases"]["export"] = {"seconds": time.monotonic() - t0}
    for name, key in (("semantic", "s1"), ("image", "s2"), ("image_finetune", "s3")):
        meta = _state_meta(states / name)
        summary["phases"].setdefault(key, {}).update(
            step_before=before.get(name, 0), step_after=meta.get("step", 0),
            samples_seen=meta.get("extra", {}).get("samples_seen", 0))
    summary.update(model=str(model_path), seconds=time.monotonic() - start)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run the round."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.training.budget_run", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, required=True, help="the whole round's budget (GPU: <= 9)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--config", type=Path, default=Path("config/train/v2_gpu.yaml"))
    parser.add_argument("--state", type=Path, default=Path("models/train_state"),
                        help="committed training states to start from (read only)")
    parser.add_argument("--init", type=Path, default=Path("models/default.safetensors"),
                        help="weights under the states (and of the branches without one)")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu")
    parser.add_argument("--pool-count", type=int, default=6000, help="synthetic frames to render if no pool")
    parser.add_argument("--export-batches", type=int, default=None, help="batches for the priors")
    parser.add_argument("--phases", default="A,B,export",
                        help="A,B,export (default) or B,export: no further stage 1/2 training")
    args = parser.parse_args(argv)
    args.phases = tuple(p.strip() for p in args.phases.split(","))
    if args.phases not in (("A", "B", "export"), ("B", "export")):
        parser.error("--phases must be A,B,export or B,export")
    if not 0 < args.minutes <= 60:
        parser.error("--minutes must be in (0, 60]")
    summary = run(args)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
