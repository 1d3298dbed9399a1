"""Shared test-side rclpy node for the DDS integration tests: its own context, a spin thread,
callbacks that record messages under a lock, and polling waits."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqgan_ros.tools.processes import stop_process

__all__ = ["stop_process", "start_process"]


class ProbeNode:
    """A node in its own rclpy context, spun by a daemon thread once :meth:`start` is called.

    Args:
        name: node name.
    """

    def __init__(self, name: str) -> None:
        import rclpy

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start spinning (call after the subscriptions and publishers are created)."""
        from rclpy.executors import SingleThreadedExecutor

        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # context shut down under us
                return

    def append_to(self, store: list) -> Callable[[Any], None]:
        """A subscription callback appending each message to ``store`` under the lock."""
        def cb(msg: Any) -> None:
            with self.lock:
                store.append(msg)
        return cb

    def wait_for(self, predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
        """Poll ``predicate`` (under the lock) until it holds or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return True
            time.sleep(poll)
        return False

    def close(self) -> None:
        self.rclpy.try_shutdown(context=self.context)
        if self.thread is not None:
            self.thread.join(timeout=5.0)


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a node process in its own session, its stdout and stderr going to ``log``."""
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
