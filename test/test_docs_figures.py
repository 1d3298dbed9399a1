"""Every figure quoted in README.md and docs/evaluation matches the committed artifact it comes from.

The markers and the checker are ``sqgan_ros/tools/docs_figures.py`` (its docstring has the syntax);
``python -m sqgan_ros.tools.docs_figures --check`` is what these tests run.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sqgan_ros.tools import docs_figures as df

REPO = Path(__file__).resolve().parents[1]


def test_every_quoted_figure_matches_its_artifact() -> None:
    problems = df.check(REPO)
    assert not problems, "\n".join(map(str, problems))


def test_no_figure_in_the_docs_is_untraced() -> None:
    found = df.untraced_all(REPO)
    assert not found, ("figure-like numbers without a marker (tie them to an artifact with "
                       "<!-- fig: ... -->, or mark a setting with <!-- fig: given -->):\n"
                       + "\n".join(map(str, found)))


def _first_bound_number(text: str) -> tuple[int, int]:
    """Offsets of the number that the document's first checked fig marker binds last."""
    markers = list(df.FIG.finditer(text))
    i = next(i for i, m in enumerate(markers) if df.split_expressions(m.group(1))[-1] != "given")
    floor = markers[i - 1].end() if i else 0
    found = df.numbers(df.masked(text), df._region_start(text, markers[i].start(), floor), markers[i].start())
    return found[-1].start, found[-1].end


