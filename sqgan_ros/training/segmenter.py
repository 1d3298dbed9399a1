"""Train the bundled segmenter (:class:`~sqgan_ros.segmentation.network.SegNet`) on synthetic scenes.

Usage::

    python -m sqgan_ros.training.segmenter --out models/segmenter.safetensors --minutes 20

Data flow::

    render_scene(seed) x pool  ->  uint8 pool in memory (rendered once)
      -> batch of random scaled crops + h-flip + colour jitter + noise (torch, in place)
      -> SegNet -> class-balanced cross-entropy (ENet weights x extra weight on small key classes)
      -> AdamW, linear warm-up then cosine decay over the wall-clock budget
    val: full 256x512 frames from a disjoint seed range -> confusion matrix -> per-class IoU, mIoU

Real frames (``--person-masks DIR``, written by :mod:`sqgan_ros.data.person_masks`) add partial
labels: a ``--real-ratio`` share of each batch is crops of real video frames whose only labels are
MediaPipe's person probabilities (:func:`person_partial_loss`); the rest stays fully labelled
synthetic CE. Held-out real frames give :func:`person_agreement` (person IoU, false alarms).

Runs on one CPU thread by default (``--threads``), so it can share a small machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sqgan_ros.data.splits import SPLIT_SEEDS
from sqgan_ros.labels import CLASS_INDEX, CLASS_NAMES, NUM_CLASSES, UNLABELLED
from sqgan_ros.segmentation.bundled import save_segnet
from sqgan_ros.segmentation.network import SegNet, SegNetConfig

#: Scene seeds of the synthetic splits: the data module's disjoint ranges (train 0.., val 1e6..).
TRAIN_SEED_OFFSET = SPLIT_SEEDS["train"]
VAL_SEED_OFFSET = SPLIT_SEEDS["val"]
#: Extra loss weight on small classes that matter for teleoperation.
KEY_CLASS_BOOST: dict[str, float] = {
    "traffic_light": 2.0, "traffic_sign": 2.0, "person": 2.0, "rider": 2.0,
    "pole": 1.5, "bicycle": 1.5, "motorcycle": 1.5,
}

Renderer = Callable[[int, tuple[int, int]], tuple[np.ndarray, np.ndarray]]


def default_renderer() -> Renderer:
    """``sqgan_ros.data.synthetic.render_scene`` (imported lazily: it is another module's)."""
    from sqgan_ros.data.synthetic import render_scene

    return lambda seed, size: render_scene(seed, size=size)


def render_pool(renderer: Renderer, seeds: Sequence[int], size: tuple[int, int],
                max_seconds: float | None = None, log: Callable[[str], None] = print
                ) -> tuple[np.ndarray, np.ndarray]:
    """Render frames into memory: ``images uint8 [N, H, W, 3]``, ``labels uint8 [N, H, W]``.

    Args:
        renderer: ``(seed, size) -> (image, labels)``.
        seeds: frames to render, in order.
        size: ``(H, W)``.
        max_seconds: stop early (keeping what was rendered) after this long.
        log: progress sink.
    """
    images = np.empty((len(seeds), size[0], size[1], 3), np.uint8)
    labels = np.empty((len(seeds), size[0], size[1]), np.uint8)
    start = time.monotonic()
    count = 0
    for count, seed in enumerate(seeds, 1):
        image, label = renderer(int(seed), size)
        if image.shape != images.shape[1:] or label.shape != labels.shape[1:]:
            raise ValueError(f"renderer returned {image.shape}/{label.shape}, expected size {size}")
        images[count - 1], labels[count - 1] = image, label
        elapsed = time.monotonic() - start
        if count % 200 == 0:
            log(f"rendered {count}/{len(seeds)} frames in {elapsed:.0f} s")
        if max_seconds is not None and elapsed > max_seconds:
            log(f"render budget reached: {count} frames in {elapsed:.0f} s")
            break
    return images[:count], labels[:count]


def class_weights(labels: np.ndarray, boost: dict[str, float] | None = None, cap: float = 10.0) -> torch.Tensor:
    """Class-balanced cross-entropy weights ``w_c = 1 / ln(1.02 + p_c)`` (ENet), times ``boost``.

    Normalised so that the pixel-weighted mean weight is 1; absent classes get 0; capped at ``cap``.

    Args:
        labels: uint8 label maps (any shape).
        boost: ``{class_name: factor}``; defaults to :data:`KEY_CLASS_BOOST`.
        cap: upper bound after normalisation.
    """
    counts = np.bincount(labels.reshape(-1), minlength=NUM_CLASSES)[:NUM_CLASSES].astype(np.float64)
    freq = counts / max(counts.sum(), 1.0)
    weights = np.where(counts > 0, 1.0 / np.log(1.02 + freq), 0.0)
    for name, factor in (KEY_CLASS_BOOST if boost is None else boost).items():
        weights[CLASS_INDEX[name]] *= factor
    weights /= max((weights * freq).sum(), 1e-12)
    return torch.tensor(np.minimum(weights, cap), dtype=torch.float32)


def sample_batch(images: np.ndarray, labels: np.ndarray, batch: int, crop: tuple[int, int],
                 rng: np.random.Generator, scale: tuple[float, float] = (0.6, 1.4)
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random scaled crops (bilinear image / nearest labels) with flips and colour jitter.

    Args:
        images: pool ``uint8 [N, H, W, 3]``.
        labels: pool ``uint8 [N, H, W]``.
        batch: crops per batch.
        crop: output ``(h, w)``.
        rng: random generator.
        scale: zoom range (``>1`` magnifies: a smaller window is resized up to ``crop``).

    Returns:
        ``float32 [B, 3, h, w]`` in ``[0, 1]`` and ``int64 [B, h, w]``.
    """
    n, height, width = labels.shape
    ch, cw = crop
    xs = torch.empty((batch, 3, ch, cw))
    ys = torch.empty((batch, ch, cw), dtype=torch.long)
    for b in range(batch):
        i = int(rng.integers(n))
        zoom = float(np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))))
        wh = min(height, max(8, round(ch / zoom)))
        ww = min(width, max(8, round(cw / zoom)))
        top = int(rng.integers(0, height - wh + 1))
        left = int(rng.integers(0, width - ww + 1))
        img = torch.from_numpy(images[i, top:top + wh, left:left + ww]).permute(2, 0, 1)[None].float()
        lab = torch.from_numpy(labels[i, top:top + wh, left:left + ww])[None, None].float()
        img = F.interpolate(img, size=crop, mode="bilinear", align_corners=False,
                            antialias=wh > ch)
        lab = F.interpolate(lab, size=crop, mode="nearest")
        if rng.random() < 0.5:
            img, lab = img.flip(-1), lab.flip(-1)
        xs[b], ys[b] = img[0] / 255.0, lab[0, 0].long()
    # colour jitter: brightness, contrast, saturation, per-channel gain, gamma, noise
    b = batch
    gain = torch.from_numpy(rng.uniform(0.6, 1.4, (b, 1, 1, 1))).float()
    tint = torch.from_numpy(rng.uniform(0.9, 1.1, (b, 3, 1, 1))).float()
    mean = xs.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.from_numpy(rng.uniform(0.7, 1.3, (b, 1, 1, 1))).float()
    xs = (xs - mean) * contrast + mean
    grey = xs.mean(dim=1, keepdim=True)
    sat = torch.from_numpy(rng.uniform(0.6, 1.4, (b, 1, 1, 1))).float()
    xs = (xs - grey) * sat + grey
    xs = (xs * gain * tint).clamp_(0.0, 1.0)
    gamma = torch.from_numpy(rng.uniform(0.8, 1.25, (b, 1, 1, 1))).float()
    xs = xs.pow(gamma)
    sigma = torch.from_numpy(rng.uniform(0.0, 0.03, (b, 1, 1, 1))).float()
    xs = (xs + sigma * torch.randn_like(xs)).clamp_(0.0, 1.0)
    return xs, ys


def person_partial_loss(logits: torch.Tensor, person_prob: torch.Tensor, person_index: int = CLASS_INDEX["person"],
                        pos_threshold: float = 0.8, neg_threshold: float = 0.1,
                        pos_weight: float = 1.0) -> torch.Tensor:
    """Loss of partial person labels: ``person`` where sure, "not person" where sure, nothing elsewhere.

    Pixels with ``person_prob > pos_threshold`` are a ``person`` target (``-log p_person``); pixels
    with ``person_prob < neg_threshold`` only say the pixel is some other class, so they cost
    ``-log(1 - p_person)`` (computed as ``logsumexp`` of the other logits minus that of all, which
    is stable) and leave the split among the other classes free; the rest give no gradient. The
    result is the weighted mean over the labelled pixels (weights ``pos_weight`` and 1), like
    ``F.cross_entropy(weight=...)``; 0 (with a graph) when no pixel is labelled.

    Args:
        logits: ``[B, C, H, W]``.
        person_prob: ``[B, H, W]`` in ``[0, 1]``.
        person_index: channel of ``person``.
        pos_threshold: above this ``person_prob`` a pixel is a person.
        neg_threshold: below this ``person_prob`` a pixel is not a person.
        pos_weight: weight of a person pixel relative to a not-person pixel.
    """
    if logits.ndim != 4 or person_prob.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"person_prob {tuple(person_prob.shape)} does not match logits {tuple(logits.shape)}")
    if not 0.0 <= neg_threshold < pos_threshold <= 1.0:
        raise ValueError(f"need 0 <= neg_threshold < pos_threshold <= 1, got {neg_threshold}, {pos_threshold}")
    pos = person_prob > pos_threshold
    neg = person_prob < neg_threshold
    log_all = torch.logsumexp(logits, dim=1)
    others = torch.cat([logits[:, :person_index], logits[:, person_index + 1:]], dim=1)
    log_person = logits[:, person_index] - log_all
    log_not_person = torch.logsumexp(others, dim=1) - log_all
    total = -pos_weight * log_person[pos].sum() - log_not_person[neg].sum()
    weight = pos_weight * pos.sum() + neg.sum()
    if int(weight) == 0:
        return logits.sum() * 0.0
    return total / weight


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``[C, C]`` int64 counts, rows = target class, columns = predicted class."""
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    target = np.asarray(target, dtype=np.int64).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target differ in size: {pred.shape} vs {target.shape}")
    valid = (target >= 0) & (target < num_classes) & (pred >= 0) & (pred < num_classes)
    idx = target[valid] * num_classes + pred[valid]
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray, ignore: Sequence[int] = (UNLABELLED,)) -> tuple[dict[str, float], float]:
    """Per-class IoU (classes present in the target or predictions) and their mean.

    Classes in ``ignore`` (default: unlabelled) are left out of the table and the mean.
    """
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    per_class = {CLASS_NAMES[c]: float(tp[c] / union[c])
                 for c in range(conf.shape[0]) if c not in ignore and conf[c].sum() > 0}
    miou = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return per_class, miou


@torch.inference_mode()
def evaluate(net: SegNet, images: np.ndarray, labels: np.ndarray, batch: int = 4) -> tuple[dict[str, float], float]:
    """Per-class IoU and mIoU of ``net`` on full frames (resized to its input size if needed)."""
    from sqgan_ros.segmentation.bundled import BundledSegmenter

    segmenter = BundledSegmenter(net=net, device=next(net.parameters()).device)
    was_training = net.training
    net.eval()
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start:start + batch]).permute(0, 3, 1, 2).float() / 255.0
        pred = segmenter.segment_batch(x).cpu().numpy()
        conf += confusion_matrix(pred, labels[start:start + batch])
    net.train(was_training)
    return iou_from_confusion(conf)


