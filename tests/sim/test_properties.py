"""Invariants of every replay on random traces: no GPU over-allocated, no start before submit, work conserved."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.sim.cluster import vc_table
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.jobs import SimJob, Trace

POLICIES = ["fifo", "sjf", "sgf", "srtf", "tiresias", "priority", "psrtf", "gittins", "fairshare", "easy"]

job = st.tuples(
    st.integers(0, 5_000),  # submit_s
    st.integers(1, 3_000),  # duration_s
    st.sampled_from([0, 1, 1, 1, 2, 4, 8, 12, 16]),  # gpus (0: a share of one GPU)
    st.sampled_from(["a", "b"]),  # tenant
    st.integers(0, 3),  # priority
)


def make_trace(rows: list[tuple]) -> Trace:
    rows = sorted(rows, key=lambda r: r[0])
    jobs = [SimJob(i, float(s), float(d), g, t, priority=p, gpu_milli=1000 if g else 250 + 250 * (i % 3))
            for i, (s, d, g, t, p) in enumerate(rows)]
    return Trace(jobs, "random")


def busy_profile(res, tenant_mask: np.ndarray) -> int:
    """Peak GPUs held at once by the masked jobs, from their [start, end) intervals (non-preemptive)."""
    o = res.jobs
    events = sorted([(s, g) for s, g in zip(o.start_s[tenant_mask], o.gpus[tenant_mask])]
                    + [(e, -g) for e, g in zip(o.end_s[tenant_mask], o.gpus[tenant_mask])])
    level = peak = 0
    for _, dg in events:
        level += dg
        peak = max(peak, level)
    return peak


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(job, min_size=1, max_size=40), policy=st.sampled_from(POLICIES), overhead=st.sampled_from(["helios", "none"]))
def test_invariants(rows: list[tuple], policy: str, overhead: str) -> None:
    trace = make_trace(rows)
    cluster = vc_table([("a", 2), ("b", 1)])  # 16 and 8 GPUs: jobs of 12 and 16 GPUs cannot run in b
    estimator = "history" if policy in ("psrtf", "gittins") else "oracle"
    res = simulate(trace, cluster, SimConfig(policy=policy, restart_overhead=overhead, estimator=estimator))
    o = res.jobs
    fits = np.array([not (j.tenant == "b" and j.gpus > 8) for j in trace.jobs])
    assert (o.done == fits).all(), "every job that fits its VC finishes; the others never start"
    assert len(res.never_started) == int((~fits).sum())
    d = o.done
    assert (o.start_s[d] >= o.submit_s[d]).all(), "no job starts before it is submitted"
    ran = o.end_s[d] - o.submit_s[d] - o.queue_s[d]
    assert (ran >= o.duration_s[d] - 1e-9).all(), "work conserved: each job runs at least its duration"
    assert (o.queue_s[d] >= 0).all()
    if policy in ("fifo", "sjf", "sgf", "easy"):  # (preemptive ones end 1 s late on a VC table: the peers' tick)
        nonpre = o.preemptions[d] == 0
        exact = np.isclose(ran[nonpre], o.duration_s[d][nonpre])
        assert exact.all(), "a job never preempted runs exactly its duration"
    # no GPU over-allocated: the running GPUs never exceed the cluster (engine asserts per node too)
    times, level = res.busy_log.arrays()
    assert level.max(initial=0) <= cluster.gpus and level.min(initial=0) >= 0
    if policy in ("fifo", "sjf", "sgf", "easy"):  # non-preemptive: check each VC from the job intervals
        tenants = np.array([j.tenant for j in trace.jobs])
        for vc, gpus in (("a", 16), ("b", 8)):
            assert busy_profile(res, (tenants == vc) & d) <= gpus
