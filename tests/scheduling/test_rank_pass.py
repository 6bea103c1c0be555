"""`rank_pass_split` (lazy, the fast path of every rank policy) gives exactly `rank_pass`'s plan."""

from __future__ import annotations

import random

import pytest

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, RunningJob
from aidc.scheduling.placement import Consolidate
from aidc.scheduling.policies import rank_pass, rank_pass_split


def random_case(rng: random.Random) -> tuple[ClusterSnapshot, list[tuple], list[tuple]]:
    n_nodes = rng.randint(1, 6)
    free = [8] * n_nodes
    running = []
    for i in range(rng.randint(0, 12)):
        g = rng.choice([0, 1, 1, 2, 4, 8])
        k = rng.randrange(n_nodes)
        if g and free[k] >= g:
            free[k] -= g
            running.append(RunningJob(100 + i, g, 0.0, 0.0, ((f"n{k}", g),)))
    nodes = tuple(NodeState(f"n{k}", 8, f) for k, f in enumerate(free))
    sizes = [0, 1, 1, 1, 2, 4, 8, 16, 64]  # 0: a share; 64: more than any case has (impossible)
    pending = [PendingJob(i, rng.choice(sizes), float(i), gpu_milli=500) for i in range(rng.randint(0, 15))]
    snap = ClusterSnapshot(10.0, nodes, pending=tuple(pending), running=tuple(running))
    pkeys = [(rng.randint(0, 3), rng.choice([1.0, 2.0]), 1, i) for i in range(len(pending))]
    rkeys = [(rng.randint(0, 3), rng.choice([1.0, 2.0]), 0, i) for i in range(len(running))]
    return snap, pkeys, rkeys


@pytest.mark.parametrize("seed", range(300))
def test_split_pass_equals_the_plain_one(seed: int) -> None:
    snap, pkeys, rkeys = random_case(random.Random(seed))
    pending, running = list(snap.pending), list(snap.running)
    ranked = [(k, pending[k[-1]], False) for k in pkeys] + [(k, running[k[-1]], True) for k in rkeys]
    want = rank_pass(snap, Consolidate(), ranked, name="t")
    got = rank_pass_split(snap, Consolidate(), pending, list(pkeys), running, list(rkeys), name="t")
    assert got == want
