r"""A picture of what a model does: original | reconstruction | decoded semantic map, per scene.

::

    python -m sqgan_ros.evaluation.showcase --model models/default.safetensors \
        --keep 0.1 0.25 --scenes 3 --out docs/images/default_model_synthetic.jpg

Rows are synthetic test scenes (seeds of the test split, never trained on); for each keep ratio
the row shows the reconstruction and the decoded semantic map next to the original, with the
frame's bits per pixel and PSNR in the caption. The transmitter is given the bundled
segmenter's labels, as on the robot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.evaluation.metrics import psnr
from sqgan_ros.labels import colourise

__all__ = ["showcase", "main"]


def _caption(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def showcase(model: str | Path, keep_ratios: list[float], scenes: int = 3,
             first_seed_offset: int = 0) -> np.ndarray:
    """The figure as an RGB uint8 array.

    Args:
        model: model file.
        keep_ratios: keep ratios shown side by side.
        scenes: number of synthetic test scenes (rows).
        first_seed_offset: index of the first scene in the test split.
    """
    from sqgan_ros.data.splits import SPLIT_SEEDS
    from sqgan_ros.data.synthetic import render_scene
    from sqgan_ros.segmentation import make_segmenter

    enc = SemanticEncoder(model, "cpu")
    dec = SemanticDecoder(enc.loaded, "cpu")
    segmenter = make_segmenter("bundled", device="cpu")
    size = tuple(enc.loaded.config.image_size)
    rows = []
    for i in range(scenes):
        image, _ = render_scene(SPLIT_SEEDS["test"] + first_seed_offset + i, size)
        labels = segmenter.segment(image)
        tiles = [_caption(image, "original")]
        for ratio in keep_ratios:
            data = enc.encode(image, labels, keep_ratio=ratio)
            frame = dec.decode(data)
            bpp = 8.0 * len(data) / (size[0] * size[1])
            tiles.append(_caption(frame.image, f"keep {ratio:g}: {bpp:.3f} bpp, {psnr(image, frame.image):.1f} dB"))
            tiles.append(_caption(colourise(frame.labels), f"decoded semantic map, keep {ratio:g}"))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--keep", type=float, nargs="+", default=[0.1, 0.25])
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--offset", type=int, default=0, help="first test-split scene")
    parser.add_argument("--scale", type=float, default=0.75, help="resize the figure by this factor")
    parser.add_argument("--out", required=True, help="image file (.jpg / .png)")
    args = parser.parse_args(argv)
    figure = showcase(args.model, args.keep, args.scenes, args.offset)
    if args.scale != 1.0:
        figure = cv2.resize(figure, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_AREA)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if str(args.out).lower().endswith((".jpg", ".jpeg")) else []
    if not cv2.imwrite(str(args.out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR), params):
        raise SystemExit(f"could not write {args.out}")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
