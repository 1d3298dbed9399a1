"""The ``main`` of a node process: ``--help``, init, spin, one-line errors, quiet shutdown.

* ``-h`` / ``--help`` (before any ``--ros-args``) prints the node's parameters from the table
  that declares them and exits 0 without starting ROS.
* SIGINT and SIGTERM end the process with status 0 at any moment: before ``rclpy.init`` (while
  the modules load) as during the model load and while spinning. rclpy's own handlers shut the
  context down; a callback or worker that publishes into the closing context then fails, and
  that failure is part of stopping, not an error (no "publisher's context is invalid", no
  status 1).
* A bad parameter or model file is one ``<name>: error: ...`` line on stderr and status 1.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["wants_help", "run_node", "spin_node_main"]


def wants_help(argv: Sequence[str]) -> bool:
    """True when ``-h`` or ``--help`` comes before ``--ros-args`` (``argv[0]`` is the program)."""
    for arg in list(argv)[1:]:
        if arg == "--ros-args":
            return False
        if arg in ("-h", "--help"):
            return True
    return False


def _stop(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run_node(make_node: Callable[[], Any], name: str, help_text: Callable[[], str],
             args: list[str] | None = None, spin: Callable[[Any], int | None] | None = None) -> int:
    """Run one node until shutdown; returns the process exit status.

    The node's ``close()`` (if it has one: worker threads) runs before ``destroy_node()``.

    Args:
        make_node: builds the node (after ``rclpy.init``).
        name: program name for error lines.
        help_text: the ``--help`` text (built only when asked for).
        args: command line (ROS arguments included); None means ``sys.argv``.
        spin: runs the node and returns its exit status (None: ``rclpy.spin``, status 0).
    """
    argv = sys.argv if args is None else args
    if wants_help(argv):
        print(help_text())
        return 0
    # Until rclpy installs its handlers, SIGTERM stops the process like Ctrl-C does.
    signal.signal(signal.SIGTERM, _stop)
    try:
        import rclpy
        from rclpy.exceptions import ParameterException
        from rclpy.executors import ExternalShutdownException
    except KeyboardInterrupt:
        return 0
    node = None
    context = None
    try:
        rclpy.init(args=args)
        context = rclpy.get_default_context()
        node = make_node()
        if spin is None:
            rclpy.spin(node)
        else:
            return spin(node) or 0
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        if isinstance(exc, ExternalShutdownException) or (context is not None and not context.ok()):
            return 0  # stopping: whatever failed inside the closing context is part of that
        if not isinstance(exc, (ValueError, TypeError, OSError, RuntimeError, ParameterException)):
            raise
        # ParameterException: e.g. a QoS override of the wrong type, refused by rclpy itself
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        _close(node)
    return 0


def _close(node: Any) -> None:
    """Stop the node's workers, destroy it and shut ROS down, ignoring a second Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        if "rclpy" in sys.modules:
            sys.modules["rclpy"].try_shutdown()
    finally:
        signal.signal(signal.SIGINT, previous)


def spin_node_main(make_node: Callable[[], Any], name: str, args: list[str] | None = None) -> int:
    """:func:`run_node` for a tool node without a parameter table: ``--help`` prints its module's doc."""
    import inspect

    module = inspect.getmodule(make_node)
    doc = (module.__doc__ if module is not None else None) or f"{name}: a sqgan_ros tool node"
    return run_node(make_node, name, lambda: doc.strip(), args)
