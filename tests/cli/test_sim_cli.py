"""`aidc sim` through the installed entry point: JSON output, plots, per-job CSV, and errors as exit 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AIDC = str(Path(sys.executable).with_name("aidc"))
DATA = REPO / "tests" / "sim" / "data"
SLICE = REPO / "examples" / "traces" / "philly-2017-10-03.csv"
SITE = REPO / "examples" / "datacenters" / "philly.yaml"
KEYS = {"jobs", "avg_jct_s", "p50_jct_s", "p99_jct_s", "avg_queue_s", "p99_queue_s", "makespan_s", "gpu_utilization",
        "preemptions_per_job", "never_started", "wall_s"}


def aidc(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # rich wraps a wide table to the terminal width
    return subprocess.run([AIDC, "sim", *args], capture_output=True, text=True, timeout=120, cwd=REPO, env=env)


def test_run_json_and_jobs_csv(tmp_path: Path) -> None:
    out = tmp_path / "jobs.csv"
    r = aidc("run", "--trace", str(DATA / "tiny.csv"), "--cluster", str(DATA / "tiny_vcs.csv"), "--policy", "fifo",
             "--json", "--jobs-out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == KEYS
    assert data["jobs"] == 10 and data["preemptions_per_job"] == 0
    rows = {row["job_id"]: row for row in csv.DictReader(out.open())}
    assert (rows["j4"]["start_s"], rows["j4"]["end_s"]) == ("100", "300")  # j4 in the golden FIFO replay


def test_compare_table_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "cmp.png"
    r = aidc("compare", "--trace", str(SLICE), "--cluster", str(SITE), "--isolate", "--scale-nodes", "0.25",
             "--policies", "fifo,sjf", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert "fifo" in r.stdout and "sjf" in r.stdout and "avg JCT s" in r.stdout
    assert "no policy can average below" in r.stdout  # the lower bound's caption
    assert png.stat().st_size > 20_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_compare_json_sjf_beats_fifo_at_x4() -> None:
    r = aidc("compare", "--trace", str(SLICE), "--cluster", str(SITE), "--isolate", "--scale-nodes", "0.25",
             "--policies", "fifo,sjf", "--json")
    data = json.loads(r.stdout)
    assert data["sjf"]["avg_jct_s"] < data["fifo"]["avg_jct_s"]
    assert data["sjf"]["jobs"] == data["fifo"]["jobs"] == 2641
    assert set(data) == {"fifo", "sjf"}  # the JSON keeps its shape unless --bound asks for more


def test_compare_bound_json_is_below_every_policy() -> None:
    r = aidc("compare", "--trace", str(SLICE), "--cluster", str(SITE), "--isolate", "--scale-nodes", "0.25",
             "--policies", "fifo,srtf", "--json", "--bound")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    bound = data.pop("_lower_bound")
    assert bound["jobs"] == 2641
    assert bound["avg_jct_s"] >= max(bound["run_time_avg_s"], bound["fluid_avg_s"]) - 0.1
    assert all(bound["avg_jct_s"] <= row["avg_jct_s"] for row in data.values())


def test_run_details_carry_the_bound() -> None:
    r = aidc("run", "--trace", str(DATA / "tiny.csv"), "--cluster", str(DATA / "tiny_vcs.csv"), "--policy", "fifo",
             "--json", "--details")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert 0 < data["details"]["jct_lower_bound"]["avg_jct_s"] <= data["avg_jct_s"]


def test_bad_trace_row_is_exit_2_with_location() -> None:
    r = aidc("run", "--trace", str(DATA / "bad_duration.csv"), "--cluster", str(DATA / "tiny_vcs.csv"))
    assert r.returncode == 2
    assert "bad_duration.csv:3: column 'duration_s': expected a number, got 'ten'" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["--policy", "fiffo"], "unknown policy 'fiffo'"),
    (["--placement", "scatter"], "unknown placement 'scatter'"),
    (["--restart-overhead", "soon"], "--restart-overhead 'soon'"),
    (["--maintenance", "x"], "--maintenance 'x'"),
])
def test_bad_options_exit_2(args: list[str], msg: str) -> None:
    r = aidc("run", "--trace", str(DATA / "tiny.csv"), "--cluster", str(DATA / "tiny_vcs.csv"), *args)
    assert r.returncode == 2, r.stdout
    assert msg in " ".join(r.stderr.split())


def test_missing_files_exit_2() -> None:
    r = aidc("run", "--trace", "nope.csv", "--cluster", str(DATA / "tiny_vcs.csv"))
    assert r.returncode == 2 and "no such file: nope.csv" in r.stderr


def test_policies_list() -> None:
    r = aidc("policies", "--json")
    data = json.loads(r.stdout)
    assert "tiresias" in data["policies"] and "consolidate" in data["placements"]


def test_json_is_valid_when_no_job_ran_and_skips_are_reported(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("job_id,submit_s,duration_s,gpus\na,0,100,100000\nb,nan,5,1\n")
    r = aidc("run", "--trace", str(trace), "--cluster", str(DATA / "tiny_vcs.csv"), "--json")
    assert r.returncode == 2 and "t.csv:3: column 'submit_s': must be a finite number" in r.stderr
    r = aidc("run", "--trace", str(trace), "--cluster", str(DATA / "tiny_vcs.csv"), "--json", "--skip-bad-rows")
    assert r.returncode == 0, r.stderr
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    data = json.loads(r.stdout)
    assert (data["jobs"], data["never_started"], data["skipped_rows"], data["avg_jct_s"]) == (0, 1, 1, None)
    text = aidc("run", "--trace", str(trace), "--cluster", str(DATA / "tiny_vcs.csv"), "--skip-bad-rows")
    assert "1 bad trace row(s) skipped" in text.stdout and "1 job(s) never started" in text.stdout


def test_compare_oracle_gap_adds_references_and_shares() -> None:
    r = aidc("compare", "--trace", str(SLICE), "--cluster", str(SITE), "--isolate", "--scale-nodes", "0.25",
             "--policies", "fifo,gittins", "--oracle-gap", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    gap = data.pop("_oracle_gap")
    assert set(data) == {"fifo", "gittins", "tiresias", "srtf"}  # the references were added
    assert gap["baseline_avg_jct_s"] == round(data["tiresias"]["avg_jct_s"], 1)
    shares = gap["shares"]
    assert shares["tiresias"] == 0 and shares["srtf"] == 1
    t, o = data["tiresias"]["avg_jct_s"], data["srtf"]["avg_jct_s"]
    assert abs(shares["fifo"] - (t - data["fifo"]["avg_jct_s"]) / (t - o)) < 1e-3
    assert shares["fifo"] < 0  # FIFO does worse than Tiresias at x4
    assert gap["lower_bound_share"] >= 1  # the bound is at or below the oracle


def test_compare_table_shows_gap_share_with_both_references() -> None:
    r = aidc("compare", "--trace", str(SLICE), "--cluster", str(SITE), "--isolate", "--scale-nodes", "0.25",
             "--policies", "tiresias,srtf,sjf")
    assert r.returncode == 0, r.stderr
    assert "gap share" in r.stdout
    assert "1.00" in r.stdout and "0.00" in r.stdout
