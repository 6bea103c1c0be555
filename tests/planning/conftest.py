"""Shared helpers for the planner tests: fixture paths and the dev case file when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
DEV_CASES = REPO.parent / "shared" / "planning" / "cases-dev.json"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def dev_cases() -> Path:
    if not DEV_CASES.exists():
        pytest.skip(f"{DEV_CASES} is not present (it lives in ../shared beside the clone)")
    return DEV_CASES
