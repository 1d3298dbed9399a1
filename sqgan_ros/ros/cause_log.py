"""Throttled warnings per cause, with rclpy's own throttling (``throttle_duration_sec``).

rclpy throttles per logger and call site; one child logger per cause (``<node>.<cause>``) keeps
one cause (a publisher sending a wrong encoding) from silencing another (frames from another
model) for the throttle period. The number of causes is bounded; further ones share ``other``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CauseLog"]

_MAX_CAUSES = 64


class CauseLog:
    """``warn(cause, message)``: at most one line per cause per ``period_s``.

    Args:
        logger: the node's logger (``node.get_logger()``).
        period_s: throttle period per cause.
    """

    def __init__(self, logger: Any, period_s: float) -> None:
        self._logger = logger
        self._period = float(period_s)
        self._children: dict[str, Any] = {}

    def warn(self, cause: str, message: str) -> None:
        """Log ``message`` unless ``cause`` was logged less than ``period_s`` ago."""
        key = re.sub(r"[^A-Za-z0-9_]", "_", cause)[:48] or "other"
        if key not in self._children and len(self._children) >= _MAX_CAUSES:
            key = "other"
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._logger.get_child(key)
        child.warning(message, throttle_duration_sec=self._period)
