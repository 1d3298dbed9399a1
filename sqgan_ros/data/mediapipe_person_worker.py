"""Person probability maps from MediaPipe's selfie-segmentation model; runs in its own venv.

This file is a script for the separate interpreter that :mod:`sqgan_ros.data.person_masks` sets up
(``.cache/mediapipe-venv``: mediapipe 0.10.21 needs numpy<2). It imports nothing from sqgan_ros.

    python mediapipe_person_worker.py --frames DIR --out DIR [--model 0|1] [--zoom 1 2]

For every ``*.png`` RGB frame in ``--frames`` it writes ``--out/<same name>.png``: the person
probability as uint8 (0..255 = p 0..1), same size as the frame. The model (the legacy
``mediapipe.solutions.selfie_segmentation`` graph with the ``selfie_segmentation.tflite`` the
wheel ships; 0 = "general", 256x256 input; 1 = "landscape", 144x256) is run on square windows:

* zoom 1: windows of the frame's height, side by side with overlap, covering the whole width;
* zoom z > 1: windows of height/z (so a person z times smaller fills the model's input the same).

Within a zoom, overlapping windows are averaged; across zooms the maximum is kept (small people
show up only in the zoomed windows; large ones in the unzoomed ones).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np


def windows(length: int, side: int) -> list[int]:
    """Start offsets of windows of ``side`` covering ``0..length`` with at least 25 % overlap."""
    if side >= length:
        return [0]
    count = math.ceil((length - side) / (0.75 * side)) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def person_probability(segment, rgb: np.ndarray, zooms: list[float]) -> np.ndarray:
    """Per-pixel person probability (float32, HxW) of an RGB uint8 frame."""
    height, width = rgb.shape[:2]
    best = np.zeros((height, width), np.float32)
    for zoom in zooms:
        side = max(16, min(height, width, round(height / zoom)))
        total = np.zeros((height, width), np.float32)
        count = np.zeros((height, width), np.float32)
        for top in windows(height, side):
            for left in windows(width, side):
                tile = np.ascontiguousarray(rgb[top:top + side, left:left + side])
                mask = segment.process(tile).segmentation_mask
                if mask is None:
                    raise RuntimeError("mediapipe returned no segmentation mask")
                total[top:top + side, left:left + side] += np.asarray(mask, np.float32)
                count[top:top + side, left:left + side] += 1.0
        np.maximum(best, total / np.maximum(count, 1.0), out=best)
    return np.clip(best, 0.0, 1.0)


def main(argv: list[str] | None = None) -> int:
    """Command line: write one probability PNG per frame; prints a JSON summary line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=Path, required=True, help="folder of RGB *.png frames")
    p.add_argument("--out", type=Path, required=True, help="folder for the probability PNGs")
    p.add_argument("--model", type=int, default=0, choices=(0, 1), help="0 general (256x256), 1 landscape")
    p.add_argument("--zoom", type=float, nargs="+", default=[1.0, 2.0], help="window zooms (>= 1)")
    args = p.parse_args(argv)
    if any(z < 1.0 for z in args.zoom):
        p.error("--zoom values must be >= 1")
    import mediapipe as mp

    frames = sorted(args.frames.glob("*.png"))
    if not frames:
        p.error(f"no *.png frames in {args.frames}")
    args.out.mkdir(parents=True, exist_ok=True)
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=args.model) as segment:
        for i, path in enumerate(frames, 1):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise SystemExit(f"cannot read {path}")
            prob = person_probability(segment, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), args.zoom)
            cv2.imwrite(str(args.out / path.name), np.round(prob * 255.0).astype(np.uint8))
            if i % 100 == 0:
                print(f"{i}/{len(frames)} frames", file=sys.stderr, flush=True)
    print(json.dumps({"mediapipe": mp.__version__, "frames": len(frames), "model": args.model,
                      "zoom": args.zoom}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
