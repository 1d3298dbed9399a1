"""The operator side's per-frame policy, as plain Python: what the decoder node does per message.

::

    receive(payload, message_bytes, stamp)
        payload header (peek_header: model id, frame id and type, sizes; the message repeats
        none of it) -> model id check -> VideoDecoder.decode (the API screens the header:
        model size, grids, max_output_pixels; then entropy decoding, references)
        -> output at the camera or the model size (one resize at most, in the API)
        -> Decoded(image, labels, size, ack, stats)   or   Refused(kind, message)
    encoder_stats(frame_id, encode_ms)   (the encoder's summary, when subscribed: its encode time)
    ack_due(ack, now) / ack_pending(now)   acknowledgements coalesced to one per ack_period_s

A refused frame (corrupt, another model's, forged sizes) and a frame whose reference is missing
(joined late, lost reference: wait, the encoder resyncs when acknowledgements go stale) cost that
frame only; both are counted. Frames that arrive out of order are decoded like the others; ids
that never arrive count as lost (:class:`~sqgan_ros.sessions.stats.FrameIdTracker`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sqgan_ros.link_cost import sample_link_cost
from sqgan_ros.sessions.runtime import configure_torch_threads, resolve_model_path
from sqgan_ros.sessions.settings import DecoderSettings, ModelSettings
from sqgan_ros.sessions.stats import CodecStatsRecord, FrameIdTracker, RateWindow

__all__ = ["DecoderSession", "Decoded", "Refused", "DecoderStats"]

_ENCODE_MS_KEPT = 64


#: A decoder session's per-frame statistics (side DECODER).
DecoderStats = CodecStatsRecord


@dataclass(frozen=True)
class Decoded:
    """A decoded frame, ready to publish.

    Args:
        image: RGB ``uint8 (H, W, 3)`` at ``size``.
        labels: class ids ``uint8 (H, W)`` at ``size``.
        size: ``(H, W)`` of the output (camera or model size, per ``output_size``).
        ack: the acknowledgement to send back (``AckInfo``), or None.
        stats: the frame's statistics.
        notice: a line worth logging (ids restarted, late or duplicate frame), or None.
    """

    image: np.ndarray
    labels: np.ndarray
    size: tuple[int, int]
    ack: Any
    stats: DecoderStats
    notice: str | None = None


@dataclass(frozen=True)
class Refused:
    """A frame that was not decoded.

    Args:
        kind: ``"rejected"`` (corrupt, another model's, forged sizes: never decodable) or
            ``"waiting"`` (its reference is not held: the stream resumes at a decodable frame).
        message: one line saying why.
        cause: ``"model_id"``, ``"bitstream"`` (the API refused it) or ``"reference"``.
        ack: the acknowledgement to send anyway (``waiting``: tells the encoder what we hold).
    """

    kind: str
    message: str
    cause: str
    ack: Any = None


class DecoderSession:
    """Per-frame policy of the decoder node around a ``VideoDecoder``.

    Args:
        codec: the decoder (a ``sqgan_ros.video.VideoDecoder``; INTRA frames decode exactly as
            with ``SemanticDecoder``).
        settings: the policy (validated).
        clock: wall-clock seconds of the stamps' clock (for latency).
    """

    def __init__(self, codec: Any, settings: DecoderSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.codec = codec
        self.model_id = codec.loaded.model_id[:16]
        self.model_size = tuple(codec.loaded.config.image_size)
        self._clock = clock
        self._settings = settings
        self._window = RateWindow(settings.stats_window_s)
        self.codec.max_output_pixels = settings.max_output_pixels
        self.ids = FrameIdTracker()
        self.frames_total = 0
        self.frames_dropped = 0
        self.frames_rejected = 0
        self._encode_ms: OrderedDict[int, float] = OrderedDict()
        self._last_encode_ms = math.nan
        self._pending_ack: Any = None
        self._last_ack = -math.inf
        #: The model file and torch threads in use (set by :meth:`open`).
        self.model_path: Path | None = None
        self.torch_threads: int | None = None

    @classmethod
    def open(cls, model: ModelSettings, settings: DecoderSettings,
             clock: Callable[[], float] = time.time) -> DecoderSession:
        """Load the model the settings name; torch is imported here (``clock``: see the class).

        Raises:
            FileNotFoundError / ValueError / ModelFileError: bad model file or device.
        """
        path = resolve_model_path(model.model_file)
        threads = configure_torch_threads(model.torch_threads)
        from sqgan_ros.video import VideoDecoder

        codec = VideoDecoder(path, device=model.device, precision=model.precision,
                             max_output_pixels=settings.max_output_pixels)
        session = cls(codec, settings, clock)
        session.model_path, session.torch_threads = Path(path), threads
        return session

    @property
    def settings(self) -> DecoderSettings:
        """The settings in force."""
        return self._settings

    def update(self, changes: Mapping[str, Any]) -> DecoderSettings:
        """Apply run-time changes (``{parameter name: value}``) from the next frame on.

        Raises:
            ValueError: a value out of range (nothing is changed then).
        """
        settings = self._settings.updated(changes)
        if settings.stats_window_s != self._settings.stats_window_s:
            self._window = RateWindow(settings.stats_window_s)
        self.codec.max_output_pixels = settings.max_output_pixels
        self._settings = settings
        return settings

    def encoder_stats(self, frame_id: int, encode_ms: float) -> None:
        """The encoder's statistics (its summary, newest frame ``frame_id``) arrived.

        A frame reports the encode time of its own id when known, else the newest summary's
        (the mean since the summary before).
        """
        self._last_encode_ms = float(encode_ms)
        self._encode_ms[int(frame_id)] = float(encode_ms)
        while len(self._encode_ms) > _ENCODE_MS_KEPT:
            self._encode_ms.popitem(last=False)

    def receive(self, payload: bytes, *, message_bytes: int, stamp: float) -> Decoded | Refused:
        """Decode one SemanticFrame's payload.

        Args:
            payload: the frame's bytes; its header says the model id, frame id and type.
            message_bytes: size of the whole serialised sample (CDR): the link bytes reported
                are estimated from it (:func:`sqgan_ros.link_cost.sample_link_cost`).
            stamp: the camera stamp in seconds (for the end-to-end latency).
        """
        from sqgan_ros.bitstream import BitstreamError, peek_header
        from sqgan_ros.video import ReferenceMissingError

        t0 = time.perf_counter()
        try:
            header = peek_header(payload)
        except (BitstreamError, TypeError) as exc:
            self.frames_rejected += 1
            return Refused("rejected", f"frame refused: {exc}", "bitstream")
        frame_id, frame_type, model_id = header.frame_id, int(header.frame_type), header.model_id.hex()
        if model_id != self.model_id:
            self.frames_rejected += 1
            return Refused("rejected", f"frame {frame_id} from model {model_id} refused: this "
                                       f"decoder runs model {self.model_id}", "model_id")
        size = self.model_size if self._settings.output_size == "model" else None
        try:
            decoded = self.codec.decode(payload, size)
        except ReferenceMissingError as exc:
            self.frames_dropped += 1
            self.ids.add(int(frame_id))
            return Refused("waiting", str(exc), "reference", self.codec.ack())
        except BitstreamError as exc:
            self.frames_rejected += 1
            cause = "model_id" if "model id mismatch" in str(exc) else "bitstream"
            return Refused("rejected", f"frame {frame_id} refused: {exc}", cause)
        notice = self._count_id(int(frame_id))
        decode_ms = (time.perf_counter() - t0) * 1000.0
        self.frames_total += 1
        link_bytes = sample_link_cost(int(message_bytes)).forward_bytes
        self._window.add(8 * len(payload), 8 * link_bytes)
        payload_kbps, link_kbps, fps = self._window.rates()
        h, w = decoded.header.image_size
        state = self.codec.last_state  # latents held after this frame (INTER: with the reference's)
        kept = (int(state.semantic.known.sum()), int(state.image.known.sum()), int(state.image.known.size))
        stats = DecoderStats(
            frame_id=int(frame_id), frame_type=int(frame_type), payload_bits=8 * len(payload),
            message_bits=8 * int(message_bytes), link_bits=8 * link_bytes,
            bpp=8.0 * len(payload) / float(h * w),
            link_kbps=link_kbps, payload_kbps=payload_kbps, fps=fps,
            semantic_kept=kept[0], image_kept=kept[1], semantic_total=kept[2], image_total=kept[2],
            encode_ms=self._encode_ms.get(int(frame_id), self._last_encode_ms), decode_ms=decode_ms,
            latency_ms=(self._clock() - stamp) * 1000.0, frames_total=self.frames_total,
            frames_dropped=self.frames_dropped, frames_lost=max(0, self.ids.lost),
            frames_rejected=self.frames_rejected)
        return Decoded(decoded.image, decoded.labels, tuple(decoded.image.shape[:2]),
                       self.codec.ack(), stats, notice)

    def ack_due(self, ack: Any, now: float | None = None) -> Any:
        """The acknowledgement to publish now, or None (coalesced to one per ``ack_period_s``).

        Acknowledgements are cumulative (the newest state the decoder holds), so one sent late
        replaces all those before it: an ack not due now is kept and :meth:`ack_pending` sends
        it when the period has passed.

        Args:
            ack: the newest acknowledgement (None: nothing new).
            now: monotonic seconds (default ``time.monotonic()``).
        """
        if ack is not None:
            self._pending_ack = ack
        return self.ack_pending(now)

    def ack_pending(self, now: float | None = None) -> Any:
        """The kept acknowledgement once ``ack_period_s`` has passed since the last one, else None."""
        now = time.monotonic() if now is None else float(now)
        if self._pending_ack is None or now - self._last_ack < self._settings.ack_period_s:
            return None
        ack, self._pending_ack, self._last_ack = self._pending_ack, None, now
        return ack

    def _count_id(self, frame_id: int) -> str | None:
        ids = self.ids
        newest = ids.newest
        kind = ids.add(frame_id)
        if kind == "restart":
            return f"frame ids restarted ({newest} -> {frame_id}); encoder restart?"
        if kind in ("late", "duplicate"):
            return (f"frame {frame_id} arrived after frame {newest} ({kind}); so far "
                    f"{ids.reordered} reordered, {ids.duplicates} duplicate, {ids.lost} lost")
        return None

    @property
    def frame_counts(self) -> dict[str, int]:
        """Link statistics since start, by name.

        Keys: received, lost (net of late arrivals), reordered, duplicates, restarts, decoded,
        rejected, dropped.
        """
        ids = self.ids
        return {"received": ids.received, "lost": ids.lost, "reordered": ids.reordered,
                "duplicates": ids.duplicates, "restarts": ids.restarts,
                "decoded": self.frames_total, "rejected": self.frames_rejected,
                "dropped": self.frames_dropped}
