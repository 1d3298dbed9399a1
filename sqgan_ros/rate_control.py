"""Rate control: pick each frame's keep ratios (and which frames to send) so the stream fits a budget.

SQ-GAN serves many rates with one model: the number of latents sent per branch is
``k = round(keep_ratio * N)`` (Pezone et al., IEEE TCCN 2025, SAMM). With entropy coding the
bytes per frame are not a fixed function of ``k``: they depend on the content. This controller
learns that dependence online and closes the loop on what was actually sent. The bytes it is fed
are whatever the budget counts: the encoder node feeds the link bytes of each frame's DDS sample
(:mod:`sqgan_ros.link_cost`), so ``target_kbps`` is a link budget::

    stamp --> camera frame interval T (EMA of the offered frames' stamp deltas) ------+
    bucket (bits sent - bits allowed) --> per-frame budget B = R*T - bucket/horizon    v
    bytes ~ a + b*k_image + c*k_semantic  (RLS, exponential forgetting) --> ratios, regime
    actual bytes of the encoded frame ------------------------------------> update model, bucket

``R`` is the frame budget: ``target_kbps`` minus :attr:`RateController.reserve_kbps` (what the
caller spends on the link besides frames: a stats summary, camera info). The budget is spent in
this order (the regime of each decision says where it is)::

    generous   image keep at max_keep, semantic keep raised from its nominal value up to
               max_semantic_keep                                           ("ceiling")
    normal     semantic keep nominal, image keep in [min_keep, max_keep]   ("keep")
    thin       image keep min_keep: frames are skipped, sent only when the bits accrued since
               the last sent frame pay for one ("frame_rate"), down to min_fps
    thinner    at min_fps the semantic keep ratio is lowered, down to min_semantic_keep
               ("semantic"); below that the frame rate falls further ("floor")

A frame is sent in the thin regimes only when the accrued credit covers its predicted cost, so
the long-run rate stays at or under ``R`` whatever the camera does; the leaky bucket pays back
over/under-spend within ``horizon_s`` in the normal regimes and is clipped to
``+-R * bucket_limit_s`` so an unreachable stretch does not cause a long opposite swing.

Pure Python + numpy; no ROS and no torch. The encoder session owns one instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["RateControlConfig", "RateDecision", "RateController", "REGIMES"]

#: Decision regimes, from the most generous budget to the thinnest.
REGIMES = ("ceiling", "keep", "frame_rate", "semantic", "floor")


@dataclass(frozen=True)
class RateControlConfig:
    """Settings of :class:`RateController`.

    Args:
        target_kbps: bit budget in kbit/s (1 kbit = 1000 bits); must be > 0.
        min_keep: smallest image keep ratio the controller may choose, in (0, 1].
        max_keep: largest image keep ratio, in [min_keep, 1].
        semantic_keep_ratio: nominal semantic-branch keep ratio, in (0, 1].
        semantic_scaled: if True the semantic keep ratio follows the image one
            (``semantic = semantic_keep_ratio * k / max_keep``, clipped to [min_keep, 1]) in the
            normal regime; if False it stays at the nominal value there.
        min_semantic_keep: lowest semantic keep ratio of the "semantic" regime, in (0, 1]
            (at most ``semantic_keep_ratio``; larger values are treated as equal to it).
        max_semantic_keep: highest semantic keep ratio of the "ceiling" regime, in (0, 1]
            (below ``semantic_keep_ratio`` it is treated as equal to it).
        min_fps: frame rate the "frame_rate" regime goes down to before the semantic keep ratio
            is lowered, >= 0.
        skip_frames: if False the thin regimes are off: every frame is sent, saturated at the
            lowest keep ratios (offline tools that must code every frame).
        forgetting: RLS forgetting factor per frame, in (0, 1]; 0.9 remembers ~10 frames.
        horizon_s: time over which the leaky bucket pays back accumulated error, > 0.
        bucket_limit_s: the bucket is clipped to +-(target * bucket_limit_s) bits.
        initial_fps: frame rate assumed before two stamps have been seen, > 0.
        fps_smoothing: EMA weight of a new frame interval, in (0, 1].
    """

    target_kbps: float
    min_keep: float = 0.02
    max_keep: float = 1.0
    semantic_keep_ratio: float = 0.25
    semantic_scaled: bool = False
    min_semantic_keep: float = 0.05
    max_semantic_keep: float = 1.0
    min_fps: float = 1.0
    skip_frames: bool = True
    forgetting: float = 0.9
    horizon_s: float = 2.0
    bucket_limit_s: float = 2.0
    initial_fps: float = 10.0
    fps_smoothing: float = 0.1

    def __post_init__(self) -> None:
        _check_positive_finite("target_kbps", self.target_kbps)
        _check_ratio("min_keep", self.min_keep)
        _check_ratio("max_keep", self.max_keep)
        _check_ratio("semantic_keep_ratio", self.semantic_keep_ratio)
        _check_ratio("min_semantic_keep", self.min_semantic_keep)
        _check_ratio("max_semantic_keep", self.max_semantic_keep)
        if self.max_keep < self.min_keep:
            raise ValueError(f"max_keep ({self.max_keep}) must be >= min_keep ({self.min_keep})")
        if isinstance(self.min_fps, bool) or not isinstance(self.min_fps, (int, float)) \
                or not (math.isfinite(self.min_fps) and self.min_fps >= 0.0):
            raise ValueError(f"min_fps must be finite and >= 0, got {self.min_fps!r}")
        if not (0.0 < self.forgetting <= 1.0):
            raise ValueError(f"forgetting must be in (0, 1], got {self.forgetting}")
        if not (0.0 < self.fps_smoothing <= 1.0):
            raise ValueError(f"fps_smoothing must be in (0, 1], got {self.fps_smoothing}")
        _check_positive_finite("horizon_s", self.horizon_s)
        _check_positive_finite("bucket_limit_s", self.bucket_limit_s)
        _check_positive_finite("initial_fps", self.initial_fps)

    @property
    def semantic_range(self) -> tuple[float, float]:
        """``(lowest, highest)`` semantic keep ratio the controller may choose."""
        nominal = self.semantic_keep_ratio
        return min(self.min_semantic_keep, nominal), max(self.max_semantic_keep, nominal)


@dataclass(frozen=True)
class RateDecision:
    """The controller's choice for one frame.

    Args:
        image_keep_ratio: keep ratio for the image branch.
        semantic_keep_ratio: keep ratio for the semantic branch.
        budget_bytes: bytes the controller aimed for on this frame.
        predicted_bytes: bytes the model predicts at the chosen ratios.
        saturated: True when the budget could not be met at the camera's frame rate inside the
            keep-ratio ranges (too thin or too generous).
        skip: True when this frame must not be sent (thin regimes: the credit does not cover it).
        regime: one of :data:`REGIMES`.
        fps: frame rate the controller plans to send at (the camera's in the normal regimes).
    """

    image_keep_ratio: float
    semantic_keep_ratio: float
    budget_bytes: float
    predicted_bytes: float
    saturated: bool
    skip: bool = False
    regime: str = "keep"
    fps: float = 0.0


class RateController:
    """Per-frame keep-ratio and frame-skip controller for a target bit rate.

    Call :meth:`decide` with the stamp of every frame offered (before encoding it); skip the
    frame when the decision says so, else encode it and call :meth:`update` with the stamp, the
    ratios actually used and the bytes actually produced. Frames decided on but never sent need
    no update (they cost nothing).

    Args:
        config: controller settings.
    """

    _MAX_COV = 1e6  # bound on the covariance trace of (a, b) (prevents wind-up)
    _MAX_C_VAR = 1e5  # bound on the variance of the semantic coefficient

    def __init__(self, config: RateControlConfig) -> None:
        if not isinstance(config, RateControlConfig):
            raise TypeError(f"config must be a RateControlConfig, got {type(config).__name__}")
        self._config = config
        self._reserve_kbps = 0.0
        self.reset()

    # ------------------------------------------------------------------ state
    @property
    def config(self) -> RateControlConfig:
        """The active settings."""
        return self._config

    @property
    def frame_interval_s(self) -> float:
        """Current estimate of the interval between offered (camera) frames in seconds."""
        return self._interval

    @property
    def model(self) -> tuple[float, float]:
        """Bytes-per-frame model ``(a, b)``: ``bytes ~ a + b * image_keep_ratio`` (nominal semantic)."""
        return float(self._theta[0]), float(self._theta[1])

    @property
    def model3(self) -> tuple[float, float, float]:
        """The full model ``(a, b, c)``: ``bytes ~ a + b * image_keep + c * (semantic - nominal)``.

        Centred on the nominal semantic keep ratio, so ``a`` and ``b`` are learned as with a fixed
        semantic ratio; ``c`` only from frames that varied it.
        """
        a, b, c = (float(v) for v in self._theta)
        return a, b, c

    @property
    def frames_learned(self) -> int:
        """Frames the model has learned from (:meth:`update` calls since the last reset)."""
        return self._updates

    @property
    def bucket_bits(self) -> float:
        """Accumulated over-spend (positive) or under-spend (negative) in bits."""
        return self._bucket

    @property
    def reserve_kbps(self) -> float:
        """Part of ``target_kbps`` spent on the link besides frames (not for frames)."""
        return self._reserve_kbps

    @reserve_kbps.setter
    def reserve_kbps(self, value: float) -> None:
        value = float(value)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"reserve_kbps must be finite and >= 0, got {value}")
        self._reserve_kbps = value

    @property
    def frame_kbps(self) -> float:
        """The frame budget: ``target_kbps - reserve_kbps``, at least 5 % of the target."""
        target = self._config.target_kbps
        return max(target - self._reserve_kbps, 0.05 * target)

    def reset(self) -> None:
        """Forget everything learned (model, frame rate, bucket)."""
        self._interval = 1.0 / self._config.initial_fps
        self._last_offer: float | None = None
        self._clock: float | None = None  # stamp up to which the budget was credited
        self._bucket = 0.0
        self._thin = False
        # Prior: ~64 bytes fixed, ~1 byte per percent of image latents, half that for semantic
        # latents; deliberately vague.
        self._theta = np.array([64.0, 100.0, 50.0])
        self._cov = np.diag([1e4, 1e5, 1e5])
        self._updates = 0

    def set_config(self, config: RateControlConfig) -> None:
        """Change settings at run time, keeping the learned model and frame rate.

        Args:
            config: new settings; the bucket is kept but re-clipped to the new limit.
        """
        if not isinstance(config, RateControlConfig):
            raise TypeError(f"config must be a RateControlConfig, got {type(config).__name__}")
        self._config = config
        self._bucket = self._clip_bucket(self._bucket)

    # --------------------------------------------------------------- control
    def predict(self, image_keep: float, semantic_keep: float) -> float:
        """Predicted bytes of a frame at these keep ratios."""
        a, b, c = self.model3
        return a + max(b, 1e-3) * image_keep + max(c, 0.0) * (semantic_keep - self._config.semantic_keep_ratio)

    def decide(self, stamp: float | None = None) -> RateDecision:
        """Choose the keep ratios for the frame offered now, or to skip it.

        Args:
            stamp: the frame's time stamp in seconds (camera clock). Every offered frame should
                be decided on with its stamp: the camera interval and the credit come from it.

        Returns:
            The decision for this frame.
        """
        cfg = self._config
        rate = self.frame_kbps * 1000.0  # bits per second for frames
        gap = 0.0
        if stamp is not None and math.isfinite(float(stamp)):
            stamp = float(stamp)
            if self._last_offer is not None:
                dt = stamp - self._last_offer
                if 0.0 < dt < 10.0 * max(self._interval, 0.1):
                    self._interval += cfg.fps_smoothing * (dt - self._interval)
            self._last_offer = stamp
            if self._clock is None or stamp < self._clock:  # first frame, or stamps went back
                self._clock = stamp
            gap = stamp - self._clock
        interval = self._interval
        # Normal regimes: a frame at the camera's rate, paying back the bucket over the horizon.
        # A longer-than-usual gap (dropped frames) earns the budget it accrued.
        span = min(max(gap, interval), 4.0 * interval)
        horizon_frames = max(1.0, cfg.horizon_s / interval)
        budget = max((rate * span - self._bucket / horizon_frames) / 8.0, 0.0)
        s_lo, s_hi = cfg.semantic_range
        s_nom = cfg.semantic_keep_ratio
        floor_bytes = self.predict(cfg.min_keep, self._semantic_for(cfg.min_keep))
        if self._updates == 0:
            # Nothing learned yet (the prior is vague): the first frame goes at the lowest image
            # keep ratio, so a budget is never overrun by a guess.
            return RateDecision(image_keep_ratio=cfg.min_keep,
                                semantic_keep_ratio=self._semantic_for(cfg.min_keep),
                                budget_bytes=budget, predicted_bytes=floor_bytes,
                                saturated=False, skip=False, regime="keep", fps=1.0 / interval)
        # The thin regimes are for a budget that cannot carry the camera's rate even at the
        # lowest keep ratios. Entered on evidence (frames at the floor and still half the bucket
        # overspent), left when the floor frame (well learned there) fits the camera's rate with
        # a 25 % margin: model noise in the normal regime does not skip frames.
        if self._thin and (8.0 * 1.25 * floor_bytes < rate * interval or not cfg.skip_frames):
            self._thin = False
        if not self._thin:
            decision = self._normal(budget, 1.0 / interval)
            overspent = self._bucket > 0.5 * rate * cfg.bucket_limit_s
            if not (cfg.skip_frames and overspent and decision.image_keep_ratio <= cfg.min_keep
                    and decision.budget_bytes < decision.predicted_bytes):
                return decision
            self._thin = True
        # Thin regimes: image keep at its minimum; a frame goes when the credit pays for it.
        frame_bytes = floor_bytes
        fps = rate / (8.0 * frame_bytes)
        regime, semantic = "frame_rate", s_nom
        if fps < cfg.min_fps:
            a, b, c = self.model3
            want = rate / cfg.min_fps / 8.0
            semantic = s_nom + (want - a - max(b, 1e-3) * cfg.min_keep) / max(c, 1e-3)
            semantic = float(min(max(semantic, s_lo), s_nom))
            frame_bytes = self.predict(cfg.min_keep, semantic)
            fps = rate / (8.0 * frame_bytes)
            regime = "semantic" if fps >= cfg.min_fps * (1.0 - 1e-9) else "floor"
        # (capped, so a long pause does not become a burst; the cap always covers the bucket)
        credit_span = min(gap, 2.0 * cfg.bucket_limit_s + 2.0 * 8.0 * frame_bytes / rate)
        credit = max((rate * credit_span - self._bucket) / 8.0, 0.0)
        skip = credit < frame_bytes
        image = cfg.min_keep
        if not skip:  # spend what accrued (at most one camera frame's worth above the floor)
            image = (min(credit, frame_bytes + rate * interval / 8.0) - self.predict(0.0, semantic)) \
                / max(self.model3[1], 1e-3)
            image = float(min(max(image, cfg.min_keep), cfg.max_keep))
        return RateDecision(image_keep_ratio=image, semantic_keep_ratio=semantic,
                            budget_bytes=credit, predicted_bytes=self.predict(image, semantic),
                            saturated=True, skip=skip, regime=regime, fps=float(fps))

    def _normal(self, budget: float, fps: float) -> RateDecision:
        cfg = self._config
        a, b, c = self.model3
        b = max(b, 1e-3)
        s_lo, s_hi = cfg.semantic_range
        k = (budget - a) / b
        regime, saturated = "keep", not (cfg.min_keep <= k <= cfg.max_keep)
        k = float(min(max(k, cfg.min_keep), cfg.max_keep))
        semantic = self._semantic_for(k)
        if k >= cfg.max_keep and s_hi > semantic and c > 1e-3:
            # generous: the image branch is complete; spend the rest on the semantic branch
            extra = cfg.semantic_keep_ratio + (budget - a - b * k) / c
            if extra > semantic:
                semantic, regime = float(min(extra, s_hi)), "ceiling"
                saturated = extra > s_hi
        return RateDecision(image_keep_ratio=k, semantic_keep_ratio=semantic, budget_bytes=budget,
                            predicted_bytes=self.predict(k, semantic), saturated=saturated,
                            skip=False, regime=regime, fps=float(fps))

    def update(self, stamp: float, image_keep_ratio: float, nbytes: int,
               semantic_keep_ratio: float | None = None) -> None:
        """Feed back a frame that was sent.

        Args:
            stamp: the frame's time stamp in seconds (camera time).
            image_keep_ratio: the image keep ratio actually used.
            nbytes: bytes the frame cost (what the budget counts: the link bytes of its sample).
            semantic_keep_ratio: the semantic keep ratio used (default: the nominal one).
        """
        stamp = float(stamp)
        k = float(image_keep_ratio)
        cfg = self._config
        sem = cfg.semantic_keep_ratio if semantic_keep_ratio is None else float(semantic_keep_ratio)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if not (0.0 < k <= 1.0):
            raise ValueError(f"image_keep_ratio must be in (0, 1], got {k}")
        if not (0.0 < sem <= 1.0):
            raise ValueError(f"semantic_keep_ratio must be in (0, 1], got {sem}")
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")

        # Credit the budget up to this stamp. A stamp going backwards (a looping bag) or a long
        # pause restarts timing: one frame interval is credited then.
        rate = self.frame_kbps * 1000.0
        if self._clock is not None and stamp >= self._clock:
            cap = max(10.0 * self._interval, 2.0 * cfg.bucket_limit_s) + 16.0 * nbytes / rate
            elapsed = min(stamp - self._clock, cap)
        else:
            elapsed = self._interval
        self._clock = stamp
        if self._last_offer is None or stamp < self._last_offer:
            self._last_offer = stamp
        self._bucket = self._clip_bucket(self._bucket + 8.0 * nbytes - rate * elapsed)

        # RLS with forgetting on bytes = a + b*k + c*(s - s_nominal).
        x = np.array([1.0, k, sem - cfg.semantic_keep_ratio])
        lam = cfg.forgetting
        px = self._cov @ x
        gain = px / (lam + x @ px)
        err = float(nbytes) - float(x @ self._theta)
        self._theta = self._theta + gain * err
        self._cov = (self._cov - np.outer(gain, px)) / lam
        self._cov = 0.5 * (self._cov + self._cov.T)
        # Bounded covariance (no wind-up): the (a, b) block by its trace, the semantic coefficient
        # (not excited while the semantic ratio stays nominal) on its own.
        trace = float(self._cov[0, 0] + self._cov[1, 1])
        if trace > self._MAX_COV:
            self._cov[:2, :2] *= self._MAX_COV / trace
        if self._cov[2, 2] > self._MAX_C_VAR:
            scale = math.sqrt(self._MAX_C_VAR / self._cov[2, 2])
            self._cov[2, :] *= scale
            self._cov[:, 2] *= scale
        # Physical constraints: no negative costs, more latents cost more bytes. A clipped
        # coefficient moves its share into the fixed cost so the prediction here is unchanged.
        a, b, c = (float(v) for v in self._theta)
        if c < 0.0:
            a, c = a + c * (sem - cfg.semantic_keep_ratio), 0.0
        if b <= 0.0:
            a, b = a + (b - 1e-3) * k, 1e-3
        if a < 0.0:
            b, a = max(b + a / k, 1e-3), 0.0
        self._theta = np.array([a, b, c])
        self._updates += 1

    # ---------------------------------------------------------------- helpers
    def _semantic_for(self, k: float) -> float:
        cfg = self._config
        if not cfg.semantic_scaled:
            return cfg.semantic_keep_ratio
        s = cfg.semantic_keep_ratio * k / cfg.max_keep
        return float(min(max(s, cfg.min_keep), 1.0))

    def _clip_bucket(self, bucket: float) -> float:
        limit = self.frame_kbps * 1000.0 * self._config.bucket_limit_s
        return float(min(max(bucket, -limit), limit))


def _check_positive_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")


def _check_ratio(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must be in (0, 1], got {value}")