@torch.inference_mode()
def person_agreement(net: SegNet, images: np.ndarray, person: np.ndarray, threshold: float = 0.5,
                     batch: int = 4) -> dict:
    """How the segmenter's ``person`` agrees with reference person masks on full frames.

    Args:
        net: the network.
        images: ``uint8 [N, H, W, 3]``.
        person: ``uint8 [N, H, W]`` person probability x 255 (MediaPipe's, from
            :func:`sqgan_ros.data.person_masks.load_person_masks`).
        threshold: reference person = probability >= threshold.
        batch: frames per forward pass.

    Returns:
        :func:`person_scores` of the predictions.
    """
    from sqgan_ros.segmentation.bundled import BundledSegmenter

    segmenter = BundledSegmenter(net=net, device=next(net.parameters()).device)
    was_training = net.training
    net.eval()
    preds = np.empty(person.shape, np.uint8)
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start:start + batch]).permute(0, 3, 1, 2).float() / 255.0
        preds[start:start + batch] = segmenter.segment_batch(x).cpu().numpy()
    net.train(was_training)
    return person_scores(preds, person, threshold)


def person_scores(pred: np.ndarray, person: np.ndarray, threshold: float = 0.5) -> dict:
    """Agreement of predicted label maps with reference person probabilities.

    Args:
        pred: label maps ``[N, H, W]``.
        person: ``uint8 [N, H, W]`` person probability x 255.
        threshold: reference person = probability >= threshold.

    Returns:
        ``person_iou``; ``false_alarm`` (share of reference-background pixels called person);
        ``recall`` (share of reference-person pixels called person); the shares of reference and
        predicted person pixels; ``person_pixels_called``: the classes given to reference-person
        pixels (top 5, as shares of them).
    """
    if pred.shape != person.shape:
        raise ValueError(f"pred {pred.shape} and person {person.shape} differ")
    ref = person.astype(np.float32) / 255.0 >= threshold
    said = pred == CLASS_INDEX["person"]
    tp, fp, fn = int((said & ref).sum()), int((said & ~ref).sum()), int((~said & ref).sum())
    ref_person, total = int(ref.sum()), int(ref.size)
    called = np.bincount(pred[ref].reshape(-1).astype(np.int64), minlength=NUM_CLASSES)[:NUM_CLASSES]
    return {
        "frames": int(len(pred)),
        "person_iou": round(tp / max(tp + fp + fn, 1), 4),
        "recall": round(tp / max(ref_person, 1), 4),
        "false_alarm": round(fp / max(total - ref_person, 1), 6),
        "reference_person_share": round(ref_person / max(total, 1), 4),
        "predicted_person_share": round((tp + fp) / max(total, 1), 4),
        "person_pixels_called": {CLASS_NAMES[c]: round(int(called[c]) / max(ref_person, 1), 4)
                                 for c in np.argsort(-called, kind="stable")[:5] if called[c] > 0},
    }


