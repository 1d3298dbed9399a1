"""Linters as tests: ``ruff check`` over the whole repository with the rules in ruff.toml.

pycodestyle errors and warnings, pyflakes (unused imports and names, undefined names),
bugbear (mutable defaults, late-bound loop variables, ...), import order, and docstrings
(pydocstyle, Google convention: every public module, class, function and method outside test/
has one, with a blank line after its summary and every parameter named in its ``Args:``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401, PLC0415
    except ImportError:
        exe = shutil.which("ruff")
        if exe is None:
            pytest.skip("ruff is not installed (pip install -r requirements/test.txt)")
        return [exe]
    return [sys.executable, "-m", "ruff"]


def test_repository_passes_ruff() -> None:
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"ruff found problems (fix them or `ruff check --fix .`):\n{result.stdout}{result.stderr}"


def test_ruff_catches_an_unused_import(tmp_path: Path) -> None:
    """The check is live: a file with an unused import fails under the same configuration."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--config", str(ROOT / "ruff.toml"), str(bad)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "F401" in result.stdout


def test_ruff_checks_docstrings(tmp_path: Path) -> None:
    """Docstring rules are live: an undocumented function and a missing ``Args:`` entry both fail."""
    bad = tmp_path / "bad.py"
    bad.write_text('"""A module."""\n\n\n'
                   'def undocumented() -> None:\n    pass\n\n\n'
                   'def half(a: int, b: int) -> int:\n    """Add.\n\n    Args:\n        a: first.\n    """\n    return a + b\n')
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format", "concise", "--config", str(ROOT / "ruff.toml"),
                             str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "D103" in result.stdout and "D417" in result.stdout and "`b`" in result.stdout
