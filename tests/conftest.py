"""Shared fixtures: paths to the repo, its examples and the read-only ../shared data."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared"

os.environ.setdefault("OMP_NUM_THREADS", "1")


def aidc_bin() -> str:
    """The installed `aidc` entry point of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "aidc"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("aidc")
    if not found:
        pytest.skip("the aidc entry point is not installed")
    return found


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED
