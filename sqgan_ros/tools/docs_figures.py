"""Figures in README.md and docs/evaluation, checked against the committed artifacts they come from.

    python -m sqgan_ros.tools.docs_figures --check      # list every quoted figure that disagrees (exit 1)
    python -m sqgan_ros.tools.docs_figures --write      # regenerate the generated blocks, then check
    python -m sqgan_ros.tools.docs_figures --untraced   # list figure-like numbers that no marker covers

A quoted figure is tied to its artifact (a committed CSV or JSON file that a named command wrote) by
an HTML comment next to it, invisible when the Markdown is rendered:

1. After the figures: ``decode 60<!-- fig: {docs/x.json:a.b} -->`` or, for several,
   ``94 / 346 bytes<!-- fig: {F:k1}; {F:k2} -->``. A marker with N expressions binds the last N
   numbers between the previous marker (or the start of the paragraph) and itself, in order.
2. Before a Markdown table: ``<!-- table:`` then one line per checked column,
   ``4 = {docs/evaluation/link/@1/summary.json:link_steady.r2o.ip_kbps}`` (``@1`` is the row's first
   cell; several numbers in a cell: expressions separated by ``;``, a lone ``-`` in the cell skips
   its expression; ``N = given`` marks a column of settings), then ``-->``.
3. Generated text: ``<!-- begin: NAME ARGS -->`` ... ``<!-- end: NAME -->`` must equal what the
   generator NAME makes from ARGS (``--write`` rewrites it).

An expression is arithmetic (``+ - * /``, parentheses, numbers, ``min``/``max``/``abs``) over
references ``{PATH:SELECTOR}``: PATH relative to the repository root (``{:SELECTOR}``: the
artifact of the previous reference in the same document), a ``.json`` or ``.csv`` file
(a CSV is a list of rows); SELECTOR is dot-separated keys, ``[n]`` list indices and ``[k=v,...]``
filters that must match exactly one list element (numbers compare as numbers); for a tool that
writes text lines, ``[^PREFIX]`` is the one line (or dict key) starting with PREFIX and ``#N``
a line's N-th whitespace-separated token (0-based; ``%,()`` stripped); a selector ending in
``?NUMBER`` gives NUMBER where a key is missing (a category a run did not see); ``[*k=v,...]``
is every matching element (``[*]`` all), a key after it is taken from each, and
``#count #sum #mean #min #max #diff #p50 #p95`` reduce such a list; on a sweep's
points.csv, ``matched(SET, CODEC, METRIC, BPP)`` is the report's matched-rate value. ``given``
instead of an expression marks a setting or a constant of a format or protocol (chosen or
computed, not measured). A quoted number matches when it equals the value to the quoted number
of decimals (either rounding direction of a half).

The reports ``sqgan-eval`` writes (``docs/evaluation/*/report.md``) are checked whole: they must
equal ``render_report`` of their own ``points.csv`` and ``summary.json``; the promotion gate's page
of the latest candidate (``docs/evaluation/promotion/<id>.md``) must hold the table of its
``gate.json``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sqgan_ros.tools.docs_generated import GENERATORS, reports, whole_files
from sqgan_ros.tools.figure_sources import Artifacts, FigureError, evaluate, split_expressions

__all__ = ["Artifacts", "Coverage", "FigureError", "Problem", "check", "check_text", "evaluate", "numbers",
           "reports", "split_expressions", "untraced", "untraced_all", "whole_files", "write"]

REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/evaluation/**/*.md")

NUMBER = re.compile(r"(?<![\w.])([-\u2212+]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
FIG = re.compile(r"<!--\s*fig:(.*?)-->", re.S)
TABLE = re.compile(r"<!--\s*table:(.*?)-->[ \t]*\n((?:[ \t]*\n)*)((?:[ \t]*\|[^\n]*\n?)+)", re.S)
BLOCK = re.compile(r"<!--\s*begin:\s*(\S+)([^>]*?)-->\n(.*?)<!--\s*end:\s*\1\s*-->", re.S)
PLACEHOLDER = re.compile(r"(?<![\w.-])-(?![\w.-])")  # "-" alone in a table cell: no value
COMMENT = re.compile(r"<!--.*?-->", re.S)
FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# A number is figure-like (a measurement unless a marker says otherwise) when it has decimals or a
# unit of a measurement after it.
UNIT = re.compile(r"\s?(%|×|x\b|ms\b|s\b|dB\b|MB\b|kB\b|B\b|bytes\b|bits?\b|fps\b|kbit/s|bpp\b|"
                  r"frames/s|M\b|k\b|hours?\b|minutes\b|min\b|points\b)")


# A number right after these words is a setting (a keep ratio, an option's value, a default, a
# version), not a figure.
SETTING = re.compile(r"(\bkeep(?: ratios?)?|\bratios?|\bthreshold|\bdefault|\bPython|\btorch|--[\w-]+|"
                     r"[:=])\s*"
                     r"(?:[-\u2212+]?\d[\d.]*\s*(?:/|,|and|or|to|-|\u2013)\s*)*$")

# ... and a number followed by these words is a setting too (a loss rate chosen for a run).
SETTING_AFTER = re.compile(r"\s?% (?:frame |packet )?loss|\s?% of (?:the )?frames (?:lost|dropped)")
# "~0.04 bpp" names a matched-rate target of the reports; "at 32 kbit/s" (a whole number) a link rate.
TARGET = re.compile(r"~$")
AT_RATE = re.compile(r"\bat\s*$")
# A number right after a parameter's name in a code span ("`stats_period_s` (1 s)", "`x` = 1") is
# its value: a setting.
PARAMETER = re.compile(r"`[A-Za-z_][\w.]*`\s*(?:\(|=|:)?\s*$")


@dataclass(frozen=True)
class Problem:
    """One disagreement: where, and what."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


