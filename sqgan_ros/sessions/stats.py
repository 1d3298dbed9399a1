"""Link statistics of a session: rates over a sliding window, lost / reordered frame ids."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CodecStatsRecord", "RateWindow", "FrameIdTracker"]


@dataclass(frozen=True)
class CodecStatsRecord:
    """CodecStats fields of one frame, by the message's field names; both sessions fill it.

    The encoder leaves what only the decoder knows (``decode_ms``, ``latency_ms``,
    ``frames_lost``) at its default, the decoder what only the encoder knows (``segment_ms``).
    """

    frame_id: int
    frame_type: int
    payload_bits: int
    message_bits: int
    link_bits: int
    bpp: float
    link_kbps: float
    payload_kbps: float
    fps: float
    semantic_kept: int
    image_kept: int
    semantic_total: int
    image_total: int
    encode_ms: float
    frames_total: int
    frames_dropped: int
    frames_rejected: int
    segment_ms: float = math.nan
    decode_ms: float = math.nan
    latency_ms: float = math.nan
    frames_lost: int = 0


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
        self._since = 0.0  # when the current stream (the window's events) began

    def add(self, payload_bits: int, message_bits: int = 0) -> None:
        """Record one frame."""
        now = self._clock()
        self._trim(now)
        if not self._events:
            self._since = now
        self._events.append((now, int(payload_bits), int(message_bits)))

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
        if now - self._since >= self.window_s:
            # A stream older than the window: the frames of the last window_s seconds, less the
            # newest one. Rates are read when a frame arrives and held until the next one; with
            # the newest frame counted (or with n-1 frames over first..now, a ratio estimator)
            # a held value would read about one frame per window high (8 % at 2.4 fps).
            events = list(self._events)[:-1]
            span = self.window_s
        else:
            # Start-up: the first frame opens the window, n-1 frames arrived in (first, now].
            # Measuring up to now (not to the last frame) lets the rates fall when it stalls.
            span = max(now - self._events[0][0], 1e-6)
            events = list(self._events)[1:]
        payload = sum(e[1] for e in events)
        message = sum(e[2] for e in events)
        return payload / span / 1000.0, message / span / 1000.0, len(events) / span


class FrameIdTracker:
    """Counts lost, late (reordered) and duplicate frames from uint32 frame ids that wrap.

    An id ahead of the newest one seen opens a gap: the ids in between count as lost. When one
    of them arrives later it is counted as reordered and no longer as lost, so ``lost`` is
    always the number of ids that have not arrived (yet). Gaps are remembered for ``window``
    ids; an id further back than that, or a jump forward of ``restart_gap`` or more, is taken
    as an encoder restart (ids start again) and resets the tracker without counting anything.

    Args:
        window: how many ids back a late frame is still recognised.
        restart_gap: a forward jump this large is a restart, not a burst of losses.
    """

    MODULUS = 1 << 32

    def __init__(self, window: int = 1024, restart_gap: int = 1 << 16) -> None:
        if window < 1 or restart_gap <= window:
            raise ValueError(f"need 1 <= window < restart_gap, got {window}, {restart_gap}")
        self.window = int(window)
        self.restart_gap = int(restart_gap)
        self.newest: int | None = None
        self._missing: set[int] = set()
        self.received = 0
        self.lost = 0
        self.reordered = 0
        self.duplicates = 0
        self.restarts = 0

    def add(self, frame_id: int) -> str:
        """Record one received id.

        Args:
            frame_id: the frame's uint32 id.

        Returns:
            ``"first"``, ``"next"`` (in order, possibly after a gap), ``"late"`` (reordered),
            ``"duplicate"`` or ``"restart"``.
        """
        if isinstance(frame_id, bool) or not isinstance(frame_id, int) \
                or not 0 <= frame_id < self.MODULUS:
            raise ValueError(f"frame_id must be a uint32, got {frame_id!r}")
        self.received += 1
        newest = self.newest
        if newest is None:
            self.newest = frame_id
            return "first"
        ahead = (frame_id - newest) % self.MODULUS
        if ahead == 0:
            self.duplicates += 1
            return "duplicate"
        if ahead < self.restart_gap:
            self.lost += ahead - 1
            for k in range(max(1, ahead - self.window), ahead):
                self._missing.add((newest + k) % self.MODULUS)
            self.newest = frame_id
            self._trim()
            return "next"
        behind = (newest - frame_id) % self.MODULUS
        if behind <= self.window:
            if frame_id in self._missing:
                self._missing.discard(frame_id)
                self.lost -= 1
                self.reordered += 1
                return "late"
            self.duplicates += 1
            return "duplicate"
        self.restarts += 1
        self.newest = frame_id
        self._missing.clear()
        return "restart"

    def _trim(self) -> None:
        if len(self._missing) > self.window:
            newest = self.newest
            self._missing = {i for i in self._missing
                             if (newest - i) % self.MODULUS <= self.window}