def real_agreement(net: SegNet, person_masks: Path, split: str = "eval") -> dict:
    """:func:`person_agreement` per source and over all sources of a person-mask folder."""
    from sqgan_ros.data.person_masks import load_person_masks

    images, person, names = load_person_masks(person_masks, split)
    sources = sorted({n.split("/")[0] for n in names})
    out = {"split": split, "all": person_agreement(net, images, person)}
    for source in sources:
        keep = np.array([n.startswith(source + "/") for n in names])
        out[source] = person_agreement(net, images[keep], person[keep])
    return out


def format_iou_table(per_class: dict[str, float], miou: float) -> str:
    """Markdown table of per-class IoU (percent) and the mean."""
    lines = ["| class | IoU % |", "|---|---|"]
    lines += [f"| {name} | {100 * iou:.1f} |" for name, iou in per_class.items()]
    lines.append(f"| **mIoU** | **{100 * miou:.1f}** |")
    return "\n".join(lines)


def lr_at(progress: float, peak: float, warmup: float = 0.03) -> float:
    """Linear warm-up to ``peak`` over the first ``warmup`` fraction, then cosine to 1 % of it."""
    if progress < warmup:
        return peak * max(progress / warmup, 0.02)
    t = min(1.0, (progress - warmup) / (1.0 - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t)))


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 256x512, got {text!r}") from None
    return h, w


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the trainer."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.training.segmenter", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True,
                   help="output .safetensors file (with --eval-only: the model to evaluate)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this segmenter file (fine-tuning; its config wins over --size)")
    p.add_argument("--eval-only", action="store_true", help="evaluate --out on the val split, no training")
    p.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget (excl. rendering)")
    p.add_argument("--pool", type=int, default=2000, help="training frames rendered into memory")
    p.add_argument("--render-minutes", type=float, default=10.0, help="cap on pool rendering time")
    p.add_argument("--val", type=int, default=100, help="validation frames")
    p.add_argument("--size", type=_parse_size, default=(256, 512), help="frame / network input size HxW")
    p.add_argument("--crop", type=_parse_size, default=(128, 256), help="training crop HxW")
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=float, default=5.0, help="minutes between quick val checks")
    p.add_argument("--person-masks", type=Path, default=None,
                   help="folder of sqgan_ros.data.person_masks: train on its 'train' frames (partial person "
                        "labels), report person agreement on its held-out 'eval' frames")
    p.add_argument("--real-ratio", type=float, default=0.3, help="share of each batch taken from real frames")
    p.add_argument("--real-every", type=int, default=1, help="use every n-th real train frame")
    p.add_argument("--json", type=Path, default=None,
                   help="also write the results to this JSON file, under --label (other labels are kept)")
    p.add_argument("--label", default="result", help="key of this run's results in --json")
    return p


