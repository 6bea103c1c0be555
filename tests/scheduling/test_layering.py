"""Who may import whom (DESIGN.md): scheduling only core; sim only scheduling and core; no clock in scheduling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "aidc"
ALLOWED = {"scheduling": {"core", "scheduling"}, "sim": {"core", "scheduling", "sim"}}


def aidc_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        out |= {n.split(".")[1] for n in names if n.startswith("aidc.") and n.count(".") >= 1}
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layering(package: str) -> None:
    for path in sorted((SRC / package).glob("*.py")):
        bad = aidc_imports(path) - ALLOWED[package]
        assert not bad, f"{path.name} imports aidc.{', aidc.'.join(sorted(bad))}"


def test_scheduler_reads_no_clock_or_io() -> None:
    for path in sorted((SRC / "scheduling").glob("*.py")):
        text = path.read_text()
        for banned in ("import time", "datetime", "import random", "open(", "socket", "sqlalchemy"):
            assert banned not in text, f"{path.name} uses {banned!r}"
