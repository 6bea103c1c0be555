"""The scheduler contract: pure snapshot -> plan, registries by name, peer-exact consolidation, reasons."""

from __future__ import annotations

import dataclasses

import pytest

from aidc.core.errors import UnknownNameError
from aidc.scheduling import (
    ClusterSnapshot, NodeState, PendingJob, Quota, RunningJob, get_placer, get_policy, list_policies, schedule,
)
from aidc.scheduling.placement import Consolidate, FreeState


def nodes(*free: int, gpus: int = 8, part: str | None = None) -> tuple[NodeState, ...]:
    return tuple(NodeState(f"n{i}", gpus, f, partition=part) for i, f in enumerate(free))


def pend(jid, gpus, submit=0.0, dur=100.0, **kw) -> PendingJob:  # noqa: ANN001
    return PendingJob(jid, gpus, submit, duration_estimate_s=dur, remaining_estimate_s=dur, **kw)


def test_registry_lists_and_rejects_names() -> None:
    assert {"fifo", "sjf", "srtf", "tiresias", "priority", "fairshare", "easy", "sgf", "psrtf"} <= set(list_policies())
    with pytest.raises(UnknownNameError, match="did you mean fifo"):
        get_policy("fiffo")
    with pytest.raises(UnknownNameError, match="unknown placement"):
        get_placer("scatter")


def test_consolidate_best_fit_lowest_index_on_ties() -> None:
    state = FreeState(nodes(8, 3, 5, 3))
    assert Consolidate().place(pend(1, 3), state) == [(1, 3)]  # fullest node that fits; n1 before n3
    assert Consolidate().place(pend(1, 4), state) == [(2, 4)]
    assert Consolidate().place(pend(1, 6), state) == [(0, 6)]


def test_consolidate_multi_node_takes_whole_idle_nodes_then_remainder() -> None:
    state = FreeState(nodes(8, 2, 8, 6))
    assert Consolidate().place(pend(1, 16), state) == [(0, 8), (2, 8)]
    assert Consolidate().place(pend(1, 12), state) == [(0, 8), (2, 4)]  # remainder on the next-emptiest node
    assert Consolidate().place(pend(1, 24), state) is None  # only two idle nodes
    assert Consolidate().place(pend(1, 8), FreeState(nodes(4, 4))) is None  # never split a job that fits a node


def test_plan_is_pure_and_deterministic() -> None:
    snap = ClusterSnapshot(0.0, nodes(8, 8), pending=(pend(1, 8), pend(2, 4), pend(3, 8)))
    before = dataclasses.replace(snap)
    a = schedule(snap, policy="fifo")
    b = schedule(snap, policy="fifo")
    assert a == b and snap == before
    assert [p.nodes for p in a.to_start] == [(("n0", 8),), (("n1", 4),)]
    assert a.reasons(snap) == {3: "needs 8 GPUs, 4 free"}


def test_fifo_blocks_and_says_why_for_every_waiting_job() -> None:
    snap = ClusterSnapshot(0.0, nodes(4, 0), pending=(pend(1, 8), pend(2, 1), pend(3, 1)))
    plan = schedule(snap, policy="fifo")
    assert plan.to_start == ()
    why = plan.reasons(snap)
    assert why[1] == "needs 8 GPUs, 4 free"
    assert why[2] == why[3] == "queued behind job 1 (fifo is blocking: no job jumps the queue)"


def test_impossible_job_blocks_nobody() -> None:
    snap = ClusterSnapshot(0.0, nodes(8), pending=(pend(1, 16), pend(2, 1)))
    plan = schedule(snap, policy="fifo")
    assert [p.job_id for p in plan.to_start] == [2]
    assert plan.impossible == (1,)
    assert "can never start" in plan.reasons(snap)[1]


def test_sjf_orders_by_estimate() -> None:
    snap = ClusterSnapshot(0.0, nodes(8), pending=(pend(1, 8, dur=50), pend(2, 8, dur=10)))
    assert [p.job_id for p in schedule(snap, policy="sjf").to_start] == [2]


def test_srtf_preempts_the_longest_remaining() -> None:
    running = (RunningJob(7, 8, 0.0, 0.0, (("n0", 8),), remaining_at_start_s=1000.0),)
    snap = ClusterSnapshot(100.0, nodes(0), pending=(pend(1, 8, dur=50),), running=running)
    plan = schedule(snap, policy="srtf")
    assert plan.to_preempt == (7,)
    assert [p.job_id for p in plan.to_start] == [1]
    # 900 s left beats a 1,000 s newcomer: nothing changes
    snap2 = dataclasses.replace(snap, pending=(pend(1, 8, dur=1000),))
    assert schedule(snap2, policy="srtf").to_preempt == ()


