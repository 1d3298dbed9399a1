"""Rate control: pick each frame's keep ratio so the stream meets a bit budget (kbit/s).

SQ-GAN serves many rates with one model: the number of latents sent per branch is
``k = round(keep_ratio * N)`` (Pezone et al., IEEE TCCN 2025, SAMM). With entropy coding the
bytes per frame are not a fixed function of ``k``: they depend on the content. This controller
learns that dependence online and closes the loop on what was actually sent::

    stamp --> frame interval (EMA of stamp deltas) --+
                                                     v
    bucket (bits sent - bits allowed) --> per-frame budget B = R*dt - bucket/horizon
                                                     |
    bytes ~ a + b*k  (RLS, exponential forgetting) --+--> k = (B - a) / b, clipped
                                                     |
    actual bytes of the encoded frame  --------------+--> update model and bucket

* ``a`` absorbs what does not scale with the image keep ratio (header, semantic branch when
  its keep ratio is fixed); ``b`` is the marginal cost of the image latents.
* The model is fitted by recursive least squares with forgetting factor ``forgetting`` and a
  bounded covariance (no wind-up while the keep ratio stays constant).
* The leaky bucket pays back accumulated over/under-spend within ``horizon_s`` seconds, so the
  long-run rate converges to the target even when the model is biased.

Pure Python + numpy; no ROS and no torch. The ROS encoder node owns one instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["RateControlConfig", "RateDecision", "RateController"]


@dataclass(frozen=True)
class RateControlConfig:
    """Settings of :class:`RateController`.

    Args:
        target_kbps: bit budget in kbit/s (1 kbit = 1000 bits); must be > 0.
        min_keep: smallest image keep ratio the controller may choose, in (0, 1].
        max_keep: largest image keep ratio, in [min_keep, 1].
        semantic_keep_ratio: semantic-branch keep ratio, in (0, 1].
        semantic_scaled: if True the semantic keep ratio follows the image one
            (``semantic = semantic_keep_ratio * k / max_keep``, clipped to [min_keep, 1]);
            if False it stays fixed.
        forgetting: RLS forgetting factor per frame, in (0, 1]; 0.9 remembers ~10 frames.
        horizon_s: time over which the leaky bucket pays back accumulated error, > 0.
        bucket_limit_s: the bucket is clipped to +-(target * bucket_limit_s) bits so a long
            stretch at an unreachable budget does not cause a long opposite swing.
        initial_fps: frame rate assumed before two stamps have been seen, > 0.
        fps_smoothing: EMA weight of a new frame interval, in (0, 1].
    """

    target_kbps: float
    min_keep: float = 0.02
    max_keep: float = 1.0
    semantic_keep_ratio: float = 0.25
    semantic_scaled: bool = False
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
        if self.max_keep < self.min_keep:
            raise ValueError(f"max_keep ({self.max_keep}) must be >= min_keep ({self.min_keep})")
        if not (0.0 < self.forgetting <= 1.0):
            raise ValueError(f"forgetting must be in (0, 1], got {self.forgetting}")
        if not (0.0 < self.fps_smoothing <= 1.0):
            raise ValueError(f"fps_smoothing must be in (0, 1], got {self.fps_smoothing}")
        _check_positive_finite("horizon_s", self.horizon_s)
        _check_positive_finite("bucket_limit_s", self.bucket_limit_s)
        _check_positive_finite("initial_fps", self.initial_fps)


@dataclass(frozen=True)
class RateDecision:
    """The controller's choice for one frame.

    Args:
        image_keep_ratio: keep ratio for the image branch.
        semantic_keep_ratio: keep ratio for the semantic branch.
        budget_bytes: bytes the controller aimed for on this frame.
        predicted_bytes: bytes the model predicts at the chosen ratios.
        saturated: True when the budget could not be met inside [min_keep, max_keep].
    """

    image_keep_ratio: float
    semantic_keep_ratio: float
    budget_bytes: float
    predicted_bytes: float
    saturated: bool


class RateController:
    """Per-frame keep-ratio controller for a target bit rate.

    Call :meth:`decide` with the frame's stamp before encoding it, then :meth:`update` with the
    stamp, the ratio actually used and the bytes actually produced. Frames that were decided on
    but never sent need no update (dropped frames cost nothing).

    Args:
        config: controller settings.
    """

    _MAX_COV = 1e6  # bound on the covariance trace (prevents wind-up)

    def __init__(self, config: RateControlConfig) -> None:
        if not isinstance(config, RateControlConfig):
            raise TypeError(f"config must be a RateControlConfig, got {type(config).__name__}")
        self._config = config
        self.reset()

    # ------------------------------------------------------------------ state
    @property
    def config(self) -> RateControlConfig:
        """The active settings."""
        return self._config

    @property
    def frame_interval_s(self) -> float:
        """Current estimate of the interval between sent frames (seconds)."""
        return self._interval

    @property
    def model(self) -> tuple[float, float]:
        """Current bytes-per-frame model ``(a, b)``: ``bytes ~ a + b * image_keep_ratio``."""
        return float(self._theta[0]), float(self._theta[1])

    @property
    def bucket_bits(self) -> float:
        """Accumulated over-spend (positive) or under-spend (negative) in bits."""
        return self._bucket

    def reset(self) -> None:
        """Forget everything learned (model, frame rate, bucket)."""
        self._interval = 1.0 / self._config.initial_fps
        self._last_stamp: float | None = None
        self._bucket = 0.0
        # Prior: ~64 bytes fixed, ~1 byte per percent of latents; deliberately vague.
        self._theta = np.array([64.0, 100.0])
        self._cov = np.diag([1e4, 1e5])
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
    def decide(self, stamp: float | None = None) -> RateDecision:
        """Choose the keep ratios for the next frame.

        Args:
            stamp: the frame's time stamp in seconds (used only to anticipate the interval
                since the last sent frame; the rate estimate itself is updated in :meth:`update`).

        Returns:
            The decision for this frame.
        """
        cfg = self._config
        interval = self._interval
        if stamp is not None and self._last_stamp is not None:
            gap = float(stamp) - self._last_stamp
            # A longer-than-usual gap (dropped frames) earns the budget it accrued.
            if math.isfinite(gap) and gap > interval:
                interval = min(gap, 4.0 * self._interval)
        target_bits = cfg.target_kbps * 1000.0 * interval
        horizon_frames = max(1.0, cfg.horizon_s / self._interval)
        budget_bits = target_bits - self._bucket / horizon_frames
        budget_bytes = max(budget_bits / 8.0, 0.0)

        a, b = self.model
        b = max(b, 1e-3)
        k = (budget_bytes - a) / b
        saturated = not (cfg.min_keep <= k <= cfg.max_keep)
        k = float(min(max(k, cfg.min_keep), cfg.max_keep))
        return RateDecision(
            image_keep_ratio=k,
            semantic_keep_ratio=self._semantic_for(k),
            budget_bytes=budget_bytes,
            predicted_bytes=a + b * k,
            saturated=saturated,
        )

    def update(self, stamp: float, image_keep_ratio: float, nbytes: int) -> None:
        """Feed back a frame that was sent.

        Args:
            stamp: the frame's time stamp in seconds (camera time).
            image_keep_ratio: the image keep ratio actually used.
            nbytes: payload bytes actually produced (what goes on the wire).
        """
        stamp = float(stamp)
        k = float(image_keep_ratio)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp}")
        if not (0.0 < k <= 1.0):
            raise ValueError(f"image_keep_ratio must be in (0, 1], got {k}")
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        cfg = self._config

        # Frame interval from stamps. A stamp going backwards (a looping bag) restarts timing.
        if self._last_stamp is not None:
            dt = stamp - self._last_stamp
            if 0.0 < dt < 10.0 * max(self._interval, 0.1):
                self._interval += cfg.fps_smoothing * (dt - self._interval)
                elapsed = dt
            else:
                elapsed = self._interval
        else:
            elapsed = self._interval
        self._last_stamp = stamp

        # Leaky bucket: bits sent minus bits the budget allowed since the last sent frame.
        self._bucket = self._clip_bucket(self._bucket + 8.0 * nbytes - cfg.target_kbps * 1000.0 * elapsed)

        # RLS with forgetting on bytes = a + b*k.
        x = np.array([1.0, k])
        lam = cfg.forgetting
        px = self._cov @ x
        gain = px / (lam + x @ px)
        err = float(nbytes) - float(x @ self._theta)
        self._theta = self._theta + gain * err
        self._cov = (self._cov - np.outer(gain, px)) / lam
        self._cov = 0.5 * (self._cov + self._cov.T)
        trace = float(np.trace(self._cov))
        if trace > self._MAX_COV:
            self._cov *= self._MAX_COV / trace
        # Physical constraints: the fixed cost is not negative, more latents cost more bytes.
        if self._theta[0] < 0.0:
            self._theta[0] = 0.0
            self._theta[1] = max(float(nbytes) / k, 1e-3)
        if self._theta[1] <= 0.0:
            self._theta[1] = max(float(nbytes) - self._theta[0], 1.0) / k
        self._updates += 1

    # ---------------------------------------------------------------- helpers
    def _semantic_for(self, k: float) -> float:
        cfg = self._config
        if not cfg.semantic_scaled:
            return cfg.semantic_keep_ratio
        s = cfg.semantic_keep_ratio * k / cfg.max_keep
        return float(min(max(s, cfg.min_keep), 1.0))

    def _clip_bucket(self, bucket: float) -> float:
        limit = self._config.target_kbps * 1000.0 * self._config.bucket_limit_s
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
