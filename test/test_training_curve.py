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


def test_older_csv_is_upgraded_and_the_curve_is_drawn(tmp_path) -> None:
    from sqgan_ros.evaluation.training_curve import COLUMNS, main, upgrade_csv

    old = ["date", "model", "semantic_samples", "image_samples", "keep", "synthetic_lpips", "synthetic_psnr",
           "synthetic_decoded_miou", "real_lpips", "real_psnr", "photos_lpips", "periodic_db"]
    path = tmp_path / "curve.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(old)
        writer.writerow(["d", "bundled", 0, 0, 0.25, 0.33, 19.5, 0.26, 0.38, 18.3, 0.65, 11.9])
        writer.writerow(["d", "v2", 100, 80, 0.25, 0.30, 20.5, 0.52, 0.39, 18.3, 0.52, 2.5])
    assert upgrade_csv(path) and not upgrade_csv(path)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == list(COLUMNS) and rows[1]["real_lpips"] == "0.39" and rows[1]["real_decoded_map_lpips"] == ""
    assert main(["--csv", str(path), "--plot", str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    bad = tmp_path / "bad.csv"
    bad.write_text("date,model,mystery\n1,2,3\n")
    with pytest.raises(ValueError, match="mystery"):
        upgrade_csv(bad)