def test_tiresias_waits_for_grid_and_demotes_by_attained_service() -> None:
    run = (RunningJob(7, 8, 0.0, 0.0, (("n0", 8),), remaining_at_start_s=1e6),)  # 8 GPUs since t=0
    off = ClusterSnapshot(30.0, nodes(0), pending=(pend(1, 8, submit=10.0),), running=run)
    plan = schedule(off, policy="tiresias")
    assert plan.to_start == () and plan.recheck_at_s == 60.0
    on = dataclasses.replace(off, now_s=60.0)  # 480 GPU-s attained: still in the top queue, older job keeps GPUs
    plan = schedule(on, policy="tiresias")
    assert plan.to_preempt == ()
    assert plan.recheck_at_s == 2280.0  # first grid point after 18,000 GPU-s (t=2250)
    late = dataclasses.replace(off, now_s=2280.0)  # demoted: the newcomer takes over
    plan = schedule(late, policy="tiresias")
    assert plan.to_preempt == (7,) and [p.job_id for p in plan.to_start] == [1]
    # the preempted job waits: look again when the newcomer is demoted too (18,000 GPU-s after 2280 on 8 GPUs)
    assert plan.recheck_at_s == 4560.0


def test_tiresias_thresholds_configurable() -> None:
    pol = get_policy("tiresias", thresholds_gpu_s=(100.0, 1000.0), interval_s=0)
    run = (RunningJob(7, 1, 0.0, 0.0, (("n0", 8),), remaining_at_start_s=1e6),)
    snap = ClusterSnapshot(200.0, nodes(0), pending=(pend(1, 8, submit=150.0),), running=run)
    assert schedule(snap, policy=pol).to_preempt == (7,)


def test_priority_preempts_lower_priority() -> None:
    run = (RunningJob(7, 8, 0.0, 0.0, (("n0", 8),), priority=0, remaining_at_start_s=100.0),)
    snap = ClusterSnapshot(5.0, nodes(0), pending=(pend(1, 8, priority=3),), running=run)
    plan = schedule(snap, policy="priority")
    assert plan.to_preempt == (7,) and plan.to_start[0].job_id == 1


def test_isolated_partitions_scheduled_apart() -> None:
    ns = nodes(8, part="a") + (NodeState("m0", 8, 8, partition="b"),)
    snap = ClusterSnapshot(0.0, ns, pending=(pend(1, 8, tenant="b"), pend(2, 8, tenant="b"), pend(3, 8, tenant="c")),
                           isolated_partitions=True)
    plan = schedule(snap, policy="fifo")
    assert [(p.job_id, p.nodes) for p in plan.to_start] == [(1, (("m0", 8),))]
    why = plan.reasons(snap)
    assert why[2] == "needs 8 GPUs, 0 free" and why[3] == "tenant 'c' owns no nodes"
    assert 3 in plan.impossible


def test_easy_backfills_only_what_does_not_delay_the_head() -> None:
    run = (RunningJob(7, 4, 0.0, 0.0, (("n0", 4),), remaining_at_start_s=100.0),)
    pending = (pend(1, 8, dur=50), pend(2, 4, dur=80), pend(3, 4, dur=500))
    snap = ClusterSnapshot(0.0, nodes(4), pending=pending, running=run)
    plan = schedule(snap, policy="easy")
    assert [p.job_id for p in plan.to_start] == [2]  # ends at 80, before the head's reservation at 100
    assert "reserved to start by t=100s" in plan.reasons(snap)[1]


def test_easy_shortest_backfills_the_shortest_candidate_first() -> None:
    # 4 GPUs free until the head's reservation at 100; two 4-GPU candidates that both end in time
    run = (RunningJob(7, 4, 0.0, 0.0, (("n0", 4),), remaining_at_start_s=100.0),)
    pending = (pend(1, 8, dur=50), pend(2, 4, dur=90), pend(3, 4, dur=20))
    snap = ClusterSnapshot(0.0, nodes(4), pending=pending, running=run)
    assert [p.job_id for p in schedule(snap, policy="easy").to_start] == [2]  # queue order
    assert [p.job_id for p in schedule(snap, policy=get_policy("easy", backfill_order="shortest")).to_start] == [3]
    with pytest.raises(ValueError, match="backfill_order"):
        get_policy("easy", backfill_order="longest")


