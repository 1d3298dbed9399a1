"""Which frame an encoder predicts from: acknowledged references, periodic INTRA, resync.

Rules, in order, for the frame about to be coded (``frame_id``)::

    forced (request_intra, first frame, grid change)             -> INTRA
    intra_interval > 0 and the last INTRA is that many frames old -> INTRA
    feedback on and an ack has arrived:
        newest ack held in the history and <= max_reference_age old -> INTER against it
        else the last INTRA is <= max_reference_age old             -> INTER against it
                                                                      (waiting for its ack)
        else                                                        -> INTRA (resync)
    otherwise (one-way link, or no ack yet)                      -> INTER against the last INTRA

So a decoder that confirmed frame ``a`` can decode every later frame whose reference it holds,
a lost frame never corrupts later ones (they never reference an unconfirmed frame unless it is
INTRA), and without feedback the stream is a chain of periodic INTRA frames, each followed by
INTER frames that reference it only. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqgan_ros.video.state import frame_distance

__all__ = ["VideoConfig", "ReferencePolicy", "ReferenceChoice"]

_HALF_RANGE = 2**31


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


@dataclass(frozen=True)
class VideoConfig:
    """Settings of the video encoder.

    Args:
        intra_interval: frames between periodic INTRA frames (0: none; needs feedback). Also
            bounds how long a receiver without feedback waits for a decodable frame.
        refresh_fraction: fraction of each branch's latents re-sent per frame in a rolling
            window (when they differ from the reference at all), in [0, 1]: every latent is then
            exact at most ``ceil(1 / refresh_fraction)`` frames after an INTRA it follows.
        change_threshold: a latent the reference holds counts as changed when keeping its
            reference codeword costs more than this fraction of the codebook's RMS codeword norm
            in distance to the new unquantized latent (0: any index change), >= 0; see
            ``selection.stale_latents``. 0.4 measured on the default model: vtest at 10 fps,
            keep 0.25, 2.4x fewer bits than index-change skipping at the same LPIPS; on a
            moving synthetic street no LPIPS loss.
        feedback: use FrameAck acknowledgements when they arrive.
        max_reference_age: an acknowledgement older than this many frames is stale (the
            decoder stopped confirming): resync with an INTRA frame. Must be < ``history``.
        history: reference states the encoder keeps (frame id -> index maps).
        scene_cut_fraction: code an INTRA frame instead when an INTER frame would leave more
            than this fraction of a branch's latents held by the decoder but stale (a scene
            cut or a fast pan: the de-masker does better than stale latents), in [0, 1]
            (1: never).
    """

    intra_interval: int = 50
    refresh_fraction: float = 0.02
    change_threshold: float = 0.4
    feedback: bool = True
    max_reference_age: int = 20
    history: int = 32
    scene_cut_fraction: float = 0.25

    def __post_init__(self) -> None:
        _check_int("intra_interval", self.intra_interval, 0)
        _check_int("max_reference_age", self.max_reference_age, 1)
        _check_int("history", self.history, 2)
        for name in ("refresh_fraction", "change_threshold", "scene_cut_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
            if not value >= 0.0 or value == float("inf"):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        for name in ("refresh_fraction", "scene_cut_fraction"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be <= 1, got {getattr(self, name)}")
        if not isinstance(self.feedback, bool):
            raise TypeError(f"feedback must be a bool, got {type(self.feedback).__name__}")
        if self.intra_interval == 0 and not self.feedback:
            raise ValueError("intra_interval 0 needs feedback: a one-way stream without periodic "
                             "INTRA frames never recovers from a loss")
        if self.max_reference_age >= self.history:
            raise ValueError(f"max_reference_age ({self.max_reference_age}) must be < history "
                             f"({self.history})")


@dataclass(frozen=True)
class ReferenceChoice:
    """The policy's decision for one frame.

    Args:
        intra: True for an INTRA frame.
        reference_id: the frame to predict from (the frame's own id when INTRA).
        reason: short human-readable reason ("first", "forced", "periodic", "ack", "intra",
            "resync", "missing"; the transmitter adds "grid" and "scene-cut").
    """

    intra: bool
    reference_id: int
    reason: str


class ReferencePolicy:
    """Tracks acknowledgements and the last INTRA frame; picks each frame's reference.

    Args:
        config: video settings.
    """

    def __init__(self, config: VideoConfig) -> None:
        if not isinstance(config, VideoConfig):
            raise TypeError(f"config must be a VideoConfig, got {type(config).__name__}")
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget acks and the last INTRA (the next frame is INTRA)."""
        self.last_intra: int | None = None
        self.newest_ack: int | None = None
        self._force = True

    def request_intra(self) -> None:
        """Make the next frame INTRA (e.g. a receiver asked, or the stream parameters changed)."""
        self._force = True

    def acknowledge(self, frame_id: int) -> None:
        """Record that the decoder holds the state after ``frame_id``.

        Older acknowledgements than the newest one seen (reordered feedback) are ignored.

        Args:
            frame_id: uint32 frame id the decoder reports as decoded.
        """
        if isinstance(frame_id, bool) or not isinstance(frame_id, int):
            raise TypeError(f"frame_id must be an int, got {type(frame_id).__name__}")
        if not 0 <= frame_id < 2**32:
            raise ValueError(f"frame_id must be a uint32, got {frame_id}")
        if self.newest_ack is None or 0 < frame_distance(frame_id, self.newest_ack) < _HALF_RANGE:
            self.newest_ack = frame_id

    def choose(self, frame_id: int, held: set[int] | object) -> ReferenceChoice:
        """Decide how to code ``frame_id``.

        Args:
            frame_id: the frame about to be coded.
            held: container of frame ids whose states the encoder still holds.
        """
        cfg = self.config
        if self._force or self.last_intra is None:
            return ReferenceChoice(True, frame_id, "forced" if self.last_intra is not None else "first")
        intra_age = frame_distance(frame_id, self.last_intra)
        if cfg.intra_interval and intra_age >= cfg.intra_interval:
            return ReferenceChoice(True, frame_id, "periodic")
        if cfg.feedback and self.newest_ack is not None:
            ack_age = frame_distance(frame_id, self.newest_ack)
            if 0 < ack_age <= cfg.max_reference_age and self.newest_ack in held:
                return ReferenceChoice(False, self.newest_ack, "ack")
            if 0 < intra_age <= cfg.max_reference_age and self.last_intra in held:
                return ReferenceChoice(False, self.last_intra, "intra")
            return ReferenceChoice(True, frame_id, "resync")
        if self.last_intra in held and intra_age > 0:
            return ReferenceChoice(False, self.last_intra, "intra")
        return ReferenceChoice(True, frame_id, "missing")

    def sent(self, choice: ReferenceChoice, frame_id: int) -> None:
        """Record that ``frame_id`` was coded as ``choice`` (call after a successful encode)."""
        if choice.intra:
            self.last_intra = frame_id
            self._force = False
