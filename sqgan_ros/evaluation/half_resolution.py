"""Does SQ-GAN gain from "halve, code, upscale" as the classical codecs do at ~0.02 bpp?

::

    python -m sqgan_ros.evaluation.half_resolution [--model models/default.safetensors]
        [--targets 0.02 0.04] [--frames 12] [--out docs/evaluation/half_resolution]

For each held-out frame (synthetic test scenes with their labels; real held-out video frames
with the bundled segmenter's) and each target bpp (counted on the full-size frame):

    full   the codec at the model size (256x512): the largest keep ratio whose frame fits
    half   the frame downscaled 2x (INTER_AREA; labels nearest) and coded at 128x256 (the same
           networks on a 4x smaller latent grid), the largest keep that fits the same bytes,
           decoded and upscaled back with Lanczos

and reports LPIPS / PSNR of both against the full-size frame, with encode + decode CPU time.
It measures the trained model as it is (trained at full-size crops): a model trained for the
half size could do better, so "half wins" is a reason to train one, and "half loses" is not
proof that it never would.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write ``half_resolution.json`` and ``README.md``."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.evaluation.half_resolution",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--targets", type=float, nargs="+", default=(0.02, 0.04))
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("docs/evaluation/half_resolution"))
    args = parser.parse_args(argv)

    from sqgan_ros.api import SemanticDecoder, SemanticEncoder
    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.data.datasets import SyntheticStreetDataset
    from sqgan_ros.data.synthetic import render_scene
    from sqgan_ros.evaluation.metrics import LPIPSMetric, psnr
    from sqgan_ros.evaluation.roi import _frames as real_frames
    from sqgan_ros.evaluation.roi import largest_fitting_keep
    from sqgan_ros.segmentation.factory import make_segmenter

    loaded = load_model(args.model)
    h, w = loaded.config.image_size
    # the same networks and model id on a 4x smaller latent grid: the header's model size says so
    half = dataclasses.replace(loaded, config=dataclasses.replace(loaded.config, image_size=(h // 2, w // 2)))
    coders = {"full": (SemanticEncoder(loaded, "cpu"), SemanticDecoder(loaded, "cpu")),
              "half": (SemanticEncoder(half, "cpu"), SemanticDecoder(half, "cpu"))}
    lpips = LPIPSMetric("alexnet")
    segmenter = make_segmenter("bundled")
    ds = SyntheticStreetDataset(split="test", size=(h, w), length=args.frames)
    sets = {"synthetic": [render_scene(ds.scene_seed(i), (h, w)) for i in range(args.frames)],
            "real": [(f, np.asarray(segmenter.segment(f))) for f in real_frames(args.frames, (h, w))]}
    results: dict = {}
    for name, frames in sets.items():
        for target in args.targets:
            budget = int(target * h * w / 8)
            rows: dict[str, list[float]] = {k: [] for k in ("full_lpips", "full_psnr", "full_bytes", "full_keep",
                                                             "full_ms", "half_lpips", "half_psnr", "half_bytes",
                                                             "half_keep", "half_ms")}
            for image, labels in frames:
                small = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                small_labels = cv2.resize(labels, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
                for kind, img, lab in (("full", image, labels), ("half", small, small_labels)):
                    enc, dec = coders[kind]
                    data, keep = largest_fitting_keep(lambda r, e=enc, i=img, la=lab: e.encode(i, la, keep_ratio=r),
                                                      budget, steps=8, floor=1.0 / 1024)
                    t0 = time.process_time()
                    enc.encode(img, lab, keep_ratio=max(keep, 1.0 / 1024))
                    recon = dec.decode(data).image
                    ms = (time.process_time() - t0) * 1000.0
                    if recon.shape[:2] != (h, w):
                        recon = cv2.resize(recon, (w, h), interpolation=cv2.INTER_LANCZOS4)
                    rows[f"{kind}_lpips"].append(float(lpips(image[None], recon[None])[0]))
                    rows[f"{kind}_psnr"].append(float(psnr(image, recon)))
                    rows[f"{kind}_bytes"].append(len(data))
                    rows[f"{kind}_keep"].append(keep)
                    rows[f"{kind}_ms"].append(ms)
            results[f"{name}@{target:g}"] = {k: float(np.mean(v)) for k, v in rows.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "half_resolution.json").write_text(json.dumps({"model": loaded.short_id, "results": results},
                                                              indent=1) + "\n")
    art = (args.out / "half_resolution.json").as_posix()
    cols = {kind: "; ".join([f"{{{art}:results.[^@1].{kind}_lpips}}"] + [f"{{:results.[^@1].{kind}_{k}}}"
                                                                          for k in ("psnr", "bytes", "keep")])
            for kind in ("full", "half")}
    lines = ["<!-- table:", "1 = given", f"2 = {cols['full']}", f"3 = {cols['half']}",
             f"4 = {{{art}:results.[^@1].full_ms}}; {{:results.[^@1].half_ms}}", "-->",  # tools/docs_figures.py
             "| set @ bpp | full: LPIPS / PSNR dB / bytes / keep | half + Lanczos: LPIPS / PSNR dB / bytes / keep | "
             "CPU ms full / half |", "|---|---|---|---|"]
    for key, r in results.items():
        lines.append(f"| {key} | {r['full_lpips']:.3f} / {r['full_psnr']:.2f} / {r['full_bytes']:.0f} / "
                     f"{r['full_keep']:.2f} | {r['half_lpips']:.3f} / {r['half_psnr']:.2f} / {r['half_bytes']:.0f} / "
                     f"{r['half_keep']:.2f} | {r['full_ms']:.0f} / {r['half_ms']:.0f} |")
    cmd = " ".join(["python -m sqgan_ros.evaluation.half_resolution", *(argv if argv is not None else sys.argv[1:])])
    (args.out / "README.md").write_text(
        f"# SQ-GAN at half resolution + Lanczos against full resolution, same bytes\n\nModel `{loaded.short_id}`, "
        f"{args.frames} frames per set. Command: `{cmd}`. Method: `sqgan_ros/evaluation/half_resolution.py`.\n\n"
        + "\n".join(lines) + "\n")
    print("\n".join(line for line in lines if line.startswith("|")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
