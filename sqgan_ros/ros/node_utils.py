"""Small helpers shared by the teleop nodes (no rclpy imports at module level).

* :class:`LatestSlot` — a single-slot mailbox: the newest frame wins, older unprocessed ones
  are dropped and counted (never an unbounded queue behind a slow encoder).
* :class:`WarningThrottle` — at most one log line per cause per period, with the number of
  suppressed repeats.
* :class:`RateWindow` — frames, bits and fps over a sliding time window.
* :func:`default_model_path` / :func:`resolve_model_path` — where the bundled model lives.
* :func:`scale_camera_info` — intrinsics of a resized image.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["LatestSlot", "WarningThrottle", "RateWindow", "default_model_path",
           "resolve_model_path", "scale_camera_info", "stamp_to_seconds", "DEFAULT_MODEL_NAME"]

T = TypeVar("T")
DEFAULT_MODEL_NAME = "default.safetensors"


class LatestSlot(Generic[T]):
    """Single-slot mailbox between a subscription callback and a worker thread.

    ``put`` replaces an item the worker has not taken yet (that frame is dropped);
    ``take`` blocks until an item is there, the timeout passes, or the slot is closed.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Offer an item. Returns True if it replaced (dropped) an unprocessed one."""
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: float | None = None) -> T | None:
        """Remove and return the item, or None on timeout or when closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the worker for good; later ``take`` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed


class WarningThrottle:
    """Emit at most one message per cause per ``period_s``; say how many were suppressed.

    Args:
        emit: called with the message to log (e.g. ``node.get_logger().warning``).
        period_s: minimum time between two messages of the same cause.
        clock: monotonic time source (injectable for tests).
    """

    def __init__(self, emit: Callable[[str], Any], period_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._period = float(period_s)
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, cause: str, message: str) -> bool:
        """Log ``message`` unless ``cause`` was logged less than ``period_s`` ago.

        Returns:
            True if the message was emitted.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(cause)
            if last is not None and now - last < self._period:
                self._suppressed[cause] = self._suppressed.get(cause, 0) + 1
                return False
            self._last[cause] = now
            suppressed = self._suppressed.pop(cause, 0)
        if suppressed:
            message = f"{message} ({suppressed} more like this since the last report)"
        self._emit(message)
        return True


class RateWindow:
    """Frames and bits over a sliding window of wall-clock time.

    Args:
        window_s: window length in seconds (> 0).
        clock: monotonic time source.
    """

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = float(window_s)
        self._clock = clock
        self._events: deque[tuple[float, int, int]] = deque()

    def add(self, payload_bits: int, message_bits: int = 0) -> None:
        """Record one frame."""
        now = self._clock()
        self._events.append((now, int(payload_bits), int(message_bits)))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.window_s:
            self._events.popleft()

    def rates(self) -> tuple[float, float, float]:
        """Return ``(payload_kbps, message_kbps, fps)`` over the window (0 when empty)."""
        now = self._clock()
        self._trim(now)
        n = len(self._events)
        if n < 2:
            return 0.0, 0.0, 0.0
        # The first frame opens the window: n-1 frames arrived in (first, now]. Measuring up to
        # now (not to the last frame) lets the rates fall when the stream stalls.
        span = max(now - self._events[0][0], 1e-6)
        events = list(self._events)[1:]
        payload = sum(e[1] for e in events)
        message = sum(e[2] for e in events)
        return payload / span / 1000.0, message / span / 1000.0, (n - 1) / span


def stamp_to_seconds(stamp: Any) -> float:
    """``builtin_interfaces/Time`` -> float seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


def default_model_path() -> Path:
    """The bundled model: ``share/sqgan_ros/models/default.safetensors`` when installed with
    colcon (found through ament_index), else ``<repo>/models/default.safetensors``."""
    try:
        from ament_index_python.packages import (PackageNotFoundError,
                                                 get_package_share_directory)
        try:
            share = Path(get_package_share_directory("sqgan_ros")) / "models" / DEFAULT_MODEL_NAME
            if share.is_file():
                return share
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "models" / DEFAULT_MODEL_NAME


def resolve_model_path(value: str) -> Path:
    """The model file named by a ``model_file`` parameter (empty = bundled default).

    Raises:
        FileNotFoundError: with a one-line message saying how to get a model.
    """
    path = Path(value).expanduser() if value else default_model_path()
    if not path.is_file():
        hint = ("train one (see README.md) or set model_file" if not value
                else "check the model_file parameter")
        raise FileNotFoundError(f"model file not found: {path} ({hint})")
    return path


def scale_camera_info(info: Any, height: int, width: int) -> Any:
    """Return a copy of a ``sensor_msgs/CameraInfo`` with intrinsics scaled to ``height x width``.

    K and P rows 0 and 1 scale with the image; the ROI is reset; binning is cleared.
    """
    import copy

    out = copy.deepcopy(info)
    if info.width and info.height:
        sx = width / float(info.width)
        sy = height / float(info.height)
        k = list(info.k)
        k[0] *= sx
        k[2] *= sx
        k[4] *= sy
        k[5] *= sy
        out.k = k
        p = list(info.p)
        p[0] *= sx
        p[2] *= sx
        p[3] *= sx
        p[5] *= sy
        p[6] *= sy
        out.p = p
    out.width = int(width)
    out.height = int(height)
    out.binning_x = 0
    out.binning_y = 0
    out.roi.x_offset = 0
    out.roi.y_offset = 0
    out.roi.width = 0
    out.roi.height = 0
    out.roi.do_rectify = False
    return out
