"""The benchmark script runs end to end (tiny preset, one run) and prints its table."""

from __future__ import annotations

from pathlib import Path

import torch

from sqgan_ros.codec import benchmark
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.codec.model_file import save_model


def test_benchmark_table(tmp_path: Path, capsys) -> None:
    path = tmp_path / "tiny.safetensors"
    save_model(path, SQGAN(get_config("tiny")))
    threads = torch.get_num_threads()
    try:
        assert benchmark.main(["--model", str(path), "--runs", "1", "--ratios", "0.25", "1.0",
                               "--frames", "2"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "transmitter" in out and "receiver" in out and "peak RSS" in out
    rows = [line for line in out.splitlines() if line.startswith(("0.25", "1.0"))]
    assert len(rows) == 2
    assert float(rows[0].split()[3]) < float(rows[1].split()[3])  # more latents, more bytes
    assert "mean of 2 synthetic test-split scenes" in out and "nearest-codeword payload B" in out
