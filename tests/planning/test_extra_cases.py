"""The team's extra published cases (benchmarks/cases/cases-extra.json): well-formed, sourced, all answered."""

from __future__ import annotations

from pathlib import Path

from aidc.planning.cases import load_cases, run_cases

EXTRA = Path(__file__).resolve().parents[2] / "benchmarks" / "cases" / "cases-extra.json"


def test_every_extra_case_has_a_source_a_confidence_and_a_measurement() -> None:
    data = load_cases(EXTRA)
    compared = data["peer_baselines"]["cases"]
    assert len(data["training_cases"]) >= 13
    for case in data["training_cases"]:
        assert case["source_urls"] and case["confidence"], case["id"]
        assert compared[case["id"]]["measured_value"] > 0


def test_the_planner_answers_every_extra_case_with_a_range() -> None:
    out = run_cases(load_cases(EXTRA))
    assert [o["id"] for o in out if "error" in o] == []
    for o in out:
        lo, hi = o["range_p10_p90"]["iter_time_s"]
        assert lo < o["iter_time_s"] < hi
        glo, ghi = o["range_p10_p90"]["gpu_hours"] if o.get("gpu_hours") else (0, 0)
        assert ghi / max(glo, 1e-9) > (hi / lo) or not o.get("gpu_hours")  # a project is less certain than a step
