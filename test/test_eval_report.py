"""Matched-rate interpolation, "cannot reach", and a report whose claims follow the numbers."""

import math

import pytest

from sqgan_ros.evaluation.report import (
    ABOVE_RANGE,
    CANNOT_REACH,
    closest_point,
    headline,
    matched_value,
    read_points_csv,
    render_report,
    verdicts,
    write_points_csv,
)
from sqgan_ros.evaluation.sweep import COLUMNS


def test_matched_value_interpolates_in_log_bpp():
    m = matched_value([0.01, 0.04], [0.6, 0.2], 0.02)
    assert m.ok
    assert m.value == pytest.approx(0.4)  # 0.02 is halfway between 0.01 and 0.04 in log2
    assert matched_value([0.04, 0.01], [0.2, 0.6], 0.04).value == pytest.approx(0.2)  # order does not matter


def test_cannot_reach_below_lowest_setting():
    m = matched_value([0.05, 0.1, 0.2], [0.5, 0.4, 0.3], 0.02)
    assert m.status == CANNOT_REACH and not m.ok and math.isnan(m.value)
    assert m.lowest_bpp == pytest.approx(0.05)
    # within the 5 % tolerance of "~0.02": the lowest point counts
    near = matched_value([0.0205, 0.1], [0.5, 0.3], 0.02)
    assert near.ok and near.value == pytest.approx(0.5)


def test_above_range_is_not_extrapolated_and_nan_points_are_ignored():
    m = matched_value([0.005, 0.01], [0.9, 0.8], 0.08)
    assert m.status == ABOVE_RANGE and m.highest_bpp == pytest.approx(0.01)
    assert matched_value([0.01, 0.02, 0.04], [0.5, float("nan"), 0.3], 0.02).value == pytest.approx(0.4)
    assert matched_value([0.01], [float("nan")], 0.02).status == CANNOT_REACH
    with pytest.raises(ValueError):
        matched_value([0.1], [0.1, 0.2], 0.1)
    with pytest.raises(ValueError):
        matched_value([0.1], [0.1], 0.0)


def _row(codec, setting, bpp, lpips, seg, psnr=20.0, kind="image"):
    row = {c: float("nan") for c in COLUMNS}
    row.update({"set": "stills", "codec": codec, "kind": kind, "setting": setting, "frames": 4.0, "bpp": bpp,
                "kbps": bpp * 256 * 512 * 10 / 1000, "bytes_mean": bpp * 256 * 512 / 8, "lpips": lpips,
                "seg_miou": seg, "psnr": psnr, "ms_ssim": 0.5, "label_reference": "ground truth"})
    return row


def _fake_rows(sqgan_lpips_at_high: float):
    """SQ-GAN better than WebP at 0.02 bpp; at 0.08 bpp better or worse depending on the argument."""
    return [
        _row("sqgan", "keep=0.1", 0.01, 0.40, 0.30, psnr=18.0, kind="semantic"),
        _row("sqgan", "keep=0.5", 0.04, 0.30, 0.40, psnr=19.0, kind="semantic"),
        _row("sqgan", "keep=1", 0.16, sqgan_lpips_at_high, 0.45, psnr=20.0, kind="semantic"),
        _row("webp", "q=0", 0.015, 0.60, 0.10, psnr=21.0),
        _row("webp", "q=50", 0.16, 0.10, 0.50, psnr=30.0),
        _row("jpeg", "q=1", 0.10, 0.50, 0.20, psnr=22.0),
        _row("jpeg", "q=50", 0.60, 0.05, 0.55, psnr=32.0),
    ]


def test_headline_table_marks_unreachable_codecs():
    rows = _fake_rows(0.25)
    table = headline(rows, "stills", [0.02, 0.08])
    assert table["jpeg"][0.02]["lpips"].status == CANNOT_REACH
    assert table["jpeg"][0.08]["lpips"].status == CANNOT_REACH
    assert table["webp"][0.02]["lpips"].ok
    text = render_report(rows, name="fake", targets=[0.02, 0.08])
    assert "### Headline" in text
    jpeg_line = next(line for line in text.splitlines() if line.startswith("| JPEG |"))
    assert jpeg_line.count("cannot reach (min 0.100)") == 4  # LPIPS and mIoU at both rates


def _line_for(text: str, target: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"- **~{target} bpp**"))


def test_report_says_where_sqgan_wins_and_loses_from_the_numbers():
    rows = _fake_rows(0.25)  # at 0.08 bpp: SQ-GAN ~0.27 vs WebP ~0.25 -> loses on LPIPS
    vs = {(v.target, v.metric): v for v in verdicts(rows, "stills", [0.02, 0.08], ["lpips", "seg_miou", "psnr"])}
    assert vs[(0.02, "lpips")].sqgan_wins is True and vs[(0.02, "lpips")].best_codec == "webp"
    assert vs[(0.08, "lpips")].sqgan_wins is False
    assert vs[(0.02, "psnr")].sqgan_wins is False  # WebP has the higher PSNR at every rate
    assert vs[(0.02, "lpips")].unreachable == ("jpeg",)
    text = render_report(rows, name="fake", targets=[0.02, 0.08])
    assert "LPIPS: SQ-GAN wins" in _line_for(text, "0.02")
    assert "segmenter mIoU: SQ-GAN wins" in _line_for(text, "0.02")
    assert "PSNR: SQ-GAN loses" in _line_for(text, "0.02")
    assert "LPIPS: SQ-GAN loses" in _line_for(text, "0.08")
    assert "Cannot reach this rate: JPEG" in text
    # change only the numbers: the claim at 0.08 bpp flips with them
    flipped = render_report(_fake_rows(0.05), name="fake", targets=[0.02, 0.08])
    assert "LPIPS: SQ-GAN wins" in _line_for(flipped, "0.08")


def test_metrics_only_sqgan_has_are_not_compared_and_unswept_rates_are_not_claimed():
    rows = _fake_rows(0.25)
    for r in rows:
        r["semantic_miou"] = 0.5 if r["codec"] == "sqgan" else float("nan")
    assert verdicts(rows, "stills", [0.02], ["semantic_miou"]) == []
    high = [r for r in rows if r["codec"] != "jpeg"] + [_row("webp", "q=1", 0.012, 0.7, 0.05)]
    high = [r for r in high if not (r["codec"] == "webp" and r["bpp"] > 0.1)]  # WebP swept only to 0.015
    (v,) = verdicts(high, "stills", [0.08], ["lpips"])
    assert v.best is None and v.not_swept == ("webp",) and v.sqgan_wins is None
    assert "no baseline was swept up to ~0.08 bpp" in _line_for(render_report(high, name="x", targets=[0.08]), "0.08")


def test_report_when_sqgan_is_the_only_codec_reaching_a_rate():
    rows = [r for r in _fake_rows(0.25) if r["codec"] != "webp"]
    text = render_report(rows, name="fake", targets=[0.02])
    assert "LPIPS: only SQ-GAN reaches ~0.02 bpp" in _line_for(text, "0.02")


def test_csv_round_trip_and_closest_point(tmp_path):
    rows = _fake_rows(0.25)
    path = tmp_path / "points.csv"
    write_points_csv(rows, path)
    back = read_points_csv(path)
    assert [r["codec"] for r in back] == [r["codec"] for r in rows]
    assert back[0]["bpp"] == pytest.approx(0.01) and math.isnan(back[0]["fid"])
    assert list(back[0]) == list(COLUMNS)
    assert closest_point(back, "stills", "webp", 0.02)["setting"] == "q=0"
    assert closest_point(back, "stills", "x264", 0.02) is None
