"""The `aidc demo` section renders a training and a serving plan for the small example site."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from aidc.planning.demo import print_demo

REPO = Path(__file__).resolve().parents[2]


def test_demo_prints_both_plans() -> None:
    out = io.StringIO()
    print_demo(Console(file=out, width=120), REPO / "examples" / "datacenters" / "small-h100.yaml")
    text = out.getvalue()
    assert "Training plan: llama-3-8b" in text and "Serving plan: llama-3-8b" in text
    assert "fits on 12 nodes" in text
