"""An operator's region of interest as the encoder session holds it: set, cleared, timed out.

The node hands over ``sensor_msgs/RegionOfInterest`` as ``(x, y, width, height)`` in camera
pixels; the codec sends the region's latents first (``SemanticEncoder.encode(roi=...)``).
"""

from __future__ import annotations

import math

from sqgan_ros.regions import Region, parse_region

__all__ = ["Region", "RegionRequest", "parse_region"]

class RegionRequest:
    """The active region and when it lapses (``timeout_s`` after its last request; 0: never)."""

    def __init__(self) -> None:
        self.region: Region | None = None
        self.until = math.inf

    def set(self, region: Region | None, now: float, timeout_s: float) -> bool:
        """Make ``region`` (parsed) the active one; returns True when it differs from the last."""
        changed = region != self.region
        self.region = region
        self.until = math.inf if region is None or timeout_s <= 0 else now + timeout_s
        return changed

    def current(self, now: float) -> tuple[Region | None, bool]:
        """``(the active region or None, whether it lapsed just now)``."""
        if self.region is not None and now >= self.until:
            self.region = None
            return None, True
        return self.region, False
