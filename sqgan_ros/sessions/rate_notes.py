"""One line per rate-control regime: what the encoder does when the link budget does not fit."""

from __future__ import annotations

from typing import Any

__all__ = ["THIN_REGIMES", "regime_note"]

#: Regimes in which frames are skipped (the budget cannot carry the camera's frame rate).
THIN_REGIMES = ("frame_rate", "semantic", "floor")


def regime_note(decision: Any, settings: Any, controller: Any) -> str:
    """The log line for entering ``decision.regime``.

    Args:
        decision: the :class:`~sqgan_ros.rate_control.RateDecision` that entered it.
        settings: the encoder settings (target, min_fps, min_semantic_keep_ratio).
        controller: the :class:`~sqgan_ros.rate_control.RateController` (frame budget, reserve).
    """
    regime = decision.regime
    if regime == "keep":
        return "rate control: the link budget fits the camera's frame rate again: every frame is encoded"
    budget = (f"link budget {settings.target_kbps:g} kbit/s ({controller.frame_kbps:.1f} for frames, "
              f"{controller.reserve_kbps:.1f} reserved for stats and camera info)")
    floor = f"~{round(decision.predicted_bytes)} B per frame on the link"
    if regime == "ceiling":
        return (f"rate control: {budget} is generous: image keep ratio at its maximum "
                f"{controller.config.max_keep:g}, semantic keep ratio raised to "
                f"{decision.semantic_keep_ratio:.2f}")
    if regime == "frame_rate":
        return (f"rate control: {budget} cannot carry the camera's {1.0 / controller.frame_interval_s:.1f} "
                f"fps even at the lowest keep ratios ({floor}): encoding ~{decision.fps:.1f} fps, "
                f"the other frames are skipped (counted as dropped)")
    if regime == "semantic":
        return (f"rate control: {budget} cannot carry min_fps {settings.min_fps:g} at the lowest image "
                f"keep ratio: semantic keep ratio lowered to {decision.semantic_keep_ratio:.2f} "
                f"({floor}, ~{decision.fps:.1f} fps)")
    return (f"rate control: {budget} cannot carry min_fps {settings.min_fps:g} even at "
            f"min_semantic_keep_ratio {settings.min_semantic_keep_ratio:g}: ~{decision.fps:.2f} fps "
            f"({floor})")
