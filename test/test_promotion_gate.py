"""The promotion gate: each criterion decides, the table shows both models, only a pass replaces the file."""

from __future__ import annotations

import math

import pytest
import yaml

from sqgan_ros.evaluation.promotion import GateResult, compare, gate_table, main, refresh_readme


def _row(setting: str, **metrics) -> dict:
    base = {"set": "stills", "codec": "sqgan", "setting": setting, "lpips": 0.4, "seg_miou": 0.5,
            "semantic_miou": 0.3, "periodic_db": 12.0, "encode_ms": 30.0, "decode_ms": 60.0}
    base.update(metrics)
    return base


def _rows(**metrics) -> list[dict]:
    return [_row("bpp<=0.02", **metrics), _row("bpp<=0.04", **metrics),
            {"set": "stills", "codec": "jpeg", "setting": "q=5", "lpips": 0.1}]


def test_a_better_model_passes_every_criterion() -> None:
    good = compare("synthetic", _rows(lpips=0.3, seg_miou=0.6, periodic_db=0.5), _rows())
    result = GateResult(good)
    assert result.passed and len(good) == 2 * 6
    assert "candidate `aaaa`" in gate_table(result, "aaaa", "bbbb")


@pytest.mark.parametrize("metric,value", [("lpips", 0.41), ("lpips", 0.4), ("seg_miou", 0.5), ("semantic_miou", 0.29),
                                          ("periodic_db", 12.5), ("encode_ms", 41.0), ("decode_ms", 81.0),
                                          ("decode_ms", math.nan)])
def test_each_criterion_can_refuse(metric, value) -> None:
    better = {"lpips": 0.3, "seg_miou": 0.6}
    better[metric] = value
    result = GateResult(compare("real", _rows(**better), _rows()))
    assert not result.passed
    assert {c.metric for c in result.failures()} == {metric}


def test_speed_is_judged_on_the_fixed_keep_point_when_the_sweep_has_one() -> None:
    """A matched-rate point's encode time includes the keep-ratio search; the nodes encode once."""
    searched = {"lpips": 0.3, "seg_miou": 0.6, "encode_ms": 47.0}
    fixed = _row("keep=0.25", encode_ms=28.0, decode_ms=50.0)
    result = GateResult(compare("real", _rows(**searched) + [fixed], _rows() + [_row("keep=0.25")]))
    assert result.passed
    speed = [c for c in result.criteria if c.metric.endswith("_ms")]
    assert [(c.where, c.metric, c.candidate) for c in speed] == [
        ("real/stills/keep=0.25", "encode_ms", 28.0), ("real/stills/keep=0.25", "decode_ms", 50.0)]
    slow = _row("keep=0.25", encode_ms=41.0)
    refused = GateResult(compare("real", _rows(**searched) + [slow], _rows() + [_row("keep=0.25")]))
    assert {c.metric for c in refused.failures()} == {"encode_ms"}


def test_missing_points_are_an_error_and_an_empty_gate_never_passes() -> None:
    with pytest.raises(ValueError, match="matched-rate points"):
        compare("real", _rows()[:1], _rows())
    assert not GateResult([]).passed


def test_refresh_readme_replaces_only_the_marked_block(tmp_path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- gate:begin -->\nold\n<!-- gate:end -->\nrest\n")
    assert refresh_readme(readme, "new table\n")
    assert readme.read_text() == "intro\n<!-- gate:begin -->\nnew table\n<!-- gate:end -->\nrest\n"
    other = tmp_path / "OTHER.md"
    other.write_text("no markers\n")
    assert not refresh_readme(other, "x") and other.read_text() == "no markers\n"


def test_the_command_refuses_a_worse_model_and_keeps_the_baseline(tmp_path, repo_root) -> None:
    """End to end with two random tiny models on a tiny gate: a random model cannot beat another
    on every criterion at once, so the gate refuses, writes its table and leaves the file."""
    from sqgan_ros.evaluation.run import random_model_file

    cfg = yaml.safe_load((repo_root / "config" / "eval" / "gate_synthetic.yaml").read_text())
    cfg.update(size=[128, 256], stills={"source": "synthetic", "split": "test", "count": 2})
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(cfg))
    base = random_model_file("tiny", tmp_path / "base.safetensors", seed=0)
    cand = random_model_file("tiny", tmp_path / "cand.safetensors", seed=1)
    before = base.read_bytes()
    code = main([str(cand), "--baseline", str(base), "--synthetic", str(tmp_path / "gate.yaml"),
                 "--real", str(tmp_path / "gate.yaml"), "--out", str(tmp_path / "out"),
                 "--readme", str(tmp_path / "README.md"), "--threads", "1"])
    assert code == 1
    assert base.read_bytes() == before
    reports = list((tmp_path / "out").glob("*.md"))
    assert len(reports) == 1 and "REFUSED" in reports[0].read_text()
    assert main([str(base), "--baseline", str(base)]) == 2  # the same model


def test_readme_block_ties_each_figure_to_gate_json(tmp_path) -> None:
    from sqgan_ros.evaluation.promotion import readme_block

    result = GateResult(compare("real", _rows(lpips=0.3, seg_miou=0.6), _rows()))
    block = readme_block(result, "aaaa", "bbbb", tmp_path)
    line = next(x for x in block.splitlines() if x.strip().startswith("real:"))
    assert "LPIPS 0.300 / 0.300 (was 0.400 / 0.400)" in line and "30.0 / 60.0 ms" in line
    assert line.count(f"{{{(tmp_path / 'gate.json').as_posix()}:criteria[where=real/stills/bpp<=0.0") == 6
    assert line.count(",metric=lpips].") == 4 and line.count(",metric=encode_ms].candidate") == 1
    assert line.index("<!-- fig:") < line.index("~0.02 bpp")   # rates after the marker: never bound to it
