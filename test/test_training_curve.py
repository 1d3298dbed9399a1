"""The held-out training curve tool appends one full row per call (slow: a real model on 36 frames)."""

from __future__ import annotations

import csv

import pytest


@pytest.mark.slow
def test_baseline_row_has_every_column(tmp_path, repo_root) -> None:
    from sqgan_ros.evaluation.training_curve import COLUMNS, main

    out = tmp_path / "curve.csv"
    assert main(["--baseline", "--init", str(repo_root / "models" / "default.safetensors"), "--csv", str(out)]) == 0
    assert main(["--baseline", "--init", str(repo_root / "models" / "default.safetensors"), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and list(rows[0]) == list(COLUMNS)
    assert rows[0]["synthetic_lpips"] == rows[1]["synthetic_lpips"]  # deterministic
    assert 0.0 < float(rows[0]["synthetic_lpips"]) < 1.0 and float(rows[0]["periodic_db"]) > 3.0
