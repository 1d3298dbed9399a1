"""What flows through an encoder session: camera frames in, encoded frames and statistics out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sqgan_ros.sessions.stats import CodecStatsRecord

__all__ = ["CameraFrame", "EncodedFrame", "EncoderStats"]


@dataclass(frozen=True)
class CameraFrame:
    """A converted camera frame waiting for the encoder.

    Args:
        header: the camera message's header (opaque here; copied into the outputs).
        stamp: its stamp in seconds (the rate controller's clock).
        rgb: ``uint8 (H, W, 3)``.
        labels: ``(H, W)`` class ids from a labels topic, or None (the segmenter runs).
        received: ``time.perf_counter()`` when it arrived.
    """

    header: Any
    stamp: float
    rgb: np.ndarray
    labels: np.ndarray | None
    received: float


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded frame: what the SemanticFrame and the encoder's CodecStats carry."""

    header: Any
    stamp: float
    payload: bytes
    frame_id: int
    frame_type: int
    image_size: tuple[int, int]
    model_size: tuple[int, int]
    semantic_keep_ratio: float
    image_keep_ratio: float
    sent_ratio: float
    semantic_kept: int
    image_kept: int
    num_latents: int
    segment_ms: float
    encode_ms: float


#: An encoder session's per-frame statistics (side ENCODER).
EncoderStats = CodecStatsRecord
