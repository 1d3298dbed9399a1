"""Does sending "unlabelled" where the segmenter is unsure stop the codec painting wrong classes?

::

    python -m sqgan_ros.evaluation.uncertain_labels [--model models/default.safetensors]
        [--thresholds 0 0.5 0.7 0.9] [--keep 0.25] [--out docs/evaluation/uncertain_labels]
        [--figure docs/images/uncertain_labels.png]

The bundled segmenter has seen synthetic street scenes only; on faces, indoor and grey footage
its guesses are often wrong, and the codec then spends class-weighted bits and paints class
texture (SPADE) where the guess points. ``segmenter_min_confidence`` turns pixels whose top class
probability is below a threshold into ``unlabelled`` before encoding. For each threshold and set,
at one keep ratio for both branches, this reports LPIPS / PSNR of the decoded frame, its bytes,
the share of pixels turned unlabelled, and the PSNR inside exactly those pixels (the region
whose texture the setting changes) against the same pixels with every guess kept (threshold 0):

    synthetic       held-out synthetic street scenes (the segmenter's own domain: the cost)
    real            held-out frames of the street videos (vtest, bikes)
    out_of_domain   never-trained pictures with faces, indoor scenes and grey cameras
                    (opencv-doc: messi5, basketball1, left01, rubberwhale1, squirrel_cls, a
                    Megamind.avi frame) and grey versions of held-out street frames

The figure shows three out-of-domain pictures: original | map and decode with every guess |
map and decode with the chosen threshold (``--figure-threshold``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

__all__ = ["main", "out_of_domain_frames", "masked_psnr"]

#: Never-trained opencv-doc pictures: people and faces, indoor scenes, grey cameras.
OUT_OF_DOMAIN_PHOTOS = ("messi5.jpg", "basketball1.png", "left01.jpg", "rubberwhale1.png", "squirrel_cls.jpg")
OUT_OF_DOMAIN_VIDEO_FRAMES = (("Megamind.avi", 100),)
FIGURE_PICTURES = ("messi5.jpg", "basketball1.png", "Megamind.avi")


def _fit(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale to cover ``size`` and centre-crop; returns RGB uint8."""
    h, w = bgr.shape[:2]
    scale = max(size[0] / h, size[1] / w)
    small = cv2.resize(bgr, (max(size[1], round(w * scale)), max(size[0], round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y, x = (small.shape[0] - size[0]) // 2, (small.shape[1] - size[1]) // 2
    return np.ascontiguousarray(small[y:y + size[0], x:x + size[1], ::-1])


def out_of_domain_frames(size: tuple[int, int], grey_from: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """``(name, RGB frame)`` of the out-of-domain set; ``grey_from`` frames are added in grey."""
    from sqgan_ros.data.synthetic.textures import OPENCV_DOC_DATA

    out = []
    for name in OUT_OF_DOMAIN_PHOTOS:
        bgr = cv2.imread(str(OPENCV_DOC_DATA / name), cv2.IMREAD_COLOR)
        if bgr is not None:
            out.append((name, _fit(bgr, size)))
    for name, index in OUT_OF_DOMAIN_VIDEO_FRAMES:
        cap = cv2.VideoCapture(str(OPENCV_DOC_DATA / name))
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        cap.release()
        if ok:
            out.append((name, _fit(bgr, size)))
    for i, rgb in enumerate(grey_from):
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        out.append((f"grey street frame {i}", np.repeat(grey[:, :, None], 3, axis=2)))
    return out


def masked_psnr(reference: np.ndarray, image: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, peak 255) over the pixels where ``mask`` is True; NaN for an empty mask."""
    if not mask.any():
        return float("nan")
    diff = reference.astype(np.float64)[mask] - image.astype(np.float64)[mask]
    mse = float(np.mean(diff ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def _figure(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    from sqgan_ros.labels import PALETTE

    palette = np.asarray(PALETTE, dtype=np.uint8)
    tiles = []
    for original, lab0, rec0, lab1, rec1 in rows:
        tiles.append(np.hstack([original, palette[lab0], rec0, palette[lab1], rec1]))
    grid = np.vstack(tiles)
    small = cv2.resize(grid, (grid.shape[1] // 2, grid.shape[0] // 2), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), small[:, :, ::-1])


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; write ``results.json`` and ``README.md`` (and the figure)."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.evaluation.uncertain_labels",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--thresholds", type=float, nargs="+", default=(0.0, 0.5, 0.7, 0.9))
    parser.add_argument("--keep", type=float, default=0.25)
    parser.add_argument("--frames", type=int, default=8, help="synthetic and real frames per set")
    parser.add_argument("--out", type=Path, default=Path("docs/evaluation/uncertain_labels"))
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--figure-threshold", type=float, default=0.7)
    args = parser.parse_args(argv)
    if 0.0 not in args.thresholds:
        parser.error("--thresholds must include 0 (every guess kept: the reference)")

    from sqgan_ros.api import SemanticDecoder, SemanticEncoder
    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.data.datasets import SyntheticStreetDataset
    from sqgan_ros.data.synthetic import render_scene
    from sqgan_ros.evaluation.metrics import LPIPSMetric, psnr
    from sqgan_ros.evaluation.roi import _frames as real_frames
    from sqgan_ros.labels import UNLABELLED
    from sqgan_ros.segmentation.bundled import BundledSegmenter

    loaded = load_model(args.model)
    size = tuple(loaded.config.image_size)
    enc, dec = SemanticEncoder(loaded, "cpu"), SemanticDecoder(loaded, "cpu")
    lpips = LPIPSMetric("alexnet")
    segmenter = BundledSegmenter()
    ds = SyntheticStreetDataset(split="test", size=size, length=args.frames)
    real = real_frames(args.frames, size)
    sets = {"synthetic": [(f"scene {i}", render_scene(ds.scene_seed(i), size)[0]) for i in range(args.frames)],
            "real": [(f"street frame {i}", f) for i, f in enumerate(real)],
            "out_of_domain": out_of_domain_frames(size, real[:3])}
    thresholds = sorted(set(args.thresholds))
    results: dict = {}
    frame_names: dict[str, list[str]] = {}
    figure_rows: dict[str, list] = {}
    for set_name, frames in sets.items():
        per_t: dict[float, dict[str, list[float]]] = {t: {"lpips": [], "psnr": [], "bytes": [], "unlabelled": [],
                                                          "unsure_psnr": [], "unsure_psnr_all_guesses": []}
                                                      for t in thresholds}
        for name, image in frames:
            decoded = {}
            for t in thresholds:
                segmenter.min_confidence = t
                labels = segmenter.segment(image)
                data = enc.encode(image, labels, keep_ratio=args.keep)
                out = dec.decode(data)
                decoded[t] = (labels, out.image)
                row = per_t[t]
                row["lpips"].append(float(lpips(image[None], out.image[None])[0]))
                row["psnr"].append(float(psnr(image, out.image)))
                row["bytes"].append(len(data))
                row["unlabelled"].append(float(np.mean(labels == UNLABELLED)))
            for t in thresholds[1:]:
                unsure = (decoded[t][0] == UNLABELLED) & (decoded[0.0][0] != UNLABELLED)
                per_t[t]["unsure_psnr"].append(masked_psnr(image, decoded[t][1], unsure))
                per_t[t]["unsure_psnr_all_guesses"].append(masked_psnr(image, decoded[0.0][1], unsure))
            if set_name == "out_of_domain" and (name in FIGURE_PICTURES) and args.figure_threshold in decoded:
                figure_rows[name] = [image, decoded[0.0][0], decoded[0.0][1], *decoded[args.figure_threshold]]
        for t, row in per_t.items():
            results[row_key(set_name, t)] = {k: (float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else None)
                                             for k, v in row.items()}
        frame_names[set_name] = [name for name, _ in frames]
    args.out.mkdir(parents=True, exist_ok=True)
    artifact = args.out / "results.json"
    artifact.write_text(json.dumps({"model": loaded.short_id, "keep": args.keep, "frames": frame_names,
                                    "results": results}, indent=1) + "\n")
    if args.figure is not None and figure_rows:
        _figure([figure_rows[n] for n in FIGURE_PICTURES if n in figure_rows], args.figure)
    _write_readme(args, argv, loaded.short_id, results, thresholds, artifact)
    return 0


def row_key(set_name: str, threshold: float) -> str:
    """``real-t50``: a set and a threshold in hundredths (a key without dots, for docs markers)."""
    return f"{set_name}-t{round(threshold * 100):02d}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _write_readme(args: argparse.Namespace, argv: list[str] | None, model: str, results: dict,
                  thresholds: list[float], artifact: Path) -> None:
    art = artifact.as_posix()
    lines = ["<!-- table:",
             f"2 = {{{art}:results.[^@1].lpips}}; {{:results.[^@1].psnr}}; {{:results.[^@1].bytes}}",
             "3 = {:results.[^@1].unlabelled}",
             "4 = {:results.[^@1].unsure_psnr_all_guesses}; {:results.[^@1].unsure_psnr}", "-->",
             "| set-threshold | LPIPS / PSNR dB / bytes | share unlabelled | PSNR dB in the pixels turned "
             "unlabelled: every guess / this threshold |", "|---|---|---|---|"]
    for key, r in results.items():
        lines.append(f"| {key} | {r['lpips']:.3f} / {r['psnr']:.2f} / {r['bytes']:.0f} | "
                     f"{r['unlabelled']:.3f} | {_fmt(r['unsure_psnr_all_guesses'], '.2f')} / "
                     f"{_fmt(r['unsure_psnr'], '.2f')} |")
    cmd = " ".join(["python -m sqgan_ros.evaluation.uncertain_labels", *(argv if argv is not None else sys.argv[1:])])
    figure = (f"\n\n![original | every guess: map, decode | threshold {args.figure_threshold:g}: map, decode]"
              f"({os.path.relpath(args.figure, args.out)})\n" if args.figure is not None else "\n")
    (args.out / "README.md").write_text(
        f"# Unsure segmenter pixels sent as 'unlabelled'\n\nModel `{model}`, keep ratio {args.keep:g} on both "
        f"branches, bundled segmenter; `tNN` = `segmenter_min_confidence` NN/100 (t00: every guess kept). "
        f"Command: `{cmd}`. Method: `sqgan_ros/evaluation/uncertain_labels.py`.\n\n" + "\n".join(lines) + figure)
    print("\n".join(line for line in lines if line.startswith("|")))


if __name__ == "__main__":
    sys.exit(main())
