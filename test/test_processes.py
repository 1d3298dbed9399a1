"""sqgan_ros.tools.processes: SIGINT first, SIGTERM for a child that ignores it, SIGKILL last."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqgan_ros.tools.processes import stop_process, stop_processes

# The child prints once its handlers are set, so no signal arrives before them.
CHILD = """
import signal, sys, time
mode = sys.argv[1]
# a test run started in the background by a non-interactive shell inherits SIGINT ignored, and
# Python then installs no KeyboardInterrupt handler: set it, as an interactive start would have it
signal.signal(signal.SIGINT, signal.default_int_handler)
if mode in ("ignore_int", "ignore_all"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
if mode == "ignore_all":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt:
    sys.exit(3)
"""


def _child(mode: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_each_child_gets_the_mildest_signal_that_stops_it() -> None:
    procs = [_child("plain"), _child("ignore_int"), _child("ignore_all")]
    start = time.monotonic()
    codes = stop_processes(procs, grace_s=1.0, term_s=1.0)
    assert codes == [3, -signal.SIGTERM, -signal.SIGKILL]
    assert time.monotonic() - start < 10.0
    for proc in procs:
        proc.stdout.close()


def test_first_signal_and_process_groups() -> None:
    proc = _child("ignore_int")  # SIGTERM as the first signal stops it at once
    assert stop_process(proc, timeout=5.0, sig=signal.SIGTERM) == -signal.SIGTERM
    proc.stdout.close()
    # a shell leading its own group, with a sleeping grandchild: the group signal reaches both
    leader = subprocess.Popen(["bash", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    grandchild = int(leader.stdout.readline())
    assert stop_process(leader, timeout=5.0, sig=signal.SIGTERM, group=True) != 0
    leader.stdout.close()
    deadline = time.monotonic() + 5.0
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild), "the grandchild outlived its group's signal"


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_stop_process_kills_after_its_timeout_and_leaves_exited_ones_alone() -> None:
    proc = _child("ignore_all")
    assert stop_process(proc, timeout=0.5) == -signal.SIGKILL
    proc.stdout.close()
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert stop_process(done) == 0
