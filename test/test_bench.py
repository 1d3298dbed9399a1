"""sqgan-bench: codec timings and the per-stage breakdown on a tiny model (fast); the DDS pipelines (slow, ROS)."""

import json
import math

import pytest
import torch

from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.codec.model_file import save_model
from sqgan_ros.tools.bench.cli import main
from sqgan_ros.tools.bench.codec import CodecBench, bench_codec, bench_presets, format_table


def test_codec_bench_on_tiny_model():
    r = bench_codec("tiny", frames=2, threads=1, size=(64, 128), segmenter=False)
    assert not r.skipped and r.device == "cpu" and r.threads == 1
    for value in (r.encode_ms, r.decode_ms, r.encode_cpu_ms, r.decode_cpu_ms, r.peak_mb, r.bytes_per_frame):
        assert math.isfinite(value) and value > 0
    assert r.fps == pytest.approx(1000.0 / (r.encode_ms + r.decode_ms))
    assert math.isnan(r.segment_ms)
    with pytest.raises(ValueError):
        bench_codec("tiny", frames=0)


def test_slow_presets_and_missing_devices_are_skipped_with_a_reason():
    r = bench_codec("tiny", frames=1, threads=1, size=(64, 128), cpu_limit_s=1e-9, segmenter=False)
    assert r.skipped.startswith("first encode took") and math.isnan(r.encode_ms)
    if not torch.cuda.is_available():
        (gpu,) = bench_presets(["tiny"], ["cuda"], frames=1, size=(64, 128), isolate=False)
        assert gpu.skipped == "CUDA is not available"
        assert "skipped: CUDA is not available" in format_table([gpu])


def test_cli_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["--presets", "tiny", "--frames", "1", "--threads", "1", "--no-isolate", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "enc ms" in text and "tiny" in text
    data = json.loads(out.read_text())
    (row,) = data["codec"]
    assert row["name"] == "tiny" and row["encode_ms"] > 0
    assert CodecBench(**{**row, "size": tuple(row["size"])}).name == "tiny"
    assert main(["--model", str(tmp_path / "missing.safetensors")]) == 2


def test_breakdown_table(tmp_path, capsys) -> None:
    path = tmp_path / "tiny.safetensors"
    save_model(path, SQGAN(get_config("tiny")))
    threads = torch.get_num_threads()
    try:
        assert main(["--breakdown", "--model", str(path), "--runs", "1", "--ratios", "0.25", "1.0",
                     "--scenes", "2"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "transmitter" in out and "receiver" in out and "peak RSS" in out
    rows = [line for line in out.splitlines() if line.startswith(("0.25", "1.0"))]
    assert len(rows) == 2
    assert float(rows[0].split()[3]) < float(rows[1].split()[3])  # more latents, more bytes
    assert "mean of 2 synthetic test-split scenes" in out and "nearest-codeword payload B" in out


@pytest.mark.slow
def test_isolated_measurement_runs_in_a_child_process():
    (r,) = bench_presets(["tiny"], ["cpu"], frames=1, threads=1, size=(64, 128))
    assert not r.skipped and r.peak_mb > 0


@pytest.mark.slow
@pytest.mark.ros
def test_ros_pipelines_over_dds(tmp_path):
    from sqgan_ros.evaluation.run import random_model_file
    from sqgan_ros.ros.tools.bench_pipelines import format_pipeline_table, run_pipelines, x264_unavailable

    model = random_model_file("tiny", tmp_path / "tiny.safetensors")
    results = run_pipelines(seconds=4.0, fps=5.0, model=str(model), size=(128, 256), warmup_s=180.0)
    table = format_pipeline_table(results)
    by_name = {r.name: r for r in results}
    for name in ("sqgan", "jpeg") + (() if x264_unavailable() else ("x264",)):
        r = by_name[name]
        assert not r.skipped, table
        assert r.decoded_frames > 0 and r.camera_frames > 0, table
        assert 0 < r.latency_ms_median < 10_000 and r.kbps > 0 and r.bytes_per_frame > 0, table
