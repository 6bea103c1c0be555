"""Shared fixtures for the simulator tests: paths to the hand-made traces and the Philly files."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
TRACES = REPO.parent / "shared" / "traces"
PHILLY = TRACES / "philly" / "philly_2017-10_11.csv.gz"
PHILLY_VCS = TRACES / "philly" / "philly_vc_nodes.csv"


@pytest.fixture
def philly() -> tuple[Path, Path]:
    if not PHILLY.exists() or not PHILLY_VCS.exists():
        pytest.skip("../shared/traces/philly is not beside this checkout")
    return PHILLY, PHILLY_VCS
