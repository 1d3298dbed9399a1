"""Facts of the bundled model files that the docs quote, written to a JSON artifact.

    python -m sqgan_ros.tools.model_facts --out docs/evaluation/model_facts.json

Parameter counts, file sizes, latent grids and index bits of ``models/default.safetensors`` and the
segmenter's validation mIoU from ``models/segmenter.safetensors``' own metadata. The docs tie their
figures to this file (``sqgan_ros.tools.docs_figures``); rerun it when a model file changes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def codec_facts(path: Path) -> dict[str, Any]:
    """Size, parameters, id, latent grids and index bits of one codec model file."""
    from sqgan_ros.codec.model_file import load_model

    loaded = load_model(path)
    height, width = loaded.config.image_size
    branches = {}
    grid = loaded.config.grid(height, width)
    for name in ("semantic", "image"):
        cfg = getattr(loaded.config, name)
        branches[name] = {"grid": list(grid), "latents": grid[0] * grid[1], "codebook_size": cfg.codebook_size,
                          "index_bits": math.ceil(math.log2(cfg.codebook_size))}
    return {"file": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
            "file_mb": path.stat().st_size / 1e6, "model_id": loaded.model_id,
            "preset": loaded.config.name, "image_size": [height, width],
            "parameters": sum(p.numel() for p in loaded.model.parameters()), "branches": branches}


def segmenter_facts(path: Path) -> dict[str, Any]:
    """Parameters and the validation mIoU stored with the bundled segmenter."""
    from sqgan_ros.segmentation.bundled import load_segnet

    net, info = load_segnet(path)
    return {"file": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
            "parameters": sum(p.numel() for p in net.parameters()), "val_miou": info.get("val_miou"),
            "val_frames": info.get("val_frames")}


def main(argv: list[str] | None = None) -> int:
    """Write the facts JSON (``--out``) and print it."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.tools.model_facts",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default.safetensors")
    parser.add_argument("--segmenter", type=Path, default=REPO / "models" / "segmenter.safetensors")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    facts = {"codec": codec_facts(args.model.resolve()), "segmenter": segmenter_facts(args.segmenter.resolve())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(facts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
