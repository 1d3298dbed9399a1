"""The trained bundled segmenter (models/segmenter.safetensors) on synthetic validation frames."""

from __future__ import annotations

import numpy as np
import pytest

from sqgan_ros.segmentation import DEFAULT_MODEL_PATH, BundledSegmenter
from sqgan_ros.segmentation.train import VAL_SEED_OFFSET, evaluate

#: A little below the mIoU measured on 100 val frames when the model was trained (README.md).
MIN_MIOU = 0.55

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="models/segmenter.safetensors not trained yet"),
]


def test_bundled_segmenter_miou_on_synthetic_val() -> None:
    render_scene = pytest.importorskip("sqgan_ros.data.synthetic").render_scene
    segmenter = BundledSegmenter()
    frames = [render_scene(VAL_SEED_OFFSET + i, size=segmenter.input_size) for i in range(12)]
    images = np.stack([f[0] for f in frames])
    labels = np.stack([f[1] for f in frames])
    per_class, miou = evaluate(segmenter.net, images, labels)
    assert miou >= MIN_MIOU, f"mIoU {miou:.3f} below {MIN_MIOU}: {per_class}"
    for name in ("road", "sky", "car"):
        assert per_class[name] > 0.7, f"{name} IoU {per_class[name]:.3f}"
