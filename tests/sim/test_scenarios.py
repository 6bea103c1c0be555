"""What-if knobs of the twin: failures with checkpoints, maintenance drains, quotas, estimators, specs, the demo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from aidc.core.errors import AidcError
from aidc.sim.cluster import load_cluster, parse_quota, vc_table
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.failures import FailureModel, Maintenance, parse_maintenance
from aidc.sim.jobs import SimJob, Trace
from aidc.sim.metrics import details, summary
from aidc.sim.synthetic import synthetic_trace

from .conftest import DATA, REPO


def long_jobs(n: int = 8, duration_s: float = 20_000.0) -> Trace:
    return Trace([SimJob(i, float(i), duration_s, 8, "a") for i in range(n)], "long")


def test_failures_restart_from_checkpoint_and_cost_goodput() -> None:
    cluster = vc_table([("a", 8)])
    clean = simulate(long_jobs(), cluster, SimConfig())
    cfg = SimConfig(failures=FailureModel(mtbf_s=30_000, mttr_s=3_000, seed=3), checkpoint_interval_s=3_600)
    res = simulate(long_jobs(), cluster, cfg)
    d = details(res)
    assert d["restarts_after_failure"] > 0
    assert d["goodput"] < 1.0  # work since the last checkpoint is redone
    assert summary(res)["avg_jct_s"] > summary(clean)["avg_jct_s"]
    assert res.jobs.done.all()


def test_maintenance_drains_nodes_and_requeues_their_jobs() -> None:
    cluster = vc_table([("a", 4)])
    trace = Trace([SimJob(i, 0.0, 10_000.0, 8, "a") for i in range(4)], "t")
    res = simulate(trace, cluster, SimConfig(maintenance=(Maintenance(1_000, 5_000, 0.5),)))
    o = res.jobs
    assert int(o.preemptions.sum()) == 2  # two of four nodes drained: their jobs checkpoint and wait
    assert sorted(o.end_s.tolist()) == [10_000, 10_000, 14_030, 14_030]  # back at 5,000 + 30 s restart


def test_parse_what_if_options() -> None:
    assert parse_maintenance("24:48:0.1") == Maintenance(86_400, 172_800, 0.1)
    with pytest.raises(AidcError, match="START_H:END_H:FRACTION"):
        parse_maintenance("tomorrow")
    q = parse_quota("teamB=64:128")
    assert (q.tenant, q.gpus, q.max_gpus) == ("teamB", 64, 128)
    with pytest.raises(AidcError, match="TENANT=GPUS"):
        parse_quota("teamB")


def test_history_estimator_needs_no_oracle() -> None:
    trace = Trace([SimJob(i, float(100 * i), 50.0 + i, 1, "a") for i in range(5)], "t")
    res = simulate(trace, vc_table([("a", 1)]), SimConfig(policy="sjf", estimator="history"))
    assert trace.jobs[0].estimate_s == 3600.0  # nothing finished yet: the default
    # geometric mean of the four (50..53 s) that finished before its submit
    assert trace.jobs[4].estimate_s == pytest.approx((50 * 51 * 52 * 53) ** 0.25)
    assert res.jobs.done.all()


def test_spec_with_isolation_equals_vc_table() -> None:
    from aidc.sim.readers import read_trace

    trace = read_trace(REPO / "examples" / "traces" / "philly-2017-10-03.csv", "aidc")
    spec = load_cluster(REPO / "examples" / "datacenters" / "philly.yaml", scale_nodes=0.25, isolate=True)
    vcs = vc_table([(p.name, len(p.nodes) * 4) for p in spec.partitions], scale_nodes=0.25)
    a, b = (summary(simulate(trace, c, SimConfig(policy="sjf"))) for c in (spec, vcs))
    assert {k: v for k, v in a.items() if k != "wall_s"} == {k: v for k, v in b.items() if k != "wall_s"}
    assert {q.tenant: q.gpus for q in spec.quotas}["6214e9"] == 128  # 512 GPUs of quota, scaled by 1/4


def test_topology_and_power_placements_run_on_a_spec() -> None:
    trace = synthetic_trace(300, 128, load=0.9, seed=2)
    cluster = load_cluster(REPO / "examples" / "datacenters" / "small-h100.yaml")
    for placement in ("topology", "power"):
        res = simulate(trace, cluster, SimConfig(policy="fifo", placement=placement))
        assert res.jobs.done.all(), placement


def test_fractional_jobs_share_gpus() -> None:
    jobs = [SimJob(i, 0.0, 100.0, 0, "a", gpu_milli=500) for i in range(4)] + [SimJob(4, 0.0, 100.0, 8, "a")]
    res = simulate(Trace(jobs, "t"), vc_table([("a", 1)], gpus_per_node=9), SimConfig())
    o = res.jobs
    assert np.all(o.start_s[:4] == 0.0)  # four half-GPU jobs packed on two of the node's nine GPUs
    assert o.start_s[4] == 100.0  # so the 8-GPU job finds 7 free and waits for the shares to end


def test_demo_prints_a_comparison() -> None:
    from aidc.sim.demo import compare_philly_slice

    buf = io.StringIO()
    rows = compare_philly_slice(Console(file=buf, width=200), policies=("fifo", "srtf"))
    assert rows["srtf"]["avg_jct_s"] < rows["fifo"]["avg_jct_s"]
    assert "srtf" in buf.getvalue() and "2,641 jobs" in buf.getvalue()


def test_unknown_tenant_never_starts() -> None:
    trace = Trace([SimJob(0, 0.0, 10.0, 1, "zz"), SimJob(1, 0.0, 10.0, 1, "a")], "t")
    res = simulate(trace, vc_table([("a", 1)]), SimConfig())
    assert res.never_started == [(0, "tenant 'zz' has no partition in the cluster")]
    assert DATA.exists()
