"""The sweep's metrics of one codec point against its set: PSNR, MS-SSIM, LPIPS, FID, mIoU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sqgan_ros.evaluation.eval_sets import EvalSet
from sqgan_ros.evaluation.sweep_config import MetricsConfig
from sqgan_ros.evaluation.sweep_points import Point, kbps_at
from sqgan_ros.labels import IMPORTANT_CLASSES

# the stripe metric's period: the small presets' pixel-shuffle factor (evaluation/periodic.py)
PERIOD = 4

__all__ = ["Scorer"]


class Scorer:
    """Metrics of a point against its set.

    Args:
        metrics: metric switches.
        device: torch device for LPIPS / Inception / segmenter.
    """

    def __init__(self, metrics: MetricsConfig, device: str = "cpu") -> None:
        from sqgan_ros.evaluation.metrics import LPIPSMetric
        from sqgan_ros.segmentation import make_segmenter

        self.cfg = metrics
        self.device = device
        self.lpips = LPIPSMetric(metrics.lpips_net, device=device) if metrics.lpips else None
        self.segmenter = make_segmenter(metrics.segmenter, device=device)
        self._inception = None
        self._ref_stats: dict[int, Any] = {}
        self._ref_labels: dict[int, tuple[list[np.ndarray], str]] = {}

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Segmenter output for each image.

        Args:
            images: uint8 RGB frames.
        """
        return [self.segmenter.segment(im) for im in images]

    def reference_labels(self, evalset: EvalSet) -> tuple[list[np.ndarray], str]:
        """Label maps metrics compare against: ground truth, or the segmenter on the originals."""
        key = id(evalset)
        if key not in self._ref_labels:
            if evalset.labels is not None:
                self._ref_labels[key] = (evalset.labels, "ground truth")
            else:
                self._ref_labels[key] = (self.segment(evalset.images), "segmenter on original")
        return self._ref_labels[key]

    def fid_note(self, evalset: EvalSet) -> str | None:
        """Why FID is not reported for ``evalset`` (None when it is)."""
        if not self.cfg.fid:
            return "FID off in this configuration"
        if len(evalset) < self.cfg.fid_min_frames:
            return f"FID not reported: {len(evalset)} frames < {self.cfg.fid_min_frames}"
        return None

    def _fid(self, evalset: EvalSet, recon: list[np.ndarray]) -> float:
        from sqgan_ros.evaluation.fid import FeatureStats, InceptionFeatures, frechet_distance

        if self._inception is None:
            self._inception = InceptionFeatures(device=self.device)
        key = id(evalset)
        if key not in self._ref_stats:
            self._ref_stats[key] = FeatureStats.from_features(self._inception(evalset.images))
        return frechet_distance(self._ref_stats[key], FeatureStats.from_features(self._inception(recon)))

    def score(self, evalset: EvalSet, point: Point, size: tuple[int, int], fps: float) -> dict[str, Any]:
        """One CSV row (``COLUMNS``) for ``point`` on ``evalset``.

        Args:
            evalset: the frames the point was made from.
            point: its bytes and reconstructions.
            size: ``(H, W)`` of the frames (for bpp).
            fps: frame rate for kbit/s.
        """
        from sqgan_ros.evaluation.metrics import (
            class_mask,
            confusion_matrix,
            masked_psnr,
            miou_from_confusion,
            ms_ssim,
            psnr,
        )
        from sqgan_ros.evaluation.periodic import periodic_artefact

        if len(point.recon) != len(evalset) or len(point.frame_bytes) != len(evalset):
            raise ValueError(f"{point.codec} {point.setting}: {len(point.recon)} reconstructions for {len(evalset)} frames")
        ref = np.stack(evalset.images)
        rec = np.stack(point.recon)
        pixels = size[0] * size[1]
        bpp = float(np.mean([8.0 * b / pixels for b in point.frame_bytes]))
        ref_labels, ref_kind = self.reference_labels(evalset)
        gt = np.stack(ref_labels)
        seg = np.stack(self.segment(point.recon))
        row: dict[str, Any] = {
            "set": evalset.name, "codec": point.codec, "kind": point.kind, "setting": point.setting,
            "frames": len(evalset), "bytes_mean": float(np.mean(point.frame_bytes)), "bpp": bpp,
            "kbps": kbps_at(bpp, size, fps),
            "psnr": float(np.mean(psnr(ref, rec))), "ms_ssim": float(np.mean(ms_ssim(ref, rec))),
            "lpips": float(np.mean(self.lpips(ref, rec))) if self.lpips is not None else float("nan"),
            "fid": self._fid(evalset, point.recon) if self.fid_note(evalset) is None else float("nan"),
            "seg_miou": miou_from_confusion(confusion_matrix(gt, seg)).miou,
            "label_reference": ref_kind, "encode_ms": point.encode_ms, "decode_ms": point.decode_ms,
        }
        with np.errstate(all="ignore"):
            values = masked_psnr(ref, rec, class_mask(gt, IMPORTANT_CLASSES))
            finite = values[np.isfinite(values)]
            row["psnr_important"] = float(np.mean(finite)) if finite.size else float("nan")
        row["periodic_db"] = float(np.mean([periodic_artefact(a, b, PERIOD).db for a, b in zip(ref, rec)]))
        if point.decoded_labels:
            row["semantic_miou"] = miou_from_confusion(confusion_matrix(gt, np.stack(point.decoded_labels))).miou
        else:
            row["semantic_miou"] = float("nan")
        if point.overhead_bytes:
            over = float(np.mean(point.overhead_bytes))
            row["message_overhead_bytes"] = over
            row["message_bpp"] = bpp + 8.0 * over / pixels
        else:
            row["message_overhead_bytes"] = row["message_bpp"] = float("nan")
        row["reached_fraction"] = float(np.mean(point.reached)) if point.reached else float("nan")
        return row