# ----------------------------------------------------------------------------- numbers in text


@dataclass(frozen=True)
class Quoted:
    """A number as written in the document."""

    start: int
    end: int
    text: str

    @property
    def value(self) -> float:
        """The number written."""
        return float(self.text.replace(",", "").replace("\u2212", "-"))

    @property
    def decimals(self) -> int:
        """Digits written after the decimal point."""
        return len(self.text.split(".")[1]) if "." in self.text else 0


def numbers(text: str, start: int = 0, end: int | None = None) -> list[Quoted]:
    """The numbers of ``text[start:end]`` (thousands with commas; a sign only before a non-digit)."""
    end = len(text) if end is None else end
    return [Quoted(start + m.start(), start + m.end(), m.group(0))
            for m in NUMBER.finditer(text[start:end])]


def matches(quoted: Quoted, value: float) -> bool:
    """``quoted`` is ``value`` written to its number of decimals."""
    if not math.isfinite(value):
        return False
    half = 0.5 * 10.0 ** -quoted.decimals
    return abs(quoted.value - value) <= half * (1 + 1e-9) + 1e-12


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def masked(text: str) -> str:
    """``text`` with code, code spans and HTML comments blanked (offsets and lines kept)."""
    return _blank(_blank(_blank(text, FENCE), COMMENT), CODE_SPAN)


# ----------------------------------------------------------------------------- checking


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _region_start(text: str, before: int, floor: int) -> int:
    para = text.rfind("\n\n", floor, before)
    return max(floor, para + 2 if para >= 0 else floor)


