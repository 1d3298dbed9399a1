"""Regions of interest ``(x, y, width, height)`` in pixels: the one parser the codec, API and sessions share.

An operator's "look here" arrives as ``sensor_msgs/RegionOfInterest`` (the encoder node), as an
argument of ``SemanticEncoder.encode(roi=...)`` (the API) or in model pixels (the codec's latent
selection); all of them validate it here. Plain Python: no numpy, no torch.
"""

from __future__ import annotations

import math

__all__ = ["Region", "parse_region"]

Region = tuple[float, float, float, float]


def parse_region(roi: object) -> Region | None:
    """``(x, y, width, height)`` as floats; None for None or an empty region (width or height 0).

    Raises:
        ValueError: not four finite numbers with width, height >= 0.
    """
    if roi is None:
        return None
    try:
        x, y, w, h = (float(v) for v in roi)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"region of interest must be (x, y, width, height), got {roi!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w < 0 or h < 0:
        raise ValueError(f"region of interest must be finite with width, height >= 0, got {roi!r}")
    return None if w == 0 or h == 0 else (x, y, w, h)