def write_json(path: Path, label: str, result: dict) -> None:
    """Store ``result`` under ``label`` in the JSON object in ``path`` (created if missing)."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[label] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None, renderer: Renderer | None = None) -> dict:
    """Train, evaluate, save; returns the info dict stored in the file.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).
        renderer: frame source (default: the synthetic street generator); tests pass a fake.
    """
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.real_ratio < 1.0 or args.real_every < 1:
        raise SystemExit(f"need 0 <= --real-ratio < 1 and --real-every >= 1, got {args.real_ratio}, {args.real_every}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    renderer = renderer or default_renderer()
    start = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {msg}", flush=True)

    if args.eval_only:
        from sqgan_ros.segmentation.bundled import load_segnet

        net, info = load_segnet(args.out)
        val_x, val_y = render_pool(renderer, range(VAL_SEED_OFFSET, VAL_SEED_OFFSET + args.val),
                                   net.config.input_size, log=log)
        per_class, miou = evaluate(net, val_x, val_y)
        print(format_iou_table(per_class, miou), flush=True)
        result = {"model": str(args.out), "val_miou": round(miou, 4),
                  "val_iou": {k: round(v, 4) for k, v in per_class.items()},
                  "val_frames": int(len(val_x)), "val_seed_offset": VAL_SEED_OFFSET}
        if args.person_masks is not None:
            result["real_eval"] = real_agreement(net, args.person_masks, "eval")
            log("held-out real frames: " + json.dumps(result["real_eval"]["all"]))
        if args.json is not None:
            write_json(args.json, args.label, result)
        return result
    val_x, val_y = render_pool(renderer, range(VAL_SEED_OFFSET, VAL_SEED_OFFSET + args.val), args.size, log=log)
    first = TRAIN_SEED_OFFSET + args.seed * args.pool  # --seed picks another block of train scenes
    pool_x, pool_y = render_pool(renderer, range(first, first + args.pool), args.size,
                                 max_seconds=args.render_minutes * 60, log=log)
    log(f"pool: {len(pool_x)} train frames, {len(val_x)} val frames at {args.size}")
    weights = class_weights(pool_y)
    log("class weights: " + ", ".join(f"{n}={w:.2f}" for n, w in zip(CLASS_NAMES, weights.tolist())))

    init_info: dict | None = None
    if args.init is not None:
        from sqgan_ros.segmentation.bundled import load_segnet

        net, init_info = load_segnet(args.init)
        if net.config.input_size != tuple(args.size):
            raise SystemExit(f"--init model runs at {net.config.input_size}, not --size {args.size}")
        net.train()
        log(f"initialised from {args.init} (its val mIoU {init_info.get('val_miou')})")
    else:
        net = SegNet(SegNetConfig(input_size=args.size)).train()
    log(f"SegNet: {sum(p.numel() for p in net.parameters())} parameters")
    n_real = 0
    if args.person_masks is not None:
        from sqgan_ros.data.person_masks import load_person_masks

        real_x, real_p, real_names = load_person_masks(args.person_masks, "train", every=args.real_every)
        n_real = min(args.batch - 1, max(1, round(args.real_ratio * args.batch))) if args.real_ratio > 0 else 0
        person_weight = float(weights[CLASS_INDEX["person"]])
        log(f"real: {len(real_x)} train frames with person masks, {n_real} of {args.batch} crops a batch, "
            f"person pixel weight {person_weight:.2f}")
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    budget = args.minutes * 60.0
    train_start = time.monotonic()
    next_eval = args.eval_every * 60.0
    step, loss_avg = 0, None
    while (elapsed := time.monotonic() - train_start) < budget:
        lr = lr_at(elapsed / budget, args.lr)
        for group in optim.param_groups:
            group["lr"] = lr
        x, y = sample_batch(pool_x, pool_y, args.batch - n_real, args.crop, rng)
        if n_real:
            xr, pr = sample_batch(real_x, real_p, n_real, args.crop, rng)
            logits = net(torch.cat([x, xr]))
            ce = F.cross_entropy(logits[:len(x)], y, weight=weights)
            partial = person_partial_loss(logits[len(x):], pr.float() / 255.0, pos_weight=person_weight)
            loss = (len(x) * ce + n_real * partial) / args.batch
        else:
            loss = F.cross_entropy(net(x), y, weight=weights)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        step += 1
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        if step % 50 == 0:
            log(f"step {step} loss {loss_avg:.4f} lr {lr:.2e} ({step / max(elapsed, 1e-6):.2f} it/s)")
        if elapsed > next_eval:
            next_eval += args.eval_every * 60.0
            _, miou = evaluate(net, val_x[:20], val_y[:20])
            log(f"step {step}: quick val mIoU (20 frames) {100 * miou:.1f} %")
    train_seconds = time.monotonic() - train_start
    net.eval()
    per_class, miou = evaluate(net, val_x, val_y)
    log(f"final val mIoU over {len(val_x)} frames: {100 * miou:.2f} % after {step} steps")
    print(format_iou_table(per_class, miou), flush=True)
    info = {
        "command": "python -m sqgan_ros.training.segmenter " + " ".join(argv if argv is not None else sys.argv[1:]),
        "train_seconds": round(train_seconds, 1),
        "steps": step,
        "pool_frames": int(len(pool_x)),
        "val_frames": int(len(val_x)),
        "val_seed_offset": VAL_SEED_OFFSET,
        "val_miou": round(miou, 4),
        "val_iou": {k: round(v, 4) for k, v in per_class.items()},
    }
    if args.person_masks is not None:
        info["real_train_frames"] = int(len(real_x))
        info["real_eval"] = real_agreement(net, args.person_masks, "eval")
        log("held-out real frames: " + json.dumps(info["real_eval"]["all"]))
    if init_info is not None:
        info["init"] = init_info
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_segnet(args.out, net, info)
    log(f"saved {args.out}: " + json.dumps({k: info[k] for k in ("val_miou", "steps", "train_seconds")}))
    if args.json is not None:
        write_json(args.json, args.label, {k: v for k, v in info.items() if k != "init"})
    return info


if __name__ == "__main__":
    main()
