"""Artifacts and the expressions that read figures from them (for ``sqgan_ros.tools.docs_figures``).

An expression is arithmetic (``+ - * /``, parentheses, numbers, ``min``/``max``/``abs``) over
references ``{PATH:SELECTOR}`` into committed ``.json`` / ``.csv`` artifacts; ``given`` marks a
setting. The selector syntax is described in ``docs_figures``' module docstring.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

REF = re.compile(r"\{([^{}:]*):([^{}]*)\}")


class FigureError(ValueError):
    """A marker that cannot be evaluated (bad syntax, missing artifact or key)."""


# ----------------------------------------------------------------------------- artifacts


class Artifacts:
    """Committed artifacts, loaded once each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = ""  # the artifact of the latest reference: ``{:SELECTOR}`` reads it again
        self._cache: dict[str, Any] = {}

    def load(self, rel: str) -> Any:
        """The parsed artifact at ``rel`` (JSON: as stored; CSV: a list of row dicts)."""
        rel = rel.strip()
        if rel not in self._cache:
            path = self.root / rel
            if not path.is_file():
                raise FigureError(f"artifact {rel} does not exist")
            if path.suffix == ".json":
                self._cache[rel] = json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".csv":
                with path.open(newline="", encoding="utf-8") as f:
                    self._cache[rel] = list(csv.DictReader(f))
            else:
                raise FigureError(f"artifact {rel}: only .json and .csv files are artifacts")
        return self._cache[rel]

    def value(self, rel: str, selector: str) -> float:
        """The number SELECTOR picks from the artifact ``rel`` (empty: the previous one)."""
        rel = rel.strip() or self.last
        if not rel:
            raise FigureError(f"{{:{selector}}} names no artifact and none came before it")
        self.last = rel
        fallback = re.fullmatch(r"(.*)\?\s*(-?[\d.]+)\s*", selector)
        if fallback:
            try:
                return self.value(rel, fallback.group(1))
            except FigureError as exc:
                if "no key" not in str(exc):
                    raise
                return float(fallback.group(2))
        call = re.fullmatch(r"\s*matched\(([^)]*)\)\s*", selector)
        if call:
            return self.matched(rel, *[a.strip() for a in call.group(1).split(",")])
        node = self.load(rel)
        for part in re.findall(r"\[[^\]]*\]|#[^.\[#]+|[^.\[#]+", selector.strip()):
            node = _step(node, part, f"{rel}:{selector}")
        try:
            value = float(node)
        except (TypeError, ValueError):
            raise FigureError(f"{rel}:{selector} is {node!r}, not a number") from None
        return value


    def matched(self, rel: str, *args: str) -> float:
        """A sweep's matched-rate value: ``matched(SET, CODEC, METRIC, BPP)`` on a points.csv, as in its report."""
        from sqgan_ros.evaluation.report import curve, matched_value

        if len(args) != 4:
            raise FigureError(f"{rel}: matched() takes SET, CODEC, METRIC, BPP, got {args}")
        rows = [{k: _number(v) for k, v in row.items()} for row in self.load(rel)]
        m = matched_value(*curve(rows, args[0], args[1], args[2]), float(args[3]))
        if not m.ok:
            raise FigureError(f"{rel}: matched{args}: {m.status}")
        return m.value


def _number(text: str) -> Any:
    try:
        return float(text) if text != "" else math.nan
    except ValueError:
        return text


def _same(a: Any, b: str) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return str(a) == b


_AGGREGATES: dict[str, Callable[[list[float]], Any]] = {
    "count": len, "sum": sum, "min": min, "max": max, "mean": lambda v: sum(v) / len(v),
    "diff": lambda v: [b - a for a, b in zip(v, v[1:])]}


def _aggregate(node: Any, name: str, where: str) -> Any:
    if not isinstance(node, list) or not node:
        raise FigureError(f"{where}: #{name} needs a non-empty list")
    if name == "count":
        return len(node)
    values = [float(v) for v in node]
    pct = re.fullmatch(r"p(\d{1,2})", name)
    if pct:  # linear interpolation between the closest ranks (numpy's default)
        ranked, q = sorted(values), int(pct.group(1)) / 100 * (len(values) - 1)
        low = math.floor(q)
        high = min(low + 1, len(ranked) - 1)
        return ranked[low] + (q - low) * (ranked[high] - ranked[low])
    if name not in _AGGREGATES:
        raise FigureError(f"{where}: unknown aggregate #{name}")
    return _AGGREGATES[name](values)


