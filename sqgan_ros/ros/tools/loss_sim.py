"""``sqgan_loss_sim``: a relay that loses and reorders SemanticFrames, for tests of a lossy link.

::

    encoder --in_topic (SemanticFrame)--> [drop p_drop | hold back p_reorder | pass] --out_topic--> decoder

A held-back frame is released after ``reorder_span`` later frames have passed (so it arrives
after newer ones, as over a multi-path radio link), or after ``hold_timeout_s`` when the stream
stops, so nothing is held forever. Decisions come from a seeded generator: a run is repeatable
for a given seed and arrival order. Both topics are best effort, like the link; with
``-p reliable:=true`` the output is reliable, so once a reader is matched the only losses are
the simulated ones (a test can compare exact frame sets).

Run: ``python -m sqgan_ros.ros.tools.loss_sim --ros-args -p in_topic:=/robot/sqgan/frame
-p out_topic:=/operator/sqgan/frame_lossy -p drop_probability:=0.2``.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["LossConfig", "LossChannel", "LossSimNode", "main"]

T = TypeVar("T")


@dataclass(frozen=True)
class LossConfig:
    """How the simulated link misbehaves.

    Args:
        drop_probability: chance that a frame is lost, in [0, 1).
        reorder_probability: chance that a (not lost) frame is held back, in [0, 1).
        reorder_span: a held-back frame is released after this many later frames passed (>= 1).
        hold_timeout_s: a held-back frame is released at the latest after this long (> 0).
        seed: seed of the decisions.
    """

    drop_probability: float = 0.2
    reorder_probability: float = 0.1
    reorder_span: int = 2
    hold_timeout_s: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop_probability", "reorder_probability"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if isinstance(self.reorder_span, bool) or not isinstance(self.reorder_span, int) \
                or self.reorder_span < 1:
            raise ValueError(f"reorder_span must be an integer >= 1, got {self.reorder_span!r}")
        if not isinstance(self.hold_timeout_s, (int, float)) or not self.hold_timeout_s > 0:
            raise ValueError(f"hold_timeout_s must be > 0, got {self.hold_timeout_s!r}")


class LossChannel(Generic[T]):
    """The relay's logic, independent of ROS: ``push`` items in, get the items to send out.

    Args:
        config: loss and reordering settings.
        clock: monotonic time source (injectable for tests).
    """

    def __init__(self, config: LossConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._clock = clock
        self._held: list[list[Any]] = []  # [item, frames still to pass, time held]
        self.received = 0
        self.dropped = 0
        self.reordered = 0
        self.forwarded = 0

    def push(self, item: T) -> list[T]:
        """One item arrives; returns the items to send now, in order."""
        self.received += 1
        out: list[T] = []
        roll = self._rng.random()
        if roll < self.config.drop_probability:
            self.dropped += 1
        elif self._rng.random() < self.config.reorder_probability:
            self._held.append([item, self.config.reorder_span, self._clock()])
            self.reordered += 1
        else:
            out.append(item)
            for held in self._held:
                held[1] -= 1
        out.extend(self._release(lambda h: h[1] <= 0))
        self.forwarded += len(out)
        return out

    def flush(self, force: bool = False) -> list[T]:
        """Items held longer than ``hold_timeout_s`` (all of them when ``force``)."""
        now = self._clock()
        out = self._release(lambda h: force or now - h[2] >= self.config.hold_timeout_s)
        self.forwarded += len(out)
        return out

    def _release(self, due: Callable[[list[Any]], bool]) -> list[T]:
        ready = [h for h in self._held if due(h)]
        self._held = [h for h in self._held if not due(h)]
        return [h[0] for h in ready]

    @property
    def held(self) -> int:
        """Items currently held back."""
        return len(self._held)


def _make_node_class() -> type:
    from rclpy.node import Node
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    class _LossSimNode(Node):
        """Relay node (see module docstring). Parameters are read-only (set at start)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__("sqgan_loss_sim", **kwargs)
            from sqgan_ros.msg import SemanticFrame

            declare = self.declare_parameter
            in_topic = declare("in_topic", "sqgan/frame").value
            out_topic = declare("out_topic", "sqgan/frame_lossy").value
            self.channel: LossChannel[Any] = LossChannel(LossConfig(
                drop_probability=float(declare("drop_probability", 0.2).value),
                reorder_probability=float(declare("reorder_probability", 0.1).value),
                reorder_span=int(declare("reorder_span", 2).value),
                hold_timeout_s=float(declare("hold_timeout_s", 1.0).value),
                seed=int(declare("seed", 0).value)))
            # reliable output: only the simulated losses happen (tests compare exact frame sets)
            reliable = bool(declare("reliable", False).value)
            qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50,
                             reliability=ReliabilityPolicy.BEST_EFFORT)
            out_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50,
                                 reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT)
            self._pub = self.create_publisher(SemanticFrame, out_topic, out_qos)
            self.create_subscription(SemanticFrame, in_topic, self._on_frame, qos)
            self.create_timer(0.05, self._on_timer)
            self.get_logger().info(
                f"{self.resolve_topic_name(in_topic)} -> {self._pub.topic_name}: "
                f"{self.channel.config}")

        def _on_frame(self, msg: Any) -> None:
            for out in self.channel.push(msg):
                self._pub.publish(out)

        def _on_timer(self) -> None:
            for out in self.channel.flush():
                self._pub.publish(out)

        def close(self) -> None:
            """Print the counts (called by ``spin_node_main`` before the node is destroyed)."""
            print(f"sqgan_loss_sim: {self.summary()}", file=sys.stderr, flush=True)

        def summary(self) -> str:
            c = self.channel
            return (f"received {c.received}, dropped {c.dropped}, reordered {c.reordered}, "
                    f"forwarded {c.forwarded}")

    return _LossSimNode


def LossSimNode(**kwargs: Any) -> Any:  # noqa: N802 - a class factory that reads like the class
    """Create the relay node (rclpy must be initialised)."""
    return _make_node_class()(**kwargs)


def main(args: list[str] | None = None) -> int:
    """Entry point: run the relay until Ctrl-C; prints its counts on exit."""
    from sqgan_ros.ros.node_main import spin_node_main

    return spin_node_main(LossSimNode, "sqgan_loss_sim", args)


if __name__ == "__main__":
    sys.exit(main())
