"""Class set shared by the codec, training, evaluation and the ROS nodes.

The 19 Cityscapes training classes (trainIds 0..18) plus one "unlabelled" class (index 19),
as in SQ-GAN (Pezone et al., IEEE TCCN 2025). Class names are snake_case because they are
also ROS parameter names (``class_weights.<name>``) and YAML keys.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic_light",
    "traffic_sign", "vegetation", "terrain", "sky", "person", "rider", "car",
    "truck", "bus", "train", "motorcycle", "bicycle", "unlabelled",
)
NUM_CLASSES: int = len(CLASS_NAMES)  # 20
NUM_LABELLED_CLASSES: int = NUM_CLASSES - 1  # 19
UNLABELLED: int = CLASS_NAMES.index("unlabelled")  # 19
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}

#: Cityscapes palette (RGB), unlabelled is black.
PALETTE: np.ndarray = np.array([
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
    (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32), (0, 0, 0),
], dtype=np.uint8)

#: Classes that matter most for teleoperation; used for "important-class" metrics.
IMPORTANT_CLASSES: tuple[str, ...] = ("person", "rider", "car", "traffic_light", "traffic_sign")

#: Classes the semantic-aware discriminator ignores (paper: sky, vegetation).
UNIMPORTANT_CLASSES: tuple[str, ...] = ("vegetation", "sky")


def _paper_weights(lights_signs: float, people: float, veg_sky: float, other: float) -> dict[str, float]:
    weights = {}
    for name in CLASS_NAMES:
        if name in ("traffic_light", "traffic_sign"):
            weights[name] = lights_signs
        elif name in ("person", "rider"):
            weights[name] = people
        elif name in ("vegetation", "sky"):
            weights[name] = veg_sky
        else:
            weights[name] = other
    return weights


#: Per-class weights of the image branch's pixel L1 loss (paper).
L1_LOSS_WEIGHTS: dict[str, float] = _paper_weights(1.0, 0.55, 0.0, 0.15)
#: Per-class weights of the semantic branch's cross-entropy (paper).
CE_LOSS_WEIGHTS: dict[str, float] = _paper_weights(1.0, 0.85, 0.2, 0.5)

#: Run-time SAMM selection weights that reproduce the paper (no bias).
UNIFORM_RUNTIME_WEIGHTS: dict[str, float] = {name: 1.0 for name in CLASS_NAMES}


def weight_vector(weights: Mapping[str, float] | None, default: float = 1.0) -> np.ndarray:
    """Turn a ``{class_name: weight}`` mapping into a float32 vector of length NUM_CLASSES.

    Missing classes get ``default``. Unknown names, negative or non-finite weights raise
    ``ValueError`` naming the offending entry.
    """
    vec = np.full(NUM_CLASSES, default, dtype=np.float32)
    if weights is None:
        return vec
    for name, value in weights.items():
        if name not in CLASS_INDEX:
            raise ValueError(f"unknown class name {name!r}; known: {', '.join(CLASS_NAMES)}")
        value = float(value)
        if not np.isfinite(value) or value < 0.0:
            raise ValueError(f"class weight for {name!r} must be finite and >= 0, got {value}")
        vec[CLASS_INDEX[name]] = value
    return vec


def parse_class_weights(text: str) -> dict[str, float] | None:
    """Parse ``"person=4,car=2"`` into run-time class weights (other classes 1.0).

    Args:
        text: comma-separated ``CLASS=WEIGHT`` items; empty or blank: None (the paper's
            unbiased selection).

    Raises:
        ValueError: an item is not ``CLASS=WEIGHT``, or an unknown class, a negative or a
            non-finite weight (see :func:`weight_vector`).
    """
    if not text.strip():
        return None
    weights = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: expected CLASS=WEIGHT") from None
    weight_vector(weights)  # unknown classes, negative or non-finite weights
    return {**UNIFORM_RUNTIME_WEIGHTS, **weights}


def colourise(labels: np.ndarray) -> np.ndarray:
    """Map an integer label map (H, W) to an RGB uint8 image (H, W, 3) with the Cityscapes palette.

    Values outside 0..NUM_CLASSES-1 are shown as unlabelled.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"label map must be 2-D (H, W), got shape {labels.shape}")
    safe = np.where((labels >= 0) & (labels < NUM_CLASSES), labels, UNLABELLED).astype(np.intp)
    return PALETTE[safe]
