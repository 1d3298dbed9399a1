"""Nodes started with a bad model file or bad parameters: a clear one-line error, no traceback,
non-zero exit status, before anything is published.

(Run-time parameter refusals are in test_parameters.py and test_teleop_pipeline.py; the missing
model file is in test_teleop_pipeline.py.)
"""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env_and_model(tmp_path_factory: pytest.TempPathFactory,
                  tiny_model_file: Path) -> tuple[dict[str, str], Path, Path]:
    from conftest import domain_env, ros_problem

    if ros_problem() is not None:
        pytest.skip(ros_problem())
    tmp = tmp_path_factory.mktemp("robust_params")
    model = tiny_model_file
    env = domain_env(31)
    return env, model, tmp


def _run(node: str, env: dict[str, str], *params: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", f"sqgan_ros.ros.{node}", "--ros-args",
           "-r", "__ns:=/robust", "-p", "device:=cpu", "-p", "segmenter:=none"
           if node == "encoder_node" else "output_size:=camera"]
    for p in params:
        cmd += ["-p", p]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def _assert_one_line_error(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode != 0, res.stderr
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    errors = [line for line in res.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, res.stderr
    for w in words:
        assert w.lower() in errors[0].lower(), (w, errors[0])


def _safetensors_parts(path: Path) -> tuple[int, dict, bytes]:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return n, json.loads(raw[8:8 + n]), raw[8 + n:]


def _bad_model_files(model: Path, tmp: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    raw = model.read_bytes()
    files: dict[str, tuple[Path, tuple[str, ...]]] = {}

    text = tmp / "notes.safetensors"
    text.write_text("this is not a model\n")
    files["text"] = (text, ("safetensors",))

    pickled = tmp / "model.pt"
    pickled.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    files["pickle"] = (pickled, ("safetensors",))

    truncated = tmp / "truncated.safetensors"
    truncated.write_bytes(raw[: len(raw) // 2])
    files["truncated"] = (truncated, (str(truncated.name),))

    flipped = tmp / "flipped.safetensors"
    data = bytearray(raw)
    data[-3] ^= 0x10  # inside the last tensor's bytes: the recomputed id differs
    flipped.write_bytes(bytes(data))
    files["tampered tensor"] = (flipped, ("id",))

    n, header, body = _safetensors_parts(model)
    stored = header["__metadata__"]["model_id"]
    header["__metadata__"]["model_id"] = ("0" if stored[0] != "0" else "1") + stored[1:]
    forged = json.dumps(header, separators=(",", ":")).encode()
    forged += b" " * max(0, n - len(forged))  # safetensors pads its header with spaces too
    wrong_id = tmp / "wrong_id.safetensors"
    wrong_id.write_bytes(struct.pack("<Q", len(forged)) + forged + body)
    files["wrong id"] = (wrong_id, ("id",))
    return files


@pytest.mark.parametrize("case", ["text", "pickle", "truncated", "tampered tensor", "wrong id"])
def test_encoder_with_a_bad_model_file_exits_with_one_line(env_and_model, case: str) -> None:
    env, model, tmp = env_and_model
    path, words = _bad_model_files(model, tmp)[case]
    res = _run("encoder_node", env, f"model_file:={path}")
    _assert_one_line_error(res, "sqgan_encoder", *words)


def test_decoder_with_a_tampered_model_file_exits_with_one_line(env_and_model) -> None:
    env, model, tmp = env_and_model
    path, words = _bad_model_files(model, tmp)["tampered tensor"]
    res = _run("decoder_node", env, f"model_file:={path}")
    _assert_one_line_error(res, "sqgan_decoder", *words)


@pytest.mark.parametrize("param, words", [
    ("class_weights.person:=-1.0", ("class_weights.person",)),
    ("class_weights.person:=.nan", ("class_weights.person",)),
    ("class_weights.dragon:=1.0", ("dragon",)),
    ("image_keep_ratio:=1.5", ("image_keep_ratio",)),
    ("semantic_keep_ratio:=0.0", ("semantic_keep_ratio",)),
    ("target_kbps:=-1.0", ("target_kbps",)),
    ("torch_threads:=-1", ("torch_threads",)),
    ("max_input_pixels:=0", ("max_input_pixels",)),
    # a QoS override of the wrong type is refused by rclpy itself (a ParameterException)
    ("qos_overrides./robust/sqgan/frame.publisher.depth:=deep", ("qos_overrides",)),
])
def test_encoder_with_bad_start_parameters_exits_with_one_line(env_and_model, param: str,
                                                               words: tuple[str, ...]) -> None:
    env, model, _ = env_and_model
    res = _run("encoder_node", env, f"model_file:={model}", param)
    _assert_one_line_error(res, *words)


def test_good_model_file_starts(env_and_model) -> None:
    """The control: the same command with the untouched file runs until stopped."""
    import time

    from ros_probe import stop_process

    env, model, tmp = env_and_model
    cmd = [sys.executable, "-m", "sqgan_ros.ros.encoder_node", "--ros-args", "-r", "__ns:=/robust",
           "-p", "device:=cpu", "-p", "segmenter:=none", "-p", f"model_file:={model}",
           "-p", "torch_threads:=1"]
    log = tmp / "good_start.log"
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "torch threads" not in log.read_text():
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        assert "(1 torch threads)" in log.read_text(), log.read_text()
        assert proc.poll() is None
    finally:
        stop_process(proc, timeout=30.0)
    assert proc.returncode == 0, log.read_text()[-2000:]