def test_fairshare_lends_idle_gpus_and_reclaims_them() -> None:
    quotas = (Quota("a", 8), Quota("b", 8))
    lend = ClusterSnapshot(0.0, nodes(8, 8), pending=(pend(1, 8, tenant="a"), pend(2, 8, tenant="a")), quotas=quotas)
    assert len(schedule(lend, policy="fairshare").to_start) == 2  # a borrows b's idle node
    run = (RunningJob(1, 8, 0.0, 0.0, (("n0", 8),), tenant="a"), RunningJob(2, 8, 0.0, 5.0, (("n1", 8),), tenant="a"))
    back = ClusterSnapshot(10.0, nodes(0, 0), pending=(pend(3, 8, tenant="b"),), running=run, quotas=quotas)
    plan = schedule(back, policy="fairshare")
    assert plan.to_preempt == (2,)  # the youngest borrowed job goes
    assert plan.to_start[0].job_id == 3


def test_fairshare_respects_max_gpus() -> None:
    quotas = (Quota("a", 8, max_gpus=8),)
    snap = ClusterSnapshot(0.0, nodes(8, 8), pending=(pend(1, 8, tenant="a"), pend(2, 8, tenant="a")), quotas=quotas)
    plan = schedule(snap, policy="fairshare")
    assert [p.job_id for p in plan.to_start] == [1]


def topo_nodes() -> tuple[NodeState, ...]:
    # 8 nodes x 8 GPUs; NVLink domains of 2 nodes (d0..d3); leaf groups of 4 nodes (0, 1)
    return tuple(NodeState(f"n{i}", 8, 8, nvlink_domain=f"d{i // 2}", leaf_group=i // 4) for i in range(8))


def test_topology_gang_stays_in_one_nvlink_domain() -> None:
    ns = list(topo_nodes())
    ns[0] = dataclasses.replace(ns[0], free_gpus=4)  # d0 has 12 free, d1..d3 16
    snap = ClusterSnapshot(0.0, tuple(ns), pending=(pend(1, 12), pend(2, 16)))
    plan = schedule(snap, policy="fifo", placement="topology")
    assert dict(plan.to_start[0].nodes) == {"n1": 8, "n0": 4}  # the tightest domain that fits
    assert {n for n, _ in plan.to_start[1].nodes} == {"n2", "n3"}  # a whole domain


def test_topology_gang_falls_back_to_one_leaf() -> None:
    snap = ClusterSnapshot(0.0, topo_nodes(), pending=(pend(1, 24),))
    nodes = [n for n, _ in schedule(snap, policy="fifo", placement="topology").to_start[0].nodes]
    assert len(nodes) == 3 and len({int(n[1:]) // 4 for n in nodes}) == 1


def test_power_aware_skips_racks_without_headroom() -> None:
    ns = tuple(NodeState(f"n{i}", 8, 8, rack=f"r{i}", feed="f", gpu_power_kw=1.0) for i in range(2))
    snap = ClusterSnapshot(0.0, ns, pending=(pend(1, 8),), power_budgets_kw=(("r0", 4.0), ("r1", 10.0), ("f", 100.0)))
    plan = schedule(snap, policy="fifo", placement="power")
    assert plan.to_start[0].nodes == (("n1", 8),)
    tight = dataclasses.replace(snap, power_budgets_kw=(("r0", 4.0), ("r1", 10.0), ("f", 6.0)))
    assert schedule(tight, policy="fifo", placement="power").to_start == ()


def test_easy_expects_an_overdue_job_to_run_on_by_its_distribution() -> None:
    # job 7 was predicted 100 s and has run 200 s: by its samples (100, 150, 400, 1,000 s) it should
    # still run (400 + 1,000) / 2 - 200 = 500 s, so the head's reservation is at t=700, and a 300-s
    # job may backfill; with no samples the estimate says it ends now, and nothing may
    samples = (100.0, 150.0, 400.0, 1_000.0)
    run = RunningJob(7, 4, 0.0, 0.0, (("n0", 4),), remaining_at_start_s=100.0, runtime_samples_s=samples)
    pending = (pend(1, 8, dur=50), pend(2, 4, dur=300))
    snap = ClusterSnapshot(200.0, nodes(4), pending=pending, running=(run,))
    plan = schedule(snap, policy="easy")
    assert [p.job_id for p in plan.to_start] == [2] and "by t=700s" in plan.reasons(snap)[1]
    bare = dataclasses.replace(run, runtime_samples_s=())
    assert schedule(dataclasses.replace(snap, running=(bare,)), policy="easy").to_start == ()
