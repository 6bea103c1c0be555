"""The average-JCT lower bound: hand-checked SRPT flows, and no replay of any policy ever beats it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.sim.bounds import jct_lower_bound, srpt_total_flow_s
from aidc.sim.cluster import vc_table
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.jobs import SimJob, Trace
from tests.sim.test_properties import POLICIES, job, make_trace


def test_srpt_flow_by_hand() -> None:
    assert srpt_total_flow_s([], 8.0) == 0.0
    assert srpt_total_flow_s([(0.0, 10.0)], 2.0) == pytest.approx(5.0)
    # A (work 10) from t=0; B (work 2) at t=1 preempts it: B ends at 3 (flow 2), A at 12 (flow 12)
    assert srpt_total_flow_s([(1.0, 2.0), (0.0, 10.0)], 1.0) == pytest.approx(14.0)
    # an idle gap: the second job starts at its own submit
    assert srpt_total_flow_s([(0.0, 1.0), (100.0, 4.0)], 1.0) == pytest.approx(5.0)


def test_bound_takes_the_larger_sum_per_partition() -> None:
    # VC a (8 GPUs): two 8-GPU jobs of 100 s at t=0 -> fluid flows 100 and 200 (run time sum only 200)
    # VC b (8 GPUs): one 1-GPU job of 50 s -> run time 50 (fluid only 50/8)
    jobs = [SimJob(0, 0.0, 100.0, 8, "a"), SimJob(1, 0.0, 100.0, 8, "a"), SimJob(2, 0.0, 50.0, 1, "b"),
            SimJob(3, 0.0, 10.0, 16, "b")]  # 16 GPUs never fit VC b: left out, as the replay leaves it out
    bound = jct_lower_bound(Trace(jobs), vc_table([("a", 1), ("b", 1)]))
    assert bound.jobs == 3
    assert bound.avg_jct_s == pytest.approx((300.0 + 50.0) / 3)
    assert bound.run_time_avg_s == pytest.approx(250.0 / 3)
    assert bound.max_gain_pct(bound.avg_jct_s * 2) == 50.0
    # and the replay of that trace sits at the bound: FIFO runs the two big jobs one after the other
    res = simulate(Trace(jobs), vc_table([("a", 1), ("b", 1)]), SimConfig(policy="fifo"))
    o = res.jobs
    assert float((o.end_s[o.done] - o.submit_s[o.done]).mean()) == pytest.approx(bound.avg_jct_s)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(job, min_size=1, max_size=40), policy=st.sampled_from(POLICIES))
def test_no_policy_beats_the_bound(rows: list[tuple], policy: str) -> None:
    trace = make_trace(rows)
    cluster = vc_table([("a", 2), ("b", 1)])
    estimator = "history" if policy in ("psrtf", "gittins") else "oracle"
    res = simulate(trace, cluster, SimConfig(policy=policy, restart_overhead="none", estimator=estimator))
    o = res.jobs
    bound = jct_lower_bound(trace, cluster)
    assert bound.jobs == int(o.done.sum())
    if bound.jobs:
        assert float(np.mean(o.end_s[o.done] - o.submit_s[o.done])) >= bound.avg_jct_s - 1e-6
