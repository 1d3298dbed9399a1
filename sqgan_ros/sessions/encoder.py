"""The robot side's per-frame policy, as plain Python: what the encoder node does between messages.

::

    admit(subscribers) -- pause / resume (encode_only_when_subscribed) ------------------+
    subscriber_matched() / resume / ack timeout  -> INTRA policy (video)                 |
    screen_image(h, w)   -- refused before conversion (max_input_pixels)                 v
    add_image / add_labels (stamp matching) --> LatestSlot (newest wins) --> next_frame() -> encode()
        segment -> keep ratios (rate control or fixed) -> SemanticEncoder / VideoEncoder -> EncodedFrame
    sent(frame, message_bytes) -> link bytes (link_cost) -> rate controller update, link rates
        -> EncoderStats (per frame, robot-local); summary() -> at most one per stats_period_s

Thread use: the input methods run on the node's executor thread, ``next_frame``/``encode``/
``sent`` on its worker thread; shared state is under one lock. Checks the codec API makes itself
(image dtype, shape, side limits, label values) are not repeated here: its ``ValueError`` ends up
in :meth:`encode` and is counted like any refused frame by the caller.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sqgan_ros.link_cost import sample_link_cost
from sqgan_ros.rate_control import RateController
from sqgan_ros.sessions.frames import CameraFrame, EncodedFrame, EncoderStats
from sqgan_ros.sessions.mailbox import LatestSlot
from sqgan_ros.sessions.rate_notes import THIN_REGIMES, regime_note
from sqgan_ros.sessions.region import RegionRequest, parse_region
from sqgan_ros.sessions.runtime import configure_torch_threads, resolve_model_path
from sqgan_ros.sessions.settings import EncoderSettings, ModelSettings
from sqgan_ros.sessions.stamps import StampMatcher
from sqgan_ros.sessions.stats import RateWindow

__all__ = ["EncoderSession", "CameraFrame", "EncodedFrame", "EncoderStats", "INTRA_FRAMES_FOR_NEW_SUBSCRIBERS"]

_UINT32 = 1 << 32
#: INTRA frames sent when a subscriber matches (or a paused stream resumes) in video mode: two,
#: because a new subscriber may not have matched the publisher yet when the first one is sent.
INTRA_FRAMES_FOR_NEW_SUBSCRIBERS = 2
#: Frames the rate control learns from before a regime change is logged.
_REGIME_NOTE_AFTER = 5
#: Distinct refusal causes counted separately; more are counted as "other" (bounded memory).
_MAX_CAUSES = 64


@dataclass
class _Audience:
    paused: bool = False
    frames_idle: int = 0
    idle_since_resume: int = 0
    intra_wanted: int = 0
    rejected: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)


class EncoderSession:
    """Per-frame policy of the encoder node around a codec (``SemanticEncoder`` or ``VideoEncoder``).

    Args:
        codec: the encoder; a ``VideoEncoder`` when ``settings.video``.
        settings: the policy (validated).
        segmenter: run on frames without labels (None: no labels, unless they come with the frame).
        log: receives one-line info messages (pause, resume); default: discarded.
    """

    def __init__(self, codec: Any, settings: EncoderSettings, *, segmenter: Any = None,
                 log: Callable[[str], Any] | None = None) -> None:
        self.codec = codec
        self.video = settings.video
        self.segmenter = segmenter
        self.model_id = codec.loaded.model_id[:16]
        self.model_size = tuple(codec.loaded.config.image_size)
        self._log = log or (lambda _msg: None)
        self._lock = threading.Lock()
        self._settings = settings
        self._rate: RateController | None = None
        self._reserve_kbps = 0.0
        self._index_rdo: Any = None
        self._apply(settings)
        self._skipped = 0
        self._regime = "keep"
        self._regimes_logged: set[str] = set()
        self._latest: EncoderStats | None = None
        self._timing: list[tuple[float, float]] = []
        self._last_summary = -math.inf
        self._slot: LatestSlot[CameraFrame] = LatestSlot()
        self._matcher: StampMatcher[CameraFrame, np.ndarray] = StampMatcher(settings.labels_buffer)
        self._window = RateWindow(5.0)
        self._audience = _Audience()
        self._frame_id = 0
        self._region = RegionRequest()
        self.frames_total = 0
        #: The model file and torch threads in use (set by :meth:`open`).
        self.model_path: Path | None = None
        self.torch_threads: int | None = None

    @classmethod
    def open(cls, model: ModelSettings, settings: EncoderSettings, *,
             log: Callable[[str], Any] | None = None) -> EncoderSession:
        """Load the model (and segmenter) the settings name; torch is imported here.

        Raises:
            FileNotFoundError / ValueError / ModelFileError: bad model file, device or segmenter.
        """
        path = resolve_model_path(model.model_file)
        threads = configure_torch_threads(model.torch_threads)
        if settings.video:
            from sqgan_ros.video import VideoEncoder
            codec = VideoEncoder(path, settings.video_config(), device=model.device,
                                 precision=model.precision)
        else:
            from sqgan_ros.api import SemanticEncoder
            codec = SemanticEncoder(path, device=model.device, precision=model.precision)
        segmenter = None
        if settings.segmenter.strip().lower() != "topic":
            from sqgan_ros.segmentation import make_segmenter
            segmenter = make_segmenter(settings.segmenter, device=codec.device,
                                       precision=model.precision)
        session = cls(codec, settings, segmenter=segmenter, log=log)
        session.model_path, session.torch_threads = Path(path), threads
        return session

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> EncoderSettings:
        """The settings in force."""
        with self._lock:
            return self._settings

    @property
    def labels_from_topic(self) -> bool:
        """True when label maps come with the frames (``segmenter: topic``)."""
        return self._settings.segmenter.strip().lower() == "topic"

    def update(self, changes: Mapping[str, Any]) -> EncoderSettings:
        """Apply run-time changes (``{parameter name: value}``); they take effect on the next frame.

        Raises:
            ValueError: a value out of range (nothing is changed then).
        """
        with self._lock:
            settings = self._settings.updated(changes)
            self._apply(settings)
            return settings

    def _apply(self, settings: EncoderSettings) -> None:
        from sqgan_ros.codec.index_rdo import IndexRDO

        self._settings = settings
        if self.segmenter is not None and getattr(self.segmenter, "reports_confidence", False):
            self.segmenter.min_confidence = settings.segmenter_min_confidence
        self._index_rdo = IndexRDO(semantic=settings.rdo_lambda_semantic, image=settings.rdo_lambda_image)
        config = settings.rate_control()
        if config is None:
            self._rate = None
        elif self._rate is None:
            self._rate = RateController(config)
            self._rate.reserve_kbps = self._reserve_kbps
        else:
            self._rate.set_config(config)

    def mode(self) -> str:
        """One line naming the active mode (video, rate control or fixed keep ratios, weights)."""
        s = self.settings
        video = (f"video on (INTRA every {s.intra_interval} frames, ack timeout "
                 f"{s.ack_timeout_frames} frames)" if s.video else "video off (every frame INTRA)")
        if s.target_kbps > 0:
            c = s.rate_control()
            lo, hi = c.semantic_range
            rate = (f"rate control to {s.target_kbps:g} kbit/s on the link (image keep "
                    f"{c.min_keep:g}..{c.max_keep:g}, semantic {s.semantic_keep_ratio:g} "
                    f"({lo:g}..{hi:g}), frames skipped down to {s.min_fps:g} fps before the "
                    f"semantic keep ratio is lowered)")
        else:
            rate = f"fixed keep ratios (semantic {s.semantic_keep_ratio:g}, image {s.image_keep_ratio:g})"
        return f"{video}; {rate}"

    # ------------------------------------------------------------------ audience (INTRA policy)
    def subscriber_matched(self) -> None:
        """A subscriber newly matched the frame topic: in video mode the next frames are INTRA."""
        with self._lock:
            if self.video and self._settings.intra_on_new_subscriber:
                self._audience.intra_wanted = INTRA_FRAMES_FOR_NEW_SUBSCRIBERS

    def admit(self, subscribers: int) -> bool:
        """Whether to encode the camera frame that just arrived, given the frame topic's subscribers.

        With ``encode_only_when_subscribed`` nothing is encoded while the count is 0 (counted as
        idle; one log line on pausing, one on resuming). A resumed video stream starts with INTRA
        frames: the references and acknowledgements from before the pause are stale.
        """
        with self._lock:
            a = self._audience
            if subscribers == 0 and self._settings.encode_only_when_subscribed:
                a.frames_idle += 1
                a.idle_since_resume += 1
                pausing, a.paused = not a.paused, True
                if pausing:
                    self._log("no subscriber on the frame topic: camera frames are skipped until "
                              "one appears (encode_only_when_subscribed)")
                return False
            if a.paused:
                a.paused = False
                self._log(f"{subscribers} subscriber(s) on the frame topic: encoding resumed "
                          f"({a.idle_since_resume} camera frames skipped meanwhile)")
                a.idle_since_resume = 0
                if self.video:
                    a.intra_wanted = max(a.intra_wanted, INTRA_FRAMES_FOR_NEW_SUBSCRIBERS)
            return True

    def set_roi(self, roi: tuple[float, float, float, float] | None, now: float | None = None) -> bool:
        """An operator's region of interest ``(x, y, width, height)`` in camera pixels, or clear it.

        The region's latents are sent first (``SemanticEncoder.encode(roi=...)``) until
        ``roi_timeout_s`` after this call (0: until cleared); an empty region (width or height 0)
        or None clears it. In video mode a new region makes the next frame INTRA, so the decoder
        holds the whole region at once; INTER frames then keep it current.

        Returns:
            True when a region is active after the call.

        Raises:
            ValueError: not four finite numbers with width, height >= 0 (``parse_region``).
        """
        region = parse_region(roi)
        now = time.monotonic() if now is None else float(now)
        with self._lock:
            changed = self._region.set(region, now, self._settings.roi_timeout_s)
            if region is not None and changed and self.video:
                self._audience.intra_wanted = max(self._audience.intra_wanted, 1)
        if changed:
            self._log(f"region of interest {'cleared' if region is None else tuple(round(v) for v in region)}")
        return region is not None

    def roi(self, now: float | None = None) -> tuple[float, float, float, float] | None:
        """The active region of interest (None once it timed out or was cleared)."""
        with self._lock:
            region, lapsed = self._region.current(time.monotonic() if now is None else float(now))
        if lapsed:
            self._log("region of interest timed out")
        return region

    def acknowledge(self, frame_id: int) -> None:
        """The decoder holds the state after ``frame_id`` (video: predict from it)."""
        if self.video:
            self.codec.acknowledge(int(frame_id))

    # ------------------------------------------------------------------ inputs
    def screen_image(self, height: int, width: int) -> tuple[str, str] | None:
        """Check a camera image's declared size before converting it (``max_input_pixels``).

        The image's sides are the API's to check (``SemanticEncoder``); only what must be
        refused before any allocation is checked here. Count a refusal with :meth:`reject`.

        Returns:
            None when it may be converted, else ``(cause, reason)`` with cause ``"size"`` (zero)
            or ``"too_large"``.
        """
        limit = self.settings.max_input_pixels
        if height <= 0 or width <= 0:
            return "size", f"image has zero size {height}x{width}"
        if height * width > limit:
            return "too_large", (f"image too large: {height}x{width} = {height * width} pixels "
                                 f"exceeds max_input_pixels = {limit}")
        return None

    def reject(self, cause: str, message: str) -> str:
        """Count one refused input under ``cause``; returns ``message`` (for the caller's log)."""
        with self._lock:
            a = self._audience
            a.rejected += 1
            if cause not in a.by_cause and len(a.by_cause) >= _MAX_CAUSES:
                cause = "other"
            a.by_cause[cause] = a.by_cause.get(cause, 0) + 1
        return message

    def add_image(self, frame: CameraFrame, key: int) -> None:
        """A converted camera frame (``key``: its stamp, :func:`~sqgan_ros.sessions.stamps.stamp_key`)."""
        if not self.labels_from_topic:
            self._slot.put(frame)
            return
        with self._lock:
            labels = self._matcher.add_image(key, frame)
        if labels is not None:
            self._slot.put(_with_labels(frame, labels))

    def add_labels(self, labels: np.ndarray, key: int) -> None:
        """A converted label map for the camera frame with stamp ``key``."""
        with self._lock:
            frame = self._matcher.add_labels(key, labels)
        if frame is not None:
            self._slot.put(_with_labels(frame, labels))

    # ------------------------------------------------------------------ worker side
    def next_frame(self, timeout: float) -> CameraFrame | None:
        """The newest waiting frame, or None after ``timeout`` s or once closed."""
        return self._slot.take(timeout=timeout)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._slot.closed

    def close(self) -> None:
        """Wake the worker for good (idempotent)."""
        self._slot.close()

    def encode(self, frame: CameraFrame) -> EncodedFrame | None:
        """Choose the keep ratios (or skip the frame), segment (unless labels came with it), encode.

        Returns:
            The encoded frame, or None when the rate control skips it (a budget too thin for
            the camera's frame rate: counted in :attr:`frames_dropped`, nothing is computed).

        Raises:
            ValueError / TypeError: the codec refused the frame (its own checks), or any error of
                the networks: the caller counts it with :meth:`reject` and goes on.
        """
        from sqgan_ros.codec.model import KeepRatios
        from sqgan_ros.segmentation import ExternalLabels

        with self._lock:
            decision = self._rate.decide(frame.stamp) if self._rate is not None else None
            if decision is not None:
                self._note_regime(decision)
                if decision.skip:
                    self._skipped += 1
                    return None
        t0 = time.perf_counter()
        h, w = frame.rgb.shape[:2]
        labels = frame.labels
        if labels is not None:
            labels = ExternalLabels().fit(labels, (h, w))
        elif self.segmenter is not None:
            labels = self.segmenter.segment(frame.rgb)
        segment_ms = (time.perf_counter() - t0) * 1000.0
        with self._lock:
            s = self._settings
            want_intra = self._audience.intra_wanted > 0
            self._audience.intra_wanted = max(0, self._audience.intra_wanted - 1)
            keep = (KeepRatios(semantic=decision.semantic_keep_ratio, image=decision.image_keep_ratio)
                    if decision is not None else
                    KeepRatios(semantic=s.semantic_keep_ratio, image=s.image_keep_ratio))
            weights, index_rdo = dict(s.class_weights), self._index_rdo
        roi = self.roi()
        if self.video:  # the video encoder numbers frames and picks INTRA / INTER itself
            if want_intra:
                self.codec.request_intra()
            payload = self.codec.encode(frame.rgb, labels, keep_ratio=keep, class_weights=weights,
                                        index_rdo=index_rdo, roi=roi)
            stats = self.codec.last_stats
            frame_id, sent_ratio, frame_type = stats.frame_id, stats.sent_ratio, int(stats.frame_type)
        else:
            frame_id = self._frame_id
            payload = self.codec.encode(frame.rgb, labels, keep_ratio=keep, class_weights=weights,
                                        frame_id=frame_id, index_rdo=index_rdo, roi=roi)
            stats = self.codec.last_stats
            self._frame_id = (frame_id + 1) % _UINT32
            sent_ratio, frame_type = keep.image, 0
        return EncodedFrame(
            header=frame.header, stamp=frame.stamp, payload=payload, frame_id=frame_id,
            frame_type=frame_type, image_size=(h, w), model_size=self.model_size,
            semantic_keep_ratio=float(keep.semantic), image_keep_ratio=float(keep.image),
            sent_ratio=float(sent_ratio), semantic_kept=int(stats.semantic_k),
            image_kept=int(stats.image_k), num_latents=int(stats.num_latents),
            segment_ms=segment_ms, encode_ms=(time.perf_counter() - frame.received) * 1000.0)

    def sent(self, frame: EncodedFrame, message_bytes: int) -> EncoderStats:
        """Record that ``frame`` went out as a serialised sample of ``message_bytes``; its statistics.

        What the link carries for the sample (:func:`sqgan_ros.link_cost.sample_link_cost`: RTPS,
        UDP and IP headers included) is what the rate controller learns from and what
        ``link_kbps`` counts; only sent frames count (a frame decided on but never sent costs
        nothing). The returned per-frame statistics stay on the robot; :meth:`summary` says when
        to publish them.
        """
        link_bytes = sample_link_cost(int(message_bytes)).forward_bytes
        with self._lock:
            if self._rate is not None:
                self._rate.update(frame.stamp, frame.sent_ratio, link_bytes, frame.semantic_keep_ratio)
            self.frames_total += 1
            self._window.add(8 * len(frame.payload), 8 * link_bytes)
            payload_kbps, link_kbps, fps = self._window.rates()
            rejected = self._audience.rejected
            self._timing.append((frame.segment_ms, frame.encode_ms))
        h, w = frame.image_size
        stats = EncoderStats(
            frame_id=frame.frame_id, frame_type=frame.frame_type, payload_bits=8 * len(frame.payload),
            message_bits=8 * message_bytes, link_bits=8 * link_bytes,
            bpp=8.0 * len(frame.payload) / float(h * w),
            link_kbps=link_kbps, payload_kbps=payload_kbps, fps=fps,
            semantic_kept=frame.semantic_kept, image_kept=frame.image_kept,
            semantic_total=frame.num_latents, image_total=frame.num_latents,
            segment_ms=frame.segment_ms, encode_ms=frame.encode_ms, frames_total=self.frames_total,
            frames_dropped=self.frames_dropped, frames_rejected=rejected)
        with self._lock:
            self._latest = stats
        return stats

    def summary(self, now: float | None = None) -> EncoderStats | None:
        """The statistics to publish now, or None: at most one per ``stats_period_s``.

        The newest sent frame's statistics, with ``segment_ms`` / ``encode_ms`` averaged over
        the frames sent since the last summary (None when no frame was sent since).

        Args:
            now: monotonic seconds (default ``time.monotonic()``).
        """
        now = time.monotonic() if now is None else float(now)
        with self._lock:
            latest, timing = self._latest, self._timing
            if latest is None or not timing or now - self._last_summary < self._settings.stats_period_s:
                return None
            self._last_summary, self._timing = now, []
        segment = sum(t[0] for t in timing) / len(timing)
        encode = sum(t[1] for t in timing) / len(timing)
        return replace(latest, segment_ms=segment, encode_ms=encode)

    def set_link_reserve(self, kbps: float) -> None:
        """Link kbit/s spent besides frames (stats summary, camera info): off the frame budget."""
        with self._lock:
            self._reserve_kbps = float(kbps)
            if self._rate is not None:
                self._rate.reserve_kbps = self._reserve_kbps

    def _note_regime(self, decision: Any) -> None:
        """Log once (per regime) what the rate control does when the budget does not fit (lock held)."""
        regime = decision.regime
        if regime == self._regime or self._rate.frames_learned < _REGIME_NOTE_AFTER:
            return  # not while the model still learns the first frames: it is guessing then
        previous, self._regime = self._regime, regime
        if regime == "keep" and previous not in THIN_REGIMES:
            return
        if regime != "keep":
            if regime in self._regimes_logged:
                return
            self._regimes_logged.add(regime)
        self._log(regime_note(decision, self._settings, self._rate))

    # ------------------------------------------------------------------ counters
    @property
    def frames_dropped(self) -> int:
        """Frames replaced while busy, images whose labels never came, frames the rate control skipped."""
        return self._slot.dropped + self._matcher.dropped_images + self._skipped

    @property
    def frames_skipped(self) -> int:
        """Frames the rate control skipped since start (part of :attr:`frames_dropped`)."""
        return self._skipped

    @property
    def frames_idle(self) -> int:
        """Camera frames skipped since start because nothing subscribed to the frame topic."""
        with self._lock:
            return self._audience.frames_idle

    @property
    def frames_rejected(self) -> int:
        """Refused inputs since start."""
        with self._lock:
            return self._audience.rejected

    @property
    def rejected_by_cause(self) -> dict[str, int]:
        """Refused inputs since start by cause."""
        with self._lock:
            return dict(self._audience.by_cause)


def _with_labels(frame: CameraFrame, labels: np.ndarray) -> CameraFrame:
    return CameraFrame(frame.header, frame.stamp, frame.rgb, labels, frame.received)