def _cells(row: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each cell of a table row (offsets within ``row``)."""
    bars = [i for i, ch in enumerate(row) if ch == "|"]
    return [(a + 1, b) for a, b in zip(bars, bars[1:])]


def _table_spec(spec: str) -> dict[int, list[str]]:
    columns: dict[int, list[str]] = {}
    for line in spec.strip().splitlines():
        if not line.strip():
            continue
        m = re.fullmatch(r"\s*(\d+)\s*=\s*(.+)", line)
        if not m:
            raise FigureError(f"table marker line {line.strip()!r} is not 'COLUMN = EXPRESSIONS'")
        columns[int(m.group(1))] = split_expressions(m.group(2))
    return columns


@dataclass
class Coverage:
    """Offsets of numbers that a marker checks or declares a setting."""

    covered: set[int]


def check_text(text: str, rel: str, artifacts: Artifacts, coverage: Coverage | None = None) -> list[Problem]:
    """Every marker and generated block of one document against the artifacts."""
    artifacts.last = ""
    problems: list[Problem] = []
    covered = coverage.covered if coverage is not None else set()
    for m in BLOCK.finditer(text):
        name, args = m.group(1), m.group(2).split()
        if name not in GENERATORS:
            problems.append(Problem(rel, _line(text, m.start()), f"unknown generator {name!r}"))
            continue
        try:
            want = GENERATORS[name](artifacts.root, *args)
        except (OSError, KeyError, ValueError) as exc:
            problems.append(Problem(rel, _line(text, m.start()), f"{name} {' '.join(args)}: {exc}"))
            continue
        if m.group(3) != want:
            problems.append(Problem(rel, _line(text, m.start()),
                                    f"generated block {name} {' '.join(args)} is stale (run --write)"))
    plain = masked(text)
    blocks = [(m.start(), m.end()) for m in BLOCK.finditer(text)]
    covered.update(q.start for a, b in blocks for q in numbers(plain, a, b))
    floor = 0
    for m in FIG.finditer(text):
        line = _line(text, m.start())
        try:
            exprs = split_expressions(m.group(1))
            found = numbers(plain, _region_start(text, m.start(), floor), m.start())
            if len(found) < len(exprs):
                raise FigureError(f"{len(exprs)} expressions but {len(found)} numbers before the marker")
            for quoted, expr in zip(found[len(found) - len(exprs):], exprs):
                covered.add(quoted.start)
                value = evaluate(expr, artifacts)
                if value is not None and not matches(quoted, value):
                    problems.append(Problem(rel, line, f"{quoted.text} quoted, {value:.6g} in {expr} "
                                                       f"({artifacts.last})"))
        except FigureError as exc:
            problems.append(Problem(rel, line, str(exc)))
        floor = m.end()
    for m in TABLE.finditer(text):
        line = _line(text, m.start())
        try:
            columns = _table_spec(m.group(1))
        except FigureError as exc:
            problems.append(Problem(rel, line, str(exc)))
            continue
        offset = m.start(3)
        for i, row in enumerate(m.group(3).splitlines(keepends=True)):
            row_start, row_line = offset, _line(text, offset)
            offset += len(row)
            if i < 2:  # header and separator
                continue
            cells = _cells(row)
            key = re.sub(r"[*`]", "", row[cells[0][0]:cells[0][1]]).strip() if cells else ""
            for col, exprs in columns.items():
                if col < 1 or col > len(cells):
                    problems.append(Problem(rel, row_line, f"table has no column {col}"))
                    continue
                a, b = cells[col - 1]
                found = numbers(plain, row_start + a, row_start + b)
                covered.update(q.start for q in found)
                if exprs == ["given"] or not found:
                    continue
                found = sorted(found + [Quoted(row_start + a + h.start(), row_start + a + h.end(), "-")
                                        for h in PLACEHOLDER.finditer(plain[row_start + a:row_start + b])],
                               key=lambda q: q.start)
                if len(found) != len(exprs):
                    problems.append(Problem(rel, row_line, f"column {col}: {len(found)} numbers, "
                                                           f"{len(exprs)} expressions"))
                    continue
                for quoted, expr in zip(found, exprs):
                    if quoted.text == "-":  # no value in this row (a category the run did not have)
                        continue
                    try:
                        value = evaluate(expr.replace("@1", key), artifacts)
                    except FigureError as exc:
                        problems.append(Problem(rel, row_line, f"column {col}: {exc}"))
                        continue
                    if value is not None and not matches(quoted, value):
                        problems.append(Problem(rel, row_line, f"column {col}: {quoted.text} quoted, "
                                                               f"{value:.6g} in {expr.replace('@1', key)}"))
    return problems


def documents(root: Path) -> list[Path]:
    """README.md and every Markdown file under docs/evaluation."""
    found: list[Path] = []
    for pattern in DOCS:
        found += sorted(root.glob(pattern))
    return found


def check(root: Path = REPO) -> list[Problem]:
    """All problems of all documents (empty: every quoted figure matches its artifact)."""
    artifacts = Artifacts(root)
    problems: list[Problem] = []
    whole = whole_files(root)
    for path, (mode, make) in sorted(whole.items()):
        rel = str(path.relative_to(root))
        try:
            want = make()
            have = path.read_text(encoding="utf-8")
        except (OSError, KeyError, ValueError, TypeError) as exc:
            problems.append(Problem(rel, 1, f"cannot check against its artifact: {exc}"))
            continue
        if mode == "contains":
            if want not in have:
                problems.append(Problem(rel, 1, "does not contain the table of its gate.json"))
        elif have != want:
            pairs = zip(have.splitlines() + [""], want.splitlines() + [""])
            n, (a, b) = next((i, ab) for i, ab in enumerate(pairs, 1) if ab[0] != ab[1])
            problems.append(Problem(rel, n, f"differs from render_report of its points.csv (run --write): "
                                            f"{a[:80]!r} where the artifact gives {b[:80]!r}"))
    for path in documents(root):
        if path not in whole:
            problems += check_text(path.read_text(encoding="utf-8"), str(path.relative_to(root)), artifacts)
    return problems


def untraced(text: str, rel: str, root: Path = REPO) -> list[Problem]:
    """Figure-like numbers (decimals, or a unit after them) that no marker covers."""
    coverage = Coverage(set())
    check_text(text, rel, Artifacts(root), coverage)
    plain = masked(text)
    out = []
    for q in numbers(plain):
        if (q.start in coverage.covered or SETTING.search(plain, max(0, q.start - 60), q.start)
                or SETTING_AFTER.match(plain, q.end)
                or PARAMETER.search(text, max(0, q.start - 60), q.start)
                or (TARGET.search(plain, max(0, q.start - 2), q.start) and plain.startswith(" bpp", q.end))
                or (AT_RATE.search(plain, max(0, q.start - 4), q.start) and "." not in q.text
                    and plain.startswith(" kbit/s", q.end))):
            continue
        if "." in q.text or UNIT.match(plain, q.end):
            out.append(Problem(rel, _line(text, q.start), f"untraced figure {q.text}: "
                                                          f"{plain[max(0, q.start - 30):q.end + 12]!r}"))
    return out


def untraced_all(root: Path = REPO) -> list[Problem]:
    """Untraced figure-like numbers of every document except those checked whole."""
    whole = whole_files(root)
    out: list[Problem] = []
    for path in documents(root):
        if path not in whole:
            out += untraced(path.read_text(encoding="utf-8"), str(path.relative_to(root)), root)
    return out


def write(root: Path = REPO) -> list[Path]:
    """Regenerate every generated block and report; returns the files changed."""
    changed = []
    for path, (mode, make) in sorted(whole_files(root).items()):
        if mode != "equal":  # a page that only has to contain its table is not rewritten
            continue
        want = make()
        if path.read_text(encoding="utf-8") != want:
            path.write_text(want, encoding="utf-8")
            changed.append(path)
    for path in documents(root):
        text = path.read_text(encoding="utf-8")

        def regenerate(m: re.Match[str]) -> str:
            if m.group(1) not in GENERATORS:
                return m.group(0)
            body = GENERATORS[m.group(1)](root, *m.group(2).split())
            return m.group(0)[:m.start(3) - m.start()] + body + m.group(0)[m.end(3) - m.start():]

        new = BLOCK.sub(regenerate, text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line: --check (default), --write, --untraced; exit 1 on any problem."""
    parser = argparse.ArgumentParser(prog="python -m sqgan_ros.tools.docs_figures",
                                     description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="check every quoted figure (default)")
    mode.add_argument("--write", action="store_true", help="regenerate generated blocks and reports, then check")
    mode.add_argument("--untraced", action="store_true", help="list figure-like numbers no marker covers")
    parser.add_argument("--root", type=Path, default=REPO, help="repository root")
    args = parser.parse_args(argv)
    if args.untraced:
        found = untraced_all(args.root)
        print("\n".join(map(str, found)) or "no untraced figures")
        return 1 if found else 0
    if args.write:
        for path in write(args.root):
            print(f"rewrote {path.relative_to(args.root)}")
    problems = check(args.root)
    print("\n".join(map(str, problems)) or "every quoted figure matches its artifact")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
