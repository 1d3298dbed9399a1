"""``sqgan-train``: train SQ-GAN in three stages, then export the model with entropy priors.

    sqgan-train --config config/train/small.yaml [--stage 1|2|3|all] [--resume] [--out runs/NAME]
                [--max-steps N] [--device auto] [--init CHECKPOINT|MODEL_FILE]
    sqgan-train export --checkpoint runs/NAME/checkpoint --out models/default.safetensors [--batches N]
    sqgan-train merge --semantic runs/A/stage1 --image runs/B/stage2 --out runs/C/merged
    sqgan-train convert --model models/x.safetensors --out models/y.safetensors --weights-dtype int4

Multi-GPU / multi-node: ``torchrun --nproc-per-node G -m sqgan_ros.training.cli --config ...``
(same flags; rank 0 logs and saves).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path

import torch

from sqgan_ros.codec.model_file import WEIGHT_DTYPES
from sqgan_ros.data.config import DataConfig
from sqgan_ros.training.config import STAGES, load_config


def _train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sqgan-train", description="Train SQ-GAN (3 stages). "
                                     "Use `sqgan-train export ...` to write a model file.")
    parser.add_argument("--config", required=True, type=Path, help="training YAML (config/train/*.yaml)")
    parser.add_argument("--stage", default="all", choices=["1", "2", "3", "all"], help="stage(s) to run")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint")
    parser.add_argument("--state", type=Path, default=None,
                        help="committed training state (e.g. models/train_state/image): continue from "
                             "it when it exists, rewrite it at every checkpoint and when the run stops "
                             "(also on SIGINT/SIGTERM); needs one --stage")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this many minutes of training (the state is written)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default runs/<config name>)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N steps (smoke runs)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from these weights: a checkpoint (e.g. runs/x/stage1) or a model file "
                             "(e.g. models/default.safetensors, to fine-tune it on your footage)")
    return parser


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sqgan-train export",
                                     description="Measure entropy priors and write the model file.")
    parser.add_argument("--checkpoint", required=True, type=Path, help="training checkpoint")
    parser.add_argument("--out", required=True, type=Path, help="model file (.safetensors)")
    parser.add_argument("--batches", type=int, default=None, help="batches of statistics")
    parser.add_argument("--weights-dtype", default="float32", choices=list(WEIGHT_DTYPES),
                        help="storage of the weights (float16: 1/2 of the file, int8: 1/4, int4: ~1/6)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    return parser


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def train_main(argv: list[str]) -> int:
    """Parse training flags and run."""
    from sqgan_ros.data.training_set import build_dataset
    from sqgan_ros.training.checkpoint import CheckpointError, checkpoint_paths, load_initial_weights
    from sqgan_ros.training.distributed import cleanup_distributed, init_distributed
    from sqgan_ros.training.export import build_model
    from sqgan_ros.training.trainer import Trainer

    args = _train_parser().parse_args(argv)
    if args.max_steps is not None and args.max_steps < 1:
        raise SystemExit("--max-steps must be >= 1")
    config = load_config(args.config)
    out = args.out or Path("runs") / args.config.stem
    stages = STAGES if args.stage == "all" else (int(args.stage),)
    info = init_distributed(args.device)
    try:
        torch.manual_seed(config.seed)
        model = build_model(config)
        if args.init is not None:
            try:
                kind = load_initial_weights(args.init, model)
            except CheckpointError as exc:
                raise SystemExit(f"sqgan-train: {exc}") from None
            if info.is_main:
                print(f"initial weights: {kind} {args.init}")
        trainer = Trainer(config, model, build_dataset(stage_data(config.data, stages), config.seed + info.rank),
                          out, info)
        if args.state is not None:
            if len(stages) != 1 or args.resume:
                raise SystemExit("--state needs one --stage and no --resume")
            try:
                meta = trainer.use_state(args.state, stages[0])
            except (CheckpointError, ValueError) as exc:
                raise SystemExit(f"sqgan-train: {exc}") from None
            if info.is_main:
                print(f"training state {args.state}: " + (
                    f"continuing stage {meta.stage} at step {meta.step}" if meta else "none yet, starting"))
        elif args.resume:
            if not checkpoint_paths(trainer.checkpoint_path())[1].is_file():
                raise SystemExit(f"--resume: no checkpoint in {out}")
            trainer.load()
        elif stages[0] != 1:
            trainer.start_stage(stages[0])
        if args.minutes is not None:
            trainer.deadline = time.monotonic() + 60.0 * args.minutes
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            logs = trainer.fit(stages, args.max_steps)
        except KeyboardInterrupt:
            logs = {}
            if info.is_main:
                print(f"interrupted at stage {trainer.stage} step {trainer.step}")
        finally:
            signal.signal(signal.SIGTERM, previous)
            trainer.save_state()
        if info.is_main:
            print(f"stage {trainer.stage} step {trainer.step}: " +
                  ", ".join(f"{k}={v:.4g}" for k, v in sorted(logs.items())))
    finally:
        cleanup_distributed()
    return 0


def export_main(argv: list[str]) -> int:
    """Parse export flags and write the model file."""
    from sqgan_ros.training.distributed import resolve_device
    from sqgan_ros.training.export import export_model

    args = _export_parser().parse_args(argv)
    path = export_model(args.checkpoint, args.out, args.batches, resolve_device(args.device),
                        weights_dtype=args.weights_dtype)
    print(f"model written to {path}")
    return 0


def merge_main(argv: list[str]) -> int:
    """Parse merge flags and write the merged checkpoint."""
    from sqgan_ros.training.merge import merge_branches

    parser = argparse.ArgumentParser(prog="sqgan-train merge",
                                     description="Semantic branch of one run + image branch of another.")
    parser.add_argument("--semantic", required=True, type=Path, help="checkpoint with the trained semantic branch")
    parser.add_argument("--image", required=True, type=Path, help="checkpoint with the trained image branch")
    parser.add_argument("--out", required=True, type=Path, help="merged checkpoint base path")
    args = parser.parse_args(argv)
    print(f"merged checkpoint written to {merge_branches(args.semantic, args.image, args.out)}")
    return 0


def convert_main(argv: list[str]) -> int:
    """Parse convert flags and re-store a model file's weights."""
    from sqgan_ros.codec.model_file import convert_model_file

    parser = argparse.ArgumentParser(prog="sqgan-train convert",
                                     description="Store a model file's weights in another format.")
    parser.add_argument("--model", required=True, type=Path, help="source model file")
    parser.add_argument("--out", required=True, type=Path, help="model file to write")
    parser.add_argument("--weights-dtype", required=True, choices=list(WEIGHT_DTYPES))
    args = parser.parse_args(argv)
    model_id = convert_model_file(args.model, args.out, args.weights_dtype)
    print(f"model {model_id[:16]} written to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


#: Largest share of segmenter-labelled real samples in a stage-1 run (:func:`stage_data`).
STAGE1_REAL_SHARE = 0.3


def stage_data(data: DataConfig, stages: tuple[int, ...]) -> DataConfig:
    """The data of a stage-1-only run: labelled samples, mostly synthetic scenes.

    Stage 1's loss is the cross-entropy of labelled samples; unlabelled real frames and photo
    crops would spend most of its steps (and codebook updates) on all-'unlabelled' maps, so
    without ``real_labels`` the run sees synthetic scenes alone. With ``real_labels: segmenter``
    the segmenter's maps of real frames stay in, at most 30 % (split like the configured mix):
    the branch must code them at run time, but their messy maps would otherwise crowd out the
    scene layouts it learns from the synthetic ones. Other runs keep ``data``.
    """
    if stages != (1,) or data.cityscapes_root:
        return data
    if data.real_labels == "none":
        return dataclasses.replace(data, synthetic_ratio=1.0, photo_library_ratio=0.0)
    real = 1.0 - data.synthetic_ratio
    if real <= STAGE1_REAL_SHARE:
        return data
    return dataclasses.replace(data, synthetic_ratio=1.0 - STAGE1_REAL_SHARE,
                               photo_library_ratio=data.photo_library_ratio * STAGE1_REAL_SHARE / real)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sqgan-train``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return export_main(argv[1:])
    if argv and argv[0] == "merge":
        return merge_main(argv[1:])
    if argv and argv[0] == "convert":
        return convert_main(argv[1:])
    return train_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
