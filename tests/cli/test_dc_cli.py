"""The `aidc` entry point in a subprocess, as a user runs it: dc validate/show/draw, gpus, errors, demo."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO, aidc_bin

BAD = Path(__file__).resolve().parents[1] / "core" / "bad_specs"


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([aidc_bin(), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_lists_the_groups() -> None:
    res = run("--help")
    assert res.returncode == 0
    for group in ("dc", "gpus", "demo"):
        assert group in res.stdout


def test_show_philly_json_reports_2816_gpus() -> None:
    res = run("dc", "show", str(EXAMPLES / "datacenters" / "philly.yaml"), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["gpus"] == 2816 and data["nodes"] == 352 and len(data["tenants"]) == 11


def test_show_pue_override_changes_facility_power() -> None:
    spec = str(EXAMPLES / "datacenters" / "small-h100.yaml")
    base = json.loads(run("dc", "show", spec, "--json").stdout)["power"]
    higher = json.loads(run("dc", "show", spec, "--json", "--pue", "1.5").stdout)["power"]
    assert higher["facility_kw"] == pytest.approx(base["it_kw_node_max"] * 1.5, abs=0.1)


def test_show_prints_a_table() -> None:
    res = run("dc", "show", str(EXAMPLES / "datacenters" / "large-b200.yaml"))
    assert res.returncode == 0 and "9,216" in res.stdout and "facility power" in res.stdout


@pytest.mark.parametrize("name", ["05-unknown-gpu-model", "13-malformed-yaml", "28-several-checks-at-once"])
def test_bad_spec_exits_2_with_located_one_line_errors(name: str) -> None:
    path = BAD / f"{name}.yaml"
    res = run("dc", "validate", str(path))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    expected = [line.split(" | ") for line in path.read_text().splitlines() if line.startswith("# expect: ")]
    for number, field, message in ((e[0][len("# expect: "):], e[1], e[2]) for e in expected):
        assert f"{path}:{number}: {field + ': ' if field else ''}{message}" in res.stderr


def test_missing_file_is_a_clear_error() -> None:
    res = run("dc", "validate", "no/such/spec.yaml")
    assert res.returncode == 2 and "no such file" in res.stderr and "Traceback" not in res.stderr


def test_draw_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "floor.png"
    res = run("dc", "draw", str(EXAMPLES / "datacenters" / "small-h100.yaml"), "-o", str(out))
    assert res.returncode == 0, res.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_draw_refuses_unknown_image_type(tmp_path: Path) -> None:
    res = run("dc", "draw", str(EXAMPLES / "datacenters" / "local.yaml"), "-o", str(tmp_path / "x.gif"))
    assert res.returncode == 2 and ".png or .svg" in res.stderr


def test_gpus_list_and_show() -> None:
    listed = json.loads(run("gpus", "list", "--json").stdout)
    assert {"H100-SXM", "B200", "MI300X"} <= {g["name"] for g in listed}
    res = run("gpus", "show", "H100-SMX")
    assert res.returncode == 2 and "did you mean H100-SXM?" in res.stderr


@pytest.mark.slow
def test_demo_runs_from_another_directory(tmp_path: Path) -> None:
    # the model-building step takes minutes on a CPU; CI runs it in `make demo`
    res = run("demo", "--out", str(tmp_path / "demo"), "--skip", "build", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "2,816 GPUs" in res.stdout
    for step in ("2. Plan", "3. Simulate", "5. Fleet health", "6. Operate"):
        assert step in res.stdout
    assert "4. Build" not in res.stdout
    text = " ".join(res.stdout.split())  # the terminal is 80 columns: long lines wrap
    assert "reports XID 79" in text and "done at step 30 on gpu-" in text and "passed after 1 check(s)" in text
    assert re.search(r"start at step [1-9][0-9]* on gpu-", text)  # the requeued job resumed from its checkpoint
    assert (tmp_path / "demo" / "philly-floor.png").exists() and (tmp_path / "demo" / "philly-fifo-vs-srtf.png").exists()
