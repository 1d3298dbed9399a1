"""Real node processes stop cleanly on SIGINT and SIGTERM: exit status 0, no traceback, no
"publisher's context is invalid", whether the signal lands while the model loads or while frames
stream through camera -> encoder -> decoder (the decoder and the encoder's worker publishing).

Not covered: the first ~0.5 s of a process, while Python imports the node module and rclpy
(before ``main`` runs, no handler of ours exists; SIGINT then is Python's KeyboardInterrupt).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ros_probe import start_process

from sqgan_ros.tools.processes import stop_process

pytestmark = pytest.mark.ros

BAD_WORDS = ("Traceback", "context is invalid", "Failed to publish", "error:")


def _commands(model: Path) -> dict[str, list[str]]:
    common = ["-p", f"model_file:={model}", "-p", "device:=cpu", "-p", "torch_threads:=1"]
    return {
        "camera": [sys.executable, "-m", "sqgan_ros.ros.camera_source", "--ros-args", "-r", "__ns:=/stop",
                   "-p", "source:=pattern", "-p", "rate_hz:=20.0", "-p", "height:=48", "-p", "width:=64"],
        "encoder": [sys.executable, "-m", "sqgan_ros.ros.encoder_node", "--ros-args", "-r", "__ns:=/stop",
                    "-p", "segmenter:=none", "-p", "video:=true", *common],
        "decoder": [sys.executable, "-m", "sqgan_ros.ros.decoder_node", "--ros-args", "-r", "__ns:=/stop",
                    *common],
    }


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 20.0) -> int:
    return stop_process(proc, timeout=timeout, sig=sig)  # SIGKILL (exit -9) after the timeout


def _wait_for_torch(proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Wait until the process maps torch's library: it is in ``main`` (torch loads only there)."""
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "libtorch" in maps.read_text():
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def _check(name: str, rc: int, log: Path) -> None:
    text = log.read_text()
    assert rc == 0, f"{name} exited {rc}:\n{text[-3000:]}"
    bad = [w for w in BAD_WORDS if w in text]
    assert not bad, f"{name}: {bad}\n{text[-3000:]}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_while_the_model_loads(sig: int, tiny_model_file: Path, tmp_path: Path) -> None:
    from conftest import own_domain

    with own_domain(151) as env:
        for name in ("encoder", "decoder"):
            log = tmp_path / f"{name}.log"
            proc = start_process(_commands(tiny_model_file)[name], env, log)
            assert _wait_for_torch(proc), log.read_text()[-2000:]  # in main, loading torch
            _check(name, _stop(proc, sig), log)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_while_frames_stream(sig: int, tiny_model_file: Path, tmp_path: Path) -> None:
    from conftest import own_domain

    with own_domain(152) as env:
        procs = {name: start_process(cmd, env, tmp_path / f"{name}.log")
                 for name, cmd in _commands(tiny_model_file).items()}
        try:
            deadline = time.monotonic() + 120.0
            log = tmp_path / "decoder.log"
            while time.monotonic() < deadline:  # until the decoder has decoded frames
                if all(p.poll() is None for p in procs.values()) and "model " in log.read_text():
                    break
                time.sleep(0.5)
            time.sleep(4.0)  # frames flowing: the decoder publishes, the encoder's worker too
            assert all(p.poll() is None for p in procs.values()), {
                n: (tmp_path / f"{n}.log").read_text()[-1500:] for n in procs}
            # the nodes that publish per frame first, while the camera still feeds them
            for name in ("decoder", "encoder", "camera"):
                _check(name, _stop(procs[name], sig), tmp_path / f"{name}.log")
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()


def test_a_publish_failure_while_stopping_is_a_clean_stop(capsys: pytest.CaptureFixture) -> None:
    """The race behind "Failed to publish: publisher's context is invalid" (exit 1), made
    deterministic: the signal has shut the context down when a callback publishes."""
    import rclpy

    from sqgan_ros.ros.node_main import run_node

    def failing_spin(after_shutdown: bool):
        def spin(_node) -> int:
            if after_shutdown:
                rclpy.shutdown()  # what rclpy's SIGINT/SIGTERM handler does
            raise RuntimeError("Failed to publish: publisher's context is invalid")
        return spin

    previous = signal.getsignal(signal.SIGTERM)
    try:
        make = lambda: rclpy.create_node("stop_race_test")  # noqa: E731
        assert run_node(make, "stop_race", lambda: "", ["prog"], failing_spin(True)) == 0
        assert capsys.readouterr().err == ""
        # the same failure while ROS is up is a real error: one line, status 1
        assert run_node(make, "stop_race", lambda: "", ["prog"], failing_spin(False)) == 1
        assert "stop_race: error: Failed to publish" in capsys.readouterr().err
    finally:
        signal.signal(signal.SIGTERM, previous)