@pytest.mark.parametrize("doc", ["README.md", "docs/evaluation/README.md", "docs/evaluation/roi/README.md"])
def test_changing_a_quoted_figure_fails(doc: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    assert df.check_text(text, doc, df.Artifacts(REPO)) == []
    a, b = _first_bound_number(text)
    old = text[a:b]
    new = str(int(old) + 1) if "." not in old else f"{float(old) + 0.2:.{len(old.split('.')[1])}f}"
    problems = df.check_text(text[:a] + new + text[b:], doc, df.Artifacts(REPO))
    assert len(problems) == 1 and f"{new} quoted" in problems[0].message, problems


def test_a_changed_number_in_a_generated_table_or_report_fails(tmp_path: Path) -> None:
    for rel in ("docs/evaluation/video_quick", "docs/evaluation/synthetic_quick"):
        shutil.copytree(REPO / rel, tmp_path / rel)
    shutil.copytree(REPO / "config/eval", tmp_path / "config/eval")
    assert df.check(tmp_path) == []
    video = tmp_path / "docs/evaluation/video_quick/README.md"
    video.write_text(video.read_text().replace(" 0.608 ", " 0.609 ", 1))
    report = tmp_path / "docs/evaluation/synthetic_quick/report.md"
    report.write_text(report.read_text().replace("| 0.410 |", "| 0.401 |", 1))
    messages = [p.message for p in df.check(tmp_path)]
    assert len(messages) == 2 and "render_report" in messages[0] and "stale" in messages[1], messages
    assert "0.401" in messages[0]
    df.write(tmp_path)
    assert df.check(tmp_path) == []
    assert " 0.608 " in video.read_text() and "| 0.410 |" in report.read_text()


def _doc(tmp_path: Path, text: str) -> list[df.Problem]:
    (tmp_path / "a.json").write_text(json.dumps({"runs": [{"name": "x", "ms": 12.34, "n": 3},
                                                         {"name": "y", "ms": 56.78, "n": 4}],
                                                "line": ["peak RSS 438.5 MB", "other 1 2"]}))
    return df.check_text(text, "doc.md", df.Artifacts(tmp_path))


def test_fig_markers_bind_the_numbers_before_them(tmp_path: Path) -> None:
    ok = ("took 12.3 / 57 ms<!-- fig: {a.json:runs[name=x].ms}; {:runs[name=y].ms} --> at keep 0.25, "
          "4 runs<!-- fig: {a.json:runs[1].n} -->, RSS 438.5 MB<!-- fig: {a.json:line[^peak].#2} -->, "
          "ratio 0.22<!-- fig: {a.json:runs[0].ms} / {a.json:runs[1].ms} -->, 10 fps<!-- fig: given -->\n")
    assert _doc(tmp_path, ok) == []
    assert "12.4 quoted" in _doc(tmp_path, ok.replace("12.3", "12.4"))[0].message
    # a half rounds either way; one more digit must agree to that digit
    assert _doc(tmp_path, "x 12.345<!-- fig: {a.json:runs[0].ms} -->") != []
    assert _doc(tmp_path, "x 56.8<!-- fig: {a.json:runs[1].ms} -->") == []


@pytest.mark.parametrize("marker, error", [
    ("{missing.json:a}", "does not exist"),
    ("{a.json:runs[name=z].ms}", "matches 0 elements"),
    ("{a.json:runs[0].nope}", "no key 'nope'"),
    ("{a.json:runs[0].ms}; {a.json:runs[1].ms}", "2 expressions but 1 numbers"),
    ("__import__('os')", "only numbers, references"),
    ("{:runs[0].ms}", "names no artifact"),
])
def test_bad_markers_are_problems_not_crashes(tmp_path: Path, marker: str, error: str) -> None:
    problems = _doc(tmp_path, f"took 12 ms<!-- fig: {marker} -->")
    assert len(problems) == 1 and error in problems[0].message, problems


def test_table_markers_check_each_cell_of_their_columns(tmp_path: Path) -> None:
    table = ("<!-- table:\n3 = {a.json:runs[name=@1].ms}; {a.json:runs[name=@1].n}\n2 = given\n-->\n"
             "| run | rate | ms / n |\n|---|---|---|\n| x | 16 | 12.3 / 3 |\n| **y** | 32 | 56.8 / 4 |\n")
    assert _doc(tmp_path, table) == []
    bad = _doc(tmp_path, table.replace("56.8 / 4", "56.8 / 5"))
    assert len(bad) == 1 and "5 quoted" in bad[0].message and bad[0].line == 8
    assert "1 numbers, 2 expressions" in _doc(tmp_path, table.replace("56.8 / 4", "56.8"))[0].message
    covered = df.Coverage(set())
    df.check_text(table, "doc.md", df.Artifacts(tmp_path), covered)
    assert len(covered.covered) == 6  # both rates (given) and the four checked figures


def test_untraced_lists_figures_without_a_marker(tmp_path: Path) -> None:
    text = ("Encode took 12.5 ms and 30 % of frames were kept at keep 0.25 with `--threads 2`.\n"
            "Decode took 7.5 ms<!-- fig: given --> with 20 % loss at ~0.04 bpp, v2 of 3 nodes, "
            "`stats_period_s` (1 s), `max_ratio` = 1.0.\n")
    found = [p.message for p in df.untraced(text, "doc.md", tmp_path)]
    assert len(found) == 2 and "12.5" in found[0] and "untraced figure 30" in found[1], found


def test_reports_are_checked_whole() -> None:
    folders = [f.name for f in df.reports(REPO)]
    assert "synthetic_quick" in folders and "real_quick" in folders
    assert re.search(r"\| SQ-GAN \| 0\.\d{3} \|", (REPO / "docs/evaluation/synthetic_quick/report.md").read_text())


def test_the_promotion_page_is_checked_against_gate_json(tmp_path: Path) -> None:
    from sqgan_ros.evaluation.promotion import Criterion, GateResult, gate_table

    folder = tmp_path / "docs/evaluation/promotion"
    folder.mkdir(parents=True)
    criteria = [Criterion("synthetic/stills/bpp<=0.02", "lpips", 0.3912, 0.4101, True, "lower than baseline")]
    (folder / "gate.json").write_text(json.dumps({"candidate": "ab" * 32, "baseline": "cd" * 32, "passed": True,
                                                  "criteria": [c.__dict__ for c in criteria]}))
    page = folder / f"{'ab' * 8}.md"
    page.write_text("# Promotion gate\n\n" + gate_table(GateResult(criteria), "ab" * 8, "cd" * 8))
    assert df.check(tmp_path) == [] and df.untraced_all(tmp_path) == []
    page.write_text(page.read_text().replace("0.3912", "0.3812"))
    assert [p.message for p in df.check(tmp_path)] == ["does not contain the table of its gate.json"]
