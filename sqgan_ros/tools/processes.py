"""Stopping child processes as Ctrl-C would: SIGINT, then SIGTERM, then SIGKILL.

One helper for every tool and test that starts node processes (the graph runner, soak, the
pipeline benchmark, the DDS tests)::

    stop_processes(procs, grace_s=5.0)   # SIGINT to all, wait up to grace_s in total,
                                         # then SIGTERM (term_s each), then SIGKILL
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable

__all__ = ["stop_process", "stop_processes"]


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=max(timeout, 0.0))
        return True
    except subprocess.TimeoutExpired:
        return False


def _signal(proc: subprocess.Popen, sig: int, group: bool) -> None:
    try:
        if group:  # the process and everything it started (it must lead its own session/group)
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:  # exited meanwhile
        pass


def stop_processes(procs: Iterable[subprocess.Popen], grace_s: float = 5.0, term_s: float = 2.0,
                   sig: int = signal.SIGINT, group: bool = False) -> list[int]:
    """Stop ``procs`` as Ctrl-C would and return their exit statuses, in order.

    Every running process gets ``sig`` (SIGINT) at once; together they have ``grace_s`` seconds
    to exit. One still running then gets SIGTERM and ``term_s`` seconds more (0: skip SIGTERM),
    then SIGKILL. Processes that already exited are left alone.

    Args:
        procs: processes started with ``subprocess.Popen``.
        grace_s: seconds, shared by all, to exit after ``sig``.
        term_s: seconds each to exit after SIGTERM; 0 goes straight to SIGKILL.
        sig: the first signal (e.g. SIGTERM to test a node's SIGTERM handling).
        group: signal each process's whole process group (started with ``start_new_session=True``).
    """
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            _signal(proc, sig, group)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        if _wait(proc, deadline - time.monotonic()):
            continue
        if term_s > 0:
            _signal(proc, signal.SIGTERM, group)
            if _wait(proc, term_s):
                continue
        _signal(proc, signal.SIGKILL, group)
        proc.wait()
    return [proc.returncode for proc in procs]


def stop_process(proc: subprocess.Popen, timeout: float = 10.0, sig: int = signal.SIGINT,
                 group: bool = False) -> int:
    """Stop one process: ``sig`` (SIGINT), SIGKILL after ``timeout`` seconds; its exit status."""
    return stop_processes([proc], grace_s=timeout, term_s=0.0, sig=sig, group=group)[0]
