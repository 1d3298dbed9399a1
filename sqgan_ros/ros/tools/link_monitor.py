"""Operator-side monitor of the link harness: records every decoder stats message, writes JSON.

Runs in the operator namespace next to the decoder and subscribes only to the decoder's own
stats topic (same namespace, so nothing it receives crosses the link). The harness starts it
with ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` so that its participant is not announced on
the link either. SIGINT/SIGTERM writes ``--out`` and exits.

Run: ``python -m sqgan_ros.ros.tools.link_monitor --topic /operator/sqgan/decoder_stats
--out monitor.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from typing import Any

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Record until SIGINT/SIGTERM; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.ros.tools.link_monitor")
    p.add_argument("--topic", required=True, help="decoder stats topic (CodecStats)")
    p.add_argument("--out", required=True, help="JSON file written at the end")
    a = p.parse_args(argv)

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from sqgan_ros.msg import CodecStats

    records: list[dict[str, Any]] = []
    stop = {"now": False}

    def _stop(*_: Any) -> None:
        stop["now"] = True

    def on_stats(msg: Any) -> None:
        lat = float(msg.latency_ms)
        records.append({"wall": time.time(), "frame_id": int(msg.frame_id),
                        "frame_type": int(msg.frame_type),
                        "latency_ms": lat if math.isfinite(lat) else None,
                        "payload_bits": int(msg.payload_bits), "message_bits": int(msg.message_bits),
                        "link_bits": int(msg.link_bits), "link_kbps": float(msg.link_kbps),
                        "frames_lost": int(msg.frames_lost),
                        "frames_rejected": int(msg.frames_rejected),
                        "frames_dropped": int(msg.frames_dropped)})

    rclpy.init(args=[], signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    node = rclpy.create_node("sqgan_link_monitor")
    node.create_subscription(CodecStats, a.topic, on_stats, 50)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop["now"]:
            executor.spin_once(timeout_sec=0.1)
    finally:
        with open(a.out, "w") as f:
            json.dump({"topic": a.topic, "records": records}, f)
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
