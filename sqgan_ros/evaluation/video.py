r"""The video evaluator: SQ-GAN intra-only vs INTER frames (with and without feedback) vs x264/x265.

::

    python -m sqgan_ros.evaluation.video --model models/default.safetensors \
        --sources vtest,street --frames 200 --keep 0.05,0.1,0.2,0.4 --loss 0,0.2 \
        --x265-kbps 10,34 --out runs/video_eval.json

For each source (``vtest``: opencv-doc's vtest.avi, by default its held-out frames, every
``holdout_every``-th frame, as the training split leaves them out; ``street``: a synthetic
:class:`StreetSequence` with ground-truth labels) and each keep ratio (the per-frame latent
budget) it runs:

* ``intra``: every frame an INTRA frame (``SemanticEncoder``);
* ``inter-ack``: :class:`VideoEncoder` with acknowledgements delivered ``ack_delay`` frames later;
* ``inter-oneway``: no feedback, references are the periodic INTRA frames;

each at every loss rate (i.i.d. whole-frame loss, the same pattern for every codec; a viewer
shows the last decoded frame when a frame is lost or refused), plus x264 and x265 (veryfast,
zerolatency, GOP 20, no B-frames: what a teleop user would configure) at the given bitrates. It
reports bits per frame, PSNR, LPIPS, important-class PSNR (person, rider, car, traffic light and
sign pixels of the reference labels) and the segmenter's mIoU on what the viewer shows against
the reference labels (ground truth for ``street``; the segmenter's labels of the original frames
for ``vtest``), their means, and for each INTER run the bit saving against the intra-only curve
at equal LPIPS (intra bits interpolated at the INTER run's mean LPIPS). Results go to a JSON
file; a summary table is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.api import SemanticDecoder, SemanticEncoder
from sqgan_ros.bitstream import BitstreamError, FrameType
from sqgan_ros.codec.model_file import LoadedModel, load_model
from sqgan_ros.evaluation.baselines_video import VideoSettings, drop_frames, hold_last_frame, run_video_baseline
from sqgan_ros.evaluation.metrics import class_mask, confusion_matrix, masked_psnr, miou_from_confusion, psnr
from sqgan_ros.video.codec import VideoDecoder, VideoEncoder
from sqgan_ros.video.policy import VideoConfig

__all__ = ["RunResult", "load_vtest", "load_street", "run_intra", "run_video", "run_x265",
           "equal_quality_saving", "main"]


@dataclass
class RunResult:
    """One codec run over one sequence.

    Args:
        name: run name (``intra``, ``inter-ack``, ``inter-oneway``, ``x265``).
        source: sequence name.
        setting: keep ratio (SQ-GAN) or target kbit/s (x265).
        loss: frame-loss rate.
        bits: bits sent per frame.
        frame_types: "I"/"P" per frame ("-" unknown).
        shown: whether each frame was decoded fresh (False: the viewer held an older frame).
        psnr: PSNR (dB) per frame of what the viewer shows.
        lpips: LPIPS per frame (empty when not measured).
        important_psnr: PSNR (dB) over the important-class pixels per frame (NaN: none in frame).
        seg_miou: segmenter mIoU (%) over the whole sequence (NaN: not measured).
    """

    name: str
    source: str
    setting: float
    loss: float
    bits: list[int]
    frame_types: list[str]
    shown: list[bool]
    psnr: list[float] = field(default_factory=list)
    lpips: list[float] = field(default_factory=list)
    important_psnr: list[float] = field(default_factory=list)
    seg_miou: float = math.nan

    def summary(self, fps: float) -> dict:
        """Means over the sequence (kbit/s at ``fps``)."""
        bits = np.asarray(self.bits, float)
        return {"name": self.name, "source": self.source, "setting": self.setting,
                "loss": self.loss, "bits_per_frame": float(bits.mean()),
                "kbps": float(bits.mean() * fps / 1000.0),
                "intra_frames": self.frame_types.count("I"),
                "fresh_frames": int(sum(self.shown)),
                "psnr": float(np.mean(self.psnr)) if self.psnr else math.nan,
                "lpips": float(np.mean(self.lpips)) if self.lpips else math.nan,
                "important_psnr": (float(np.nanmean(self.important_psnr))
                                   if np.isfinite(self.important_psnr).any() else math.nan),
                "seg_miou": self.seg_miou}


# ------------------------------------------------------------------------------ sources
def load_vtest(size: tuple[int, int], frames: int, holdout_every: int = 10,
               held_out: bool = True, path: str | Path | None = None) -> list[np.ndarray]:
    """Frames of vtest.avi resized to ``size`` (H, W), RGB uint8.

    Args:
        size: output (H, W).
        frames: at most this many frames.
        holdout_every: the training split holds out every ``holdout_every``-th frame.
        held_out: True: only held-out frames (a sequence ``holdout_every`` times faster than
            the camera); False: consecutive frames from the start (some were trained on).
        path: the video (default: ``find_real_footage()``'s vtest.avi).
    """
    if path is None:
        from sqgan_ros.data.footage import find_real_footage
        found = [p for p in find_real_footage().videos if p.name == "vtest.avi"]
        if not found:
            raise FileNotFoundError("vtest.avi not found (install opencv-doc)")
        path = found[0]
    capture = cv2.VideoCapture(str(path))
    out: list[np.ndarray] = []
    index = 0
    try:
        while len(out) < frames:
            ok, bgr = capture.read()
            if not ok:
                break
            if not held_out or index % holdout_every == 0:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                out.append(cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA))
            index += 1
    finally:
        capture.release()
    if not out:
        raise ValueError(f"no frames read from {path}")
    return out


def load_street(size: tuple[int, int], frames: int, seed: int = 7,
                speed: float | None = 6.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A synthetic street drive at 10 fps: (images, ground-truth labels).

    Args:
        size: frame (H, W).
        frames: number of frames.
        seed: world seed (the synthetic test split starts far from training seeds only for
            still frames; any seed gives unseen motion).
        speed: camera speed in m/s (None: drawn from the seed).
    """
    from sqgan_ros.data.synthetic.sequence import StreetSequence
    seq = StreetSequence(seed, size=size, speed=speed, fps=10.0)
    pairs = [seq.render(i) for i in range(frames)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


# ------------------------------------------------------------------------------ runs
def run_intra(loaded: LoadedModel, images: list[np.ndarray], labels: list[np.ndarray | None],
              keep: float, received: np.ndarray, source: str = "",
              class_weights: dict[str, float] | None = None) -> tuple[RunResult, list[np.ndarray]]:
    """Every frame INTRA. Returns the result (no metrics yet) and the frames the viewer shows."""
    enc, dec = SemanticEncoder(loaded, "cpu"), SemanticDecoder(loaded, "cpu")
    bits, out = [], []
    for t, (image, lab) in enumerate(zip(images, labels)):
        data = enc.encode(image, lab, keep_ratio=keep, class_weights=class_weights, frame_id=t)
        bits.append(8 * len(data))
        out.append(dec.decode(data).image if received[t] else None)
    result = RunResult("intra", source, keep, float(1 - received.mean()), bits, ["I"] * len(bits),
                       [o is not None for o in out])
    return result, hold_last_frame(out, fill=np.zeros_like(images[0]))


def run_video(loaded: LoadedModel, images: list[np.ndarray], labels: list[np.ndarray | None],
              keep: float, received: np.ndarray, config: VideoConfig, ack_delay: int = 1,
              source: str = "", name: str = "inter",
              class_weights: dict[str, float] | None = None) -> tuple[RunResult, list[np.ndarray]]:
    """INTER coding; acks (when ``config.feedback``) reach the encoder ``ack_delay`` frames later.

    Returns:
        The result (no metrics yet) and the frames the viewer shows.
    """
    if ack_delay < 1:
        raise ValueError(f"ack_delay must be >= 1 frame, got {ack_delay}")
    enc = VideoEncoder(loaded, config, "cpu", first_frame_id=0)
    dec = VideoDecoder(loaded, "cpu", history=config.history)
    pending: list[tuple[int, int]] = []
    bits, types, out = [], [], []
    for t, (image, lab) in enumerate(zip(images, labels)):
        for _due, frame_id in [p for p in pending if p[0] <= t]:
            enc.acknowledge(frame_id)
        pending = [p for p in pending if p[0] > t]
        data = enc.encode(image, lab, keep_ratio=keep, class_weights=class_weights)
        bits.append(8 * len(data))
        types.append("I" if enc.last_stats.frame_type == FrameType.INTRA else "P")
        frame = None
        if received[t]:
            try:
                frame = dec.decode(data).image
            except BitstreamError:
                frame = None
            ack = dec.ack()
            if config.feedback and ack is not None:
                pending.append((t + ack_delay, ack.last_decoded_frame_id))
        out.append(frame)
    result = RunResult(name, source, keep, float(1 - received.mean()), bits, types,
                       [o is not None for o in out])
    return result, hold_last_frame(out, fill=np.zeros_like(images[0]))


def run_x265(images: list[np.ndarray], kbps: float, received: np.ndarray,
             source: str = "", codec: str = "x265") -> tuple[RunResult, list[np.ndarray]]:
    """x265 or x264 (veryfast, zerolatency, GOP 20, no B-frames) at ``kbps``, with the same losses."""
    run = run_video_baseline(images, VideoSettings(codec=codec, kbps=kbps, fps=10.0, gop=20), received)
    result = RunResult(codec, source, kbps, float(1 - received.mean()), [8 * b for b in run.frame_bytes],
                       ["-"] * len(images), run.decoded)
    return result, run.shown


def _measure(result: RunResult, images: list[np.ndarray], shown: list[np.ndarray], lpips,
             reference_labels: list[np.ndarray | None] | None = None, segmenter=None) -> None:
    result.psnr = [float(psnr(a, b)) for a, b in zip(images, shown)]
    if lpips is not None:
        result.lpips = [float(v) for v in np.atleast_1d(lpips(np.stack(images), np.stack(shown)))]
    if reference_labels is None or any(lab is None for lab in reference_labels):
        return
    result.important_psnr = [float(masked_psnr(a, b, class_mask(lab)))
                             for a, b, lab in zip(images, shown, reference_labels)]
    if segmenter is not None:
        confusion = sum(confusion_matrix(lab, segmenter.segment(b))
                        for b, lab in zip(shown, reference_labels))
        result.seg_miou = 100.0 * miou_from_confusion(confusion).miou


def equal_quality_saving(curve: list[tuple[float, float]], bits: float, quality: float) -> float:
    """Bits of the reference curve at ``quality`` divided by ``bits`` (NaN outside the curve).

    Args:
        curve: (bits, quality) points of the reference codec; quality lower-is-better (LPIPS).
        bits: the tested run's bits.
        quality: the tested run's quality.
    """
    points = sorted((q, b) for b, q in curve if math.isfinite(q))
    if len(points) < 2 or not points[0][0] <= quality <= points[-1][0] or bits <= 0:
        return math.nan
    qs, bs = zip(*points)
    return float(np.interp(quality, qs, bs) / bits)


# ------------------------------------------------------------------------------ CLI
def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _class_weights(text: str) -> dict[str, float] | None:
    """``person=4,car=2`` -> run-time class weights (other classes 1.0); '' -> None (the paper's)."""
    from sqgan_ros.labels import parse_class_weights

    try:
        return parse_class_weights(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _size(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.evaluation.video", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="model file (.safetensors)")
    p.add_argument("--sources", default="vtest,street", help="comma list of vtest, street")
    p.add_argument("--frames", type=int, default=200, help="frames per source")
    p.add_argument("--size", type=_size, default=None, help="frame size HxW (default: model size)")
    p.add_argument("--keep", type=_floats, default=[0.05, 0.1, 0.2, 0.4], help="keep ratios")
    p.add_argument("--loss", type=_floats, default=[0.0, 0.2], help="frame-loss rates")
    p.add_argument("--x265-kbps", type=_floats, default=[10.0, 34.0], help="x265 bitrates ('' = none)")
    p.add_argument("--x264-kbps", type=_floats, default=[10.0, 34.0], help="x264 bitrates ('' = none)")
    p.add_argument("--change-threshold", type=float, default=VideoConfig().change_threshold,
                   help="INTER skip threshold (VideoConfig.change_threshold)")
    p.add_argument("--vtest-consecutive", action="store_true",
                   help="consecutive vtest frames instead of the held-out ones")
    p.add_argument("--street-seed", type=int, default=7)
    p.add_argument("--segmenter", default="bundled", help="labels for vtest: bundled | none | path")
    p.add_argument("--lpips", default="alexnet", help="alexnet | vgg16 | none")
    p.add_argument("--intra-interval", type=int, default=50)
    p.add_argument("--refresh", type=float, default=0.02, help="rolling refresh fraction")
    p.add_argument("--ack-delay", type=int, default=1, help="frames until an ack arrives")
    p.add_argument("--seed", type=int, default=0, help="loss pattern seed")
    p.add_argument("--class-weights", type=_class_weights, default=None,
                   help="SQ-GAN run-time class weights, e.g. person=4,rider=4,car=2 (default: none)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--out", default=None, help="JSON results file")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; returns the exit code."""
    args = build_parser().parse_args(argv)
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    loaded = load_model(args.model, "cpu")
    size = args.size or loaded.config.image_size
    sources: dict[str, tuple[list[np.ndarray], list[np.ndarray | None]]] = {}
    seg = None
    if args.segmenter != "none":
        from sqgan_ros.segmentation import make_segmenter
        seg = make_segmenter(args.segmenter, device="cpu")
    for name in [s.strip() for s in args.sources.split(",") if s.strip()]:
        if name == "vtest":
            images = load_vtest(size, args.frames, held_out=not args.vtest_consecutive)
            labels: list[np.ndarray | None] = ([None] * len(images) if seg is None
                                               else [seg.segment(im) for im in images])
            sources[name] = (images, labels)
        elif name == "street":
            images, gt = load_street(size, args.frames, args.street_seed)
            sources[name] = (images, list(gt))
        else:
            raise SystemExit(f"unknown source {name!r} (vtest, street)")
    lpips = None
    if args.lpips != "none":
        from sqgan_ros.evaluation.metrics import LPIPSMetric
        lpips = LPIPSMetric(args.lpips)
    fps = 10.0
    results: list[RunResult] = []
    start = time.process_time()
    for source, (images, labels) in sources.items():
        for loss in args.loss:
            received = drop_frames(len(images), loss, args.seed) if loss > 0 else np.ones(len(images), bool)
            runs = []
            for keep in args.keep:
                runs.append(run_intra(loaded, images, labels, keep, received, source,
                                      args.class_weights))
                for feedback, name in ((True, "inter-ack"), (False, "inter-oneway")):
                    cfg = VideoConfig(intra_interval=args.intra_interval, refresh_fraction=args.refresh,
                                      feedback=feedback, change_threshold=args.change_threshold)
                    runs.append(run_video(loaded, images, labels, keep, received, cfg, args.ack_delay,
                                          source, name, args.class_weights))
            for codec, rates in (("x264", args.x264_kbps), ("x265", args.x265_kbps)):
                for kbps in rates:
                    try:
                        runs.append(run_x265(images, kbps, received, source, codec))
                    except Exception as error:  # ffmpeg/x26x missing: report, keep going
                        print(f"{codec} at {kbps} kbit/s skipped: {error}", file=sys.stderr)
            for result, shown in runs:
                _measure(result, images, shown, lpips, labels, seg)
                results.append(result)
    summaries = [r.summary(fps) for r in results]
    for s in summaries:
        if not s["name"].startswith("inter"):
            continue
        curve = [(o["bits_per_frame"], o["lpips"]) for o in summaries
                 if o["name"] == "intra" and o["source"] == s["source"] and o["loss"] == s["loss"]]
        s["intra_bits_at_equal_lpips_ratio"] = equal_quality_saving(curve, s["bits_per_frame"], s["lpips"])
    print(f"{'source':8} {'run':13} {'setting':>7} {'loss':>5} {'kbit/s':>8} {'bits/fr':>8} "
          f"{'I':>3} {'fresh':>5} {'PSNR':>6} {'impPSNR':>7} {'mIoU%':>6} {'LPIPS':>6} {'xIntra':>6}")
    for s in summaries:
        print(f"{s['source']:8} {s['name']:13} {s['setting']:7.3g} {s['loss']:5.2f} {s['kbps']:8.2f} "
              f"{s['bits_per_frame']:8.0f} {s['intra_frames']:3d} {s['fresh_frames']:5d} "
              f"{s['psnr']:6.2f} {s['important_psnr']:7.2f} {s['seg_miou']:6.1f} {s['lpips']:6.3f} "
              f"{s.get('intra_bits_at_equal_lpips_ratio', math.nan):6.2f}")
    print(f"process CPU time {time.process_time() - start:.1f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"model_id": loaded.model_id, "size": list(size),
                                               "args": {k: v for k, v in vars(args).items()},
                                               "summary": summaries,
                                               "runs": [asdict(r) for r in results]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
