"""QoS profiles of the teleop topics and the user-overridable QoS option.

As image_pipeline does: sensor-data QoS on camera inputs, QoS overrides on publishers.
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

__all__ = ["overridable_qos", "sensor", "link", "latched", "reliable"]


def overridable_qos() -> Any:
    """``QoSOverridingOptions`` letting users override history, depth and reliability at start.

    With it, ``qos_overrides.<topic>.publisher.reliability: reliable`` (or ``.subscription.``,
    ``.depth``, ``.history``) in a parameters file or on the command line changes that
    entity's QoS (rclpy declares the read-only parameters when the entity is created).
    """
    from rclpy.qos_overriding_options import QoSOverridingOptions

    return QoSOverridingOptions.with_default_policies()


def sensor(depth: int) -> QoSProfile:
    """Camera inputs: sensor-data reliability and durability, ``depth`` deep."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=qos_profile_sensor_data.reliability,
                      durability=qos_profile_sensor_data.durability)


def link(depth: int = 1) -> QoSProfile:
    """The thin link's frames: best effort (a lost frame costs that frame, never a stall)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=ReliabilityPolicy.BEST_EFFORT)


def latched() -> QoSProfile:
    """Reliable, transient local, depth 1: a late joiner gets the last message (camera info)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def reliable(depth: int) -> QoSProfile:
    """Reliable, ``depth`` deep (outputs for viewers, acknowledgements)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=ReliabilityPolicy.RELIABLE)
