"""`aidc plan` through the installed entry point, as a user runs it: JSON outputs, tables, clear errors, the PNG."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO, SHARED, aidc_bin

FIX = REPO / "tests" / "planning" / "fixtures"
SMALL_DC = EXAMPLES / "datacenters" / "small-h100.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([aidc_bin(), "plan", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_train_json_on_a_datacenter() -> None:
    res = run("train", str(EXAMPLES / "planning" / "train-llama3-8b-small-h100.yaml"), "--datacenter", str(SMALL_DC), "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["n_gpus"] == 96 and d["placement"]["fits"] is True
    assert d["gpu_hours"] > d["steady_state_gpu_hours"] > 0 and 0 < d["goodput"] < 1
    assert 0 < d["mfu"] <= d["hfu"] < 1 and d["energy_mwh"] > 0
    assert d["memory_gib_per_gpu"]["total"] <= 80


def test_train_table_shows_the_reasoning() -> None:
    res = run("train", str(FIX / "train-tiny.yaml"))
    assert res.returncode == 0, res.stderr
    for text in ("Training plan", "Where an iteration goes", "Memory per GPU", "goodput"):
        assert text in res.stdout


def test_impossible_plan_is_a_clear_error() -> None:
    res = run("train", str(FIX / "train-405b-tp1.yaml"))
    assert res.returncode == 2
    assert "needs" in res.stderr and "TiB per GPU" in res.stderr and "try tp>=8 or ZeRO-3" in res.stderr
    assert "Traceback" not in res.stderr


def test_spec_typo_is_located_exit_2() -> None:
    res = run("train", str(FIX / "train-typo.yaml"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "train-typo.yaml:7: parallelism.pipline: unknown field 'pipline'" in res.stderr


def test_missing_file_is_reported() -> None:
    res = run("train", "no-such-spec.yaml")
    assert res.returncode == 2 and "no such file" in res.stderr


def test_serve_json() -> None:
    res = run("serve", str(FIX / "serve-8b.yaml"), "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["gpus_needed"] >= 1 and d["ttft_ms"] <= 500 and d["tpot_ms"] <= 40


def test_serve_impossible_exit_2() -> None:
    res = run("serve", str(FIX / "serve-impossible.yaml"))
    assert res.returncode == 2 and "weights need" in res.stderr


def test_site_from_spec_and_from_datacenter() -> None:
    res = run("site", str(FIX / "site-small.yaml"), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["racks"] == 11
    res = run("site", "--datacenter", str(SMALL_DC))
    assert res.returncode == 0 and "small-h100" in res.stdout


def test_cases_fixture_json_one_object_per_case() -> None:
    res = run("cases", str(FIX / "cases-mini.json"), "--json")
    assert res.returncode == 2 and "3 of 8 cases cannot be modelled" in res.stderr, res.stderr  # said, not a crash
    out = json.loads(res.stdout)
    data = json.loads((FIX / "cases-mini.json").read_text())
    assert len(out) == len(data["training_cases"]) + len(data["inference_cases"]) + len(data["memory_anchors"])
    assert sum("error" in o for o in out) == 3


def test_cases_dev_file() -> None:
    path = SHARED / "planning" / "cases-dev.json"
    if not path.exists():
        pytest.skip("../shared/planning/cases-dev.json is not beside the checkout")
    res = run("cases", str(path), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert len({o["id"] for o in out}) == len(out) and all("error" not in o for o in out)


def test_sweep_writes_a_png(tmp_path: Path) -> None:
    png = tmp_path / "sweep.png"
    res = run("sweep", str(FIX / "train-70b-64.yaml"), "--gpu-types", "H100-SXM,B200", "--counts", "64,128", "-o", str(png), "--json")
    assert res.returncode == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(json.loads(res.stdout)["points"]) == 4


def test_sweep_unknown_gpu_exit_2(tmp_path: Path) -> None:
    res = run("sweep", str(FIX / "train-70b-64.yaml"), "--gpu-types", "H1OO", "-o", str(tmp_path / "x.png"))
    assert res.returncode == 2 and "unknown GPU model" in res.stderr
