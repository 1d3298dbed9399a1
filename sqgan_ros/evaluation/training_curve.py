"""Held-out quality of the long training run against the samples it has seen: one CSV row per call.

::

    python -m sqgan_ros.evaluation.training_curve [--state models/train_state] [--init models/default.safetensors]
        [--config config/train/v2_cpu.yaml] [--csv docs/evaluation/training_curve.csv] [--baseline]

The committed training states (``models/train_state/{semantic,image}``) are loaded over the
``--init`` weights into the run's preset and measured at keep 0.25 on frames never trained on:

    synthetic   12 labelled test scenes (seeds disjoint from training), full 256x512 frames:
                image-branch LPIPS / PSNR with the true labels (stage 2's condition), and the
                semantic branch's decoded-map mIoU against those labels
    real        12 held-out frames of the real videos (every 10th frame) with the bundled
                segmenter's labels: image-branch LPIPS / PSNR
    photos      the photo library's held-out photos (every 7th), centre 256x512 crops: LPIPS

``*_decoded_map_lpips`` decode as the codec does: SPADE gets the semantic branch's decoded map
(keep 0.25) instead of the labels SAMM saw. An older CSV is rewritten with the new columns empty.

``--baseline`` measures the ``--init`` model itself (samples 0). The network forward is used
(no entropy coding: the bits do not change what the decoder sees), so a row costs about a
minute on two cores. The CSV's samples columns are the states' ``samples_seen``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

__all__ = ["COLUMNS", "measure", "main", "upgrade_csv"]

COLUMNS = ("date", "model", "semantic_samples", "image_samples", "keep", "synthetic_lpips", "synthetic_psnr",
           "synthetic_decoded_miou", "real_lpips", "real_psnr", "photos_lpips", "periodic_db",
           "synthetic_decoded_map_lpips", "real_decoded_map_lpips")
KEEP = 0.25
SIZE = (256, 512)


def _frames() -> dict[str, tuple[list[np.ndarray], list[np.ndarray] | None]]:
    from sqgan_ros.data.datasets import SyntheticStreetDataset
    from sqgan_ros.data.footage import find_real_footage, split_frames
    from sqgan_ros.data.photo_library import installed_photos
    from sqgan_ros.data.synthetic import render_scene

    ds = SyntheticStreetDataset(split="test", size=SIZE, length=12)
    synth = [render_scene(ds.scene_seed(i), SIZE) for i in range(12)]
    real = []
    for video in find_real_footage().videos:
        cap = cv2.VideoCapture(str(video))
        held_out = split_frames(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), "eval")
        for frame in [held_out[i] for i in np.linspace(0, len(held_out) - 1, 6).astype(int)]:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(frame))
            ok, bgr = cap.read()
            if ok:
                real.append(cv2.resize(bgr, SIZE[::-1], interpolation=cv2.INTER_AREA)[:, :, ::-1].copy())
        cap.release()
    photos = []
    for photo in installed_photos("test"):
        bgr = cv2.imread(photo.path, cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        scale = SIZE[1] / min(w, h * 2)
        small = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        y, x = (small.shape[0] - SIZE[0]) // 2, (small.shape[1] - SIZE[1]) // 2
        photos.append(small[y:y + SIZE[0], x:x + SIZE[1], ::-1].copy())
    return {"synthetic": ([s[0] for s in synth], [s[1] for s in synth]), "real": (real, None), "photos": (photos, None)}


@torch.no_grad()
def measure(model: torch.nn.Module) -> dict[str, float]:
    """The curve's metrics for ``model`` (an SQGAN in eval mode)."""
    from sqgan_ros.evaluation.metrics import LPIPSMetric, miou, psnr
    from sqgan_ros.evaluation.periodic import periodic_artefact
    from sqgan_ros.segmentation.factory import make_segmenter

    lpips = LPIPSMetric("alexnet")
    segmenter = make_segmenter("bundled")
    out: dict[str, float] = {}
    periodic = []
    for name, (images, labels) in _frames().items():
        if not images:
            out[f"{name}_lpips"] = out[f"{name}_psnr"] = float("nan")
            continue
        if labels is None:
            labels = [np.asarray(segmenter.segment(im)) for im in images]
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
        lab = torch.from_numpy(np.stack(labels).astype(np.int64))
        recon, recon_decoded = [], []
        for i in range(0, len(images), 4):
            recon.append(model.image(x[i:i + 4], lab[i:i + 4], lab[i:i + 4], KEEP).image.clamp(0, 1))
            if name != "photos":
                s_hat = model.semantic(lab[i:i + 4], KEEP).logits.argmax(1)
                recon_decoded.append(model.image(x[i:i + 4], lab[i:i + 4], s_hat, KEEP).image.clamp(0, 1))
        rec = (torch.cat(recon).permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
        ref = np.stack(images)
        if recon_decoded:
            rec_d = (torch.cat(recon_decoded).permute(0, 2, 3, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
            out[f"{name}_decoded_map_lpips"] = float(np.mean(lpips(ref, rec_d)))
        out[f"{name}_lpips"] = float(np.mean(lpips(ref, rec)))
        out[f"{name}_psnr"] = float(np.mean(psnr(ref, rec)))
        periodic += [periodic_artefact(a, b).db for a, b in zip(ref, rec)]
        if name == "synthetic":
            decoded = torch.cat([model.semantic(lab[i:i + 4], KEEP).logits.argmax(1) for i in range(0, len(images), 4)])
            out["synthetic_decoded_miou"] = miou(np.stack(labels), decoded.numpy()).miou
    out["periodic_db"] = float(np.mean(periodic))
    return out


def upgrade_csv(path: Path) -> bool:
    """Rewrite a curve CSV written with fewer columns under :data:`COLUMNS` (new cells empty).

    Returns True when it was rewritten. A column the CSV has and COLUMNS lacks is an error.
    """
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows, columns = list(reader), list(reader.fieldnames or [])
    if columns == list(COLUMNS):
        return False
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"{path}: columns {unknown} are not curve columns")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)
    return True


def _load(args: argparse.Namespace) -> tuple[torch.nn.Module, str, int, int]:
    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.training.checkpoint import load_initial_weights, load_train_state
    from sqgan_ros.training.config import load_config
    from sqgan_ros.training.export import build_model

    if args.baseline:
        loaded = load_model(args.init)
        return loaded.model, f"{args.init.name} ({loaded.short_id})", 0, 0
    model = build_model(load_config(args.config))
    load_initial_weights(args.init, model)
    samples = {}
    for branch in ("semantic", "image"):
        path = args.state / branch
        samples[branch] = 0
        if path.with_suffix(".json").is_file():
            samples[branch] = int(load_train_state(path, model).extra.get("samples_seen", 0))
    return model.eval(), f"{args.config.stem} state", samples["semantic"], samples["image"]


def main(argv: list[str] | None = None) -> int:
    """Measure and append one row."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.evaluation.training_curve",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--state", type=Path, default=Path("models/train_state"))
    parser.add_argument("--init", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--config", type=Path, default=Path("config/train/v2_cpu.yaml"))
    parser.add_argument("--csv", type=Path, default=Path("docs/evaluation/training_curve.csv"))
    parser.add_argument("--baseline", action="store_true", help="measure the --init model itself")
    parser.add_argument("--plot", type=Path, default=None,
                        help="only draw the CSV's curve into this PNG (no measurement)")
    args = parser.parse_args(argv)
    if args.plot is not None:
        from sqgan_ros.evaluation.plots import training_curve_plot

        with args.csv.open(newline="", encoding="utf-8") as f:
            print(training_curve_plot(list(csv.DictReader(f)), args.plot))
        return 0
    model, name, sem, img = _load(args)
    row = {"date": time.strftime("%Y-%m-%d %H:%M"), "model": name, "semantic_samples": sem, "image_samples": img,
           "keep": KEEP, **{k: f"{v:.4f}" for k, v in measure(model).items()}}
    new = not args.csv.is_file()
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    if not new:
        upgrade_csv(args.csv)
    with args.csv.open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    print(", ".join(f"{k}={row.get(k, '')}" for k in COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
