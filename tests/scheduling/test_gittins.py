"""The gittins policy: its index on learned run-time samples, its memos, and its plans on hand-built snapshots."""

from __future__ import annotations

import random

import pytest

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, RunningJob, get_policy, list_policies, schedule
from aidc.scheduling.gittins import Gittins, gittins_cost_s


def node(free: int, gpus: int = 8) -> NodeState:
    return NodeState("n0", gpus, free)


def test_registered_by_name() -> None:
    assert "gittins" in list_policies()
    assert get_policy("gittins", hysteresis_s=0.0).hysteresis_s == 0.0


def test_cost_by_hand() -> None:
    # Half the class ends at 60 s, half at 10,000 s. Fresh job: serving it 60 s ends it with p = 1/2,
    # so the cost is 60 / (1/2) = 120 s (the whole run: mean 5,030 s / 1 = 5,030 s is worse).
    samples = (60.0, 60.0, 10_000.0, 10_000.0)
    assert gittins_cost_s(samples, 0.0) == pytest.approx(120.0)
    # Past 60 s only the long half is left: cost = what remains of it.
    assert gittins_cost_s(samples, 100.0) == pytest.approx(9_900.0)
    # Older than every sample: overdue_factor x served (0 keeps it; 1 = Pareto-like).
    assert gittins_cost_s(samples, 20_000.0, overdue_factor=0.0) == 0.0
    assert gittins_cost_s(samples, 20_000.0, overdue_factor=1.0) == 20_000.0
    # A predictable class: SRPT on its run time.
    assert gittins_cost_s((500.0,) * 5, 100.0) == pytest.approx(400.0)


def test_class_that_may_end_soon_goes_first() -> None:
    mixed = (30.0, 30.0, 30.0, 1e6, 1e6)  # 60% end within 30 s: cost 30 / 0.6 = 50 s
    steady = (1_000.0,) * 5  # always 1,000 s
    geo = (30.0 ** 3 * 1e6 ** 2) ** (1 / 5)  # 1,940 s: a point prediction ranks `mixed` second
    snap = ClusterSnapshot(0.0, (node(1),), pending=(
        PendingJob(1, 1, 0.0, duration_estimate_s=1_000.0, runtime_samples_s=steady),
        PendingJob(2, 1, 1.0, duration_estimate_s=geo, runtime_samples_s=mixed),
    ))
    assert [p.job_id for p in schedule(snap, policy="psrtf").to_start] == [1]
    assert [p.job_id for p in schedule(snap, policy="gittins").to_start] == [2]


def test_preempts_only_past_the_hysteresis() -> None:
    run = RunningJob(1, 1, 0.0, 0.0, (("n0", 1),), remaining_at_start_s=1_000.0, runtime_samples_s=(1_000.0,) * 4)
    short = PendingJob(2, 1, 5.0, duration_estimate_s=700.0, runtime_samples_s=(700.0,) * 4)
    snap = ClusterSnapshot(10.0, (node(0, gpus=1),), pending=(short,), running=(run,))
    # the running job has 990 s left, the waiting one 700 s: 290 s better, less than 600 s of hysteresis
    assert schedule(snap, policy=Gittins()).to_preempt == ()
    assert schedule(snap, policy=Gittins(hysteresis_s=100.0)).to_preempt == (1,)


def test_demoted_after_the_service_threshold() -> None:
    # a job past 18,000 GPU-s of service drops a level: any fresh job outranks it, however long
    run = RunningJob(1, 1, 0.0, 0.0, (("n0", 1),), remaining_at_start_s=10.0, attained_at_start_gpu_s=20_000.0,
                     runtime_samples_s=(30_000.0,) * 4)
    fresh = PendingJob(2, 1, 5.0, duration_estimate_s=80_000.0, runtime_samples_s=(80_000.0,) * 4)
    snap = ClusterSnapshot(10.0, (node(0, gpus=1),), pending=(fresh,), running=(run,))
    assert schedule(snap, policy="gittins").to_preempt == (1,)


@pytest.mark.parametrize("reindex", [False, True])
def test_memoized_running_keys_equal_the_plain_ones(reindex: bool) -> None:
    rng = random.Random(7)
    pol = Gittins(reindex_running=reindex)
    classes = [tuple(sorted(rng.lognormvariate(7, 2) for _ in range(rng.randint(1, 30)))) for _ in range(5)] + [()]
    jobs = [RunningJob(i, rng.choice([1, 2, 8]), 0.0, rng.uniform(0, 100), (("n0", 1),),
                       remaining_at_start_s=rng.choice([None, rng.uniform(0, 5_000)]),
                       attained_at_start_gpu_s=rng.choice([0.0, rng.uniform(0, 40_000)]),
                       runtime_samples_s=rng.choice(classes)) for i in range(200)]
    for now in (100.0, 500.0, 5_000.0, 90_000.0):  # the memo is reused across "cycles"
        want = [pol.running_key(r, now) if reindex else None for r in jobs]
        got = pol._running_keys(jobs, now)
        if reindex:
            assert got == want
        else:  # frozen: the key at the start less the service since, floored at -hysteresis
            for r, k in zip(jobs, got):
                g = max(r.gpus, 1)
                expect = max(pol.running_key(r, r.started_s) - g * (now - r.started_s), -pol.hysteresis_s * g)
                assert k == pytest.approx(expect)


def test_starve_after_puts_a_passed_over_job_first() -> None:
    # a long job waiting 2 days behind a stream of short ones: by default the short one starts; with a
    # bound of 1 day on being passed over, the long one does (and keeps its place once it runs)
    old = PendingJob(1, 1, 0.0, duration_estimate_s=90_000.0, runtime_samples_s=(90_000.0,) * 4)
    new = PendingJob(2, 1, 172_000.0, duration_estimate_s=60.0, runtime_samples_s=(60.0,) * 4)
    snap = ClusterSnapshot(172_800.0, (node(1),), pending=(old, new))
    assert [p.job_id for p in schedule(snap, policy=Gittins()).to_start] == [2]
    assert [p.job_id for p in schedule(snap, policy=Gittins(starve_after_s=86_400.0)).to_start] == [1]
    # started after waiting 2 days: a fresh short job does not preempt it
    run = RunningJob(1, 1, 0.0, 172_800.0, (("n0", 1),), remaining_at_start_s=90_000.0, runtime_samples_s=(90_000.0,) * 4)
    later = PendingJob(3, 1, 172_900.0, duration_estimate_s=60.0, runtime_samples_s=(60.0,) * 4)
    snap = ClusterSnapshot(173_000.0, (node(0, gpus=1),), pending=(later,), running=(run,))
    assert schedule(snap, policy=Gittins()).to_preempt == (1,)
    assert schedule(snap, policy=Gittins(starve_after_s=86_400.0)).to_preempt == ()


def test_starve_after_asks_to_decide_again_when_a_job_crosses_the_bound() -> None:
    waiting = PendingJob(1, 1, 100.0, duration_estimate_s=90_000.0, runtime_samples_s=(90_000.0,) * 4)
    busy = RunningJob(2, 1, 0.0, 0.0, (("n0", 1),), remaining_at_start_s=50.0, runtime_samples_s=(50.0,) * 4)
    snap = ClusterSnapshot(1_000.0, (node(0, gpus=1),), pending=(waiting,), running=(busy,))
    assert schedule(snap, policy=Gittins()).recheck_at_s is None
    assert schedule(snap, policy=Gittins(starve_after_s=3_600.0)).recheck_at_s == 3_700.0
