"""The share of the oracle gap and rolling-origin tuning (aidc.sim.gap)."""

from __future__ import annotations

import math

import pytest

from aidc.sim.gap import Scored, gap_shares, oracle_gap_report, oracle_gap_share, rolling_origin, tuning_score


def test_share_is_zero_at_the_baseline_one_at_the_oracle() -> None:
    assert oracle_gap_share(100.0, 100.0, 60.0) == 0
    assert oracle_gap_share(60.0, 100.0, 60.0) == 1
    assert oracle_gap_share(80.0, 100.0, 60.0) == pytest.approx(0.5)
    assert oracle_gap_share(120.0, 100.0, 60.0) == pytest.approx(-0.5)  # worse than the baseline


def test_share_is_none_where_the_gap_is_noise_or_the_input_is_not_a_number() -> None:
    assert oracle_gap_share(99.0, 100.0, 99.0) is None  # a 1% gap: under MIN_GAP_PCT
    assert oracle_gap_share(99.0, 100.0, 99.0, min_gap_pct=0.5) == pytest.approx(1.0)
    assert oracle_gap_share(90.0, 100.0, 110.0) is None  # the "oracle" lost: no gap to share
    assert oracle_gap_share(math.nan, 100.0, 60.0) is None
    assert oracle_gap_share(50.0, 0.0, 0.0) is None


def test_gap_shares_need_both_references() -> None:
    assert gap_shares({"fifo": 1.0, "srtf": 0.5}) == {}
    got = gap_shares({"tiresias": 100.0, "srtf": 50.0, "gittins": 75.0})
    assert got == {"tiresias": 0.0, "srtf": 1.0, "gittins": 0.5}
    report = oracle_gap_report({"tiresias": {"avg_jct_s": 100.0}, "srtf": {"avg_jct_s": 50.0}}, lower_bound_s=40.0)
    assert report["gap_pct"] == 50.0 and report["lower_bound_share"] == 1.2


def _scored(avg: float, p99: float = 100.0) -> Scored:
    return Scored(avg_jct_s=avg, p99_jct_s=p99, baseline_avg_s=100.0, baseline_p99_s=100.0, oracle_avg_s=50.0)


def test_tuning_score_penalizes_a_worse_p99() -> None:
    steady = [_scored(80.0), _scored(80.0)]  # share .4 twice, p99 as Tiresias
    risky = [_scored(60.0, p99=120.0), _scored(60.0)]  # share .8 twice, but one p99 20% worse
    assert tuning_score(steady) == pytest.approx(0.4)
    assert tuning_score(risky) == pytest.approx(0.8 - 0.25)


def test_rolling_origin_never_chooses_on_the_window_it_scores() -> None:
    # "a" wins windows 1-2 and loses 3; "b" the other way round. A choice that peeked at window 3 would
    # pick "b" there; rolling origin must pick "a" (what windows 1-2 taught) and show it losing.
    table = {("w1", "a"): 60, ("w1", "b"): 90, ("w2", "a"): 60, ("w2", "b"): 90, ("w3", "a"): 95, ("w3", "b"): 55}
    calls: list[tuple[str, str]] = []

    def score(window: str, candidate: str) -> Scored:
        calls.append((window, candidate))
        return _scored(float(table[window, candidate]))

    res = rolling_origin(["w1", "w2", "w3"], ["a", "b"], score, default="b")
    rows = res.rows
    assert [r["chosen"] for r in rows] == ["b", "a", "a"]  # w1 the default; then what the past taught
    assert [r["tuned_on"] for r in rows] == [0, 1, 2]
    assert rows[2]["share"] == pytest.approx(0.1)  # a on w3: (100 - 95) / 50
    assert rows[2]["every_candidate_share"]["b"] == pytest.approx(0.9)  # the hindsight choice is shown, not taken
    assert sorted(calls) == sorted(table)  # every pair replayed exactly once
    summary = res.as_dict()
    assert summary["worst_share"] == pytest.approx(0.1) and summary["windows_p99_worse"] == 0


def test_the_twin_replays_the_live_predictor() -> None:
    """`--estimates predictor`: trained online on finished jobs, it beats the (tenant, GPUs) history on a
    history whose run times depend on who runs what."""
    import numpy as np

    from aidc.sim.cluster import vc_table
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.jobs import SimJob, Trace
    from aidc.sim.synthetic import synthetic_history

    history = synthetic_history(1200, seed=4)
    cluster = vc_table([("pool", 6)], isolate=False)
    errors = {}
    for est in ("history", "predictor"):
        jobs = [SimJob(i, r.submit_s, r.runtime_s, r.gpus, r.tenant, user=r.user, name=r.name) for i, r in enumerate(history)]
        simulate(Trace(jobs), cluster, SimConfig(policy="sjf", estimator=est))
        late = jobs[600:]  # after the first fits
        errors[est] = float(np.median([abs(math.log(j.estimate_s / j.duration_s)) for j in late]))
    assert errors["predictor"] < 0.5 * errors["history"], errors