def _step(node: Any, part: str, where: str) -> Any:
    if part.startswith("#") and not part[1:].isdigit():
        return _aggregate(node, part[1:], where)
    if part.startswith("[*"):
        if not isinstance(node, list):
            raise FigureError(f"{where}: {part} applied to a non-list")
        inner = part[2:-1].strip()
        conditions = [c.split("=", 1) for c in inner.split(",")] if inner else []
        return [row for row in node if isinstance(row, dict)
                and all(k.strip() in row and _same(row[k.strip()], v.strip()) for k, v in conditions)]
    if isinstance(node, list) and not part.startswith("[") and not part.startswith("#"):
        return [_step(row, part, where) for row in node]
    if part.startswith("#"):
        if not isinstance(node, str) or not part[1:].isdigit():
            raise FigureError(f"{where}: {part} needs a text line and a token number")
        tokens = node.split()
        if int(part[1:]) >= len(tokens):
            raise FigureError(f"{where}: the line has {len(tokens)} tokens")
        return tokens[int(part[1:])].strip("%,()")
    if part.startswith("[^"):
        if isinstance(node, dict):
            keys = [k for k in node if k.startswith(part[2:-1])]
            if len(keys) != 1:
                raise FigureError(f"{where}: {len(keys)} keys start with {part[2:-1]!r}, not one")
            return node[keys[0]]
        hits = [line for line in node if isinstance(line, str) and line.startswith(part[2:-1])] \
            if isinstance(node, list) else []
        if len(hits) != 1:
            raise FigureError(f"{where}: {len(hits)} lines start with {part[2:-1]!r}, not one")
        return hits[0]
    if part.startswith("["):
        inner = part[1:-1].strip()
        if not isinstance(node, list):
            raise FigureError(f"{where}: {part} applied to a non-list")
        if re.fullmatch(r"-?\d+", inner):
            try:
                return node[int(inner)]
            except IndexError:
                raise FigureError(f"{where}: index {inner} out of range") from None
        conditions = [c.split("=", 1) for c in inner.split(",")]
        if any(len(c) != 2 for c in conditions):
            raise FigureError(f"{where}: filter {part} is not k=v,...")
        hits = [row for row in node if isinstance(row, dict)
                and all(k.strip() in row and _same(row[k.strip()], v.strip()) for k, v in conditions)]
        if len(hits) != 1:
            raise FigureError(f"{where}: filter {part} matches {len(hits)} elements, not one")
        return hits[0]
    if not isinstance(node, dict) or part not in node:
        raise FigureError(f"{where}: no key {part!r}")
    return node[part]


_FUNCS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs}


def evaluate(expression: str, artifacts: Artifacts) -> float | None:
    """The value of one marker expression; None for ``given`` (a setting)."""
    expression = expression.strip()
    if expression == "given":
        return None
    refs: list[float] = []

    def ref(m: re.Match[str]) -> str:
        refs.append(artifacts.value(m.group(1), m.group(2)))
        return f"_r{len(refs) - 1}"

    text = REF.sub(ref, expression)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise FigureError(f"expression {expression!r} does not parse") from None
    return float(_eval(tree.body, refs, expression))


def _eval(node: ast.AST, refs: list[float], src: str) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name) and re.fullmatch(r"_r\d+", node.id):
        return refs[int(node.id[2:])]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, refs, src)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _eval(node.left, refs, src), _eval(node.right, refs, src)
        ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
        return ops[type(node.op)] if type(node.op) in ops else a / b
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            and not node.keywords):
        return float(_FUNCS[node.func.id](*[_eval(a, refs, src) for a in node.args]))
    raise FigureError(f"expression {src!r}: only numbers, references, + - * / and min/max/abs")


def split_expressions(text: str) -> list[str]:
    """Split a marker's expressions at ``;`` outside references."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]
