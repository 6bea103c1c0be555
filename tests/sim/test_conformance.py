"""The simulator's cheap snapshots (dict views, a bytes free-GPU vector) give the same plans as the
plain tuples a control plane would build from its database: one scheduler, two builders."""

from __future__ import annotations

import dataclasses

import pytest

import aidc.sim.engine as engine
from aidc.scheduling import schedule
from aidc.sim.cluster import vc_table
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.synthetic import synthetic_trace


@pytest.mark.parametrize("policy", ["fifo", "sjf", "srtf", "tiresias", "priority", "fairshare", "easy", "psrtf"])
def test_engine_snapshots_equal_plain_snapshots(monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
    cycles = []

    def both(snap, *, policy, placement):  # noqa: ANN001, ANN202
        plain = dataclasses.replace(snap, pending=tuple(snap.pending), running=tuple(snap.running), free_gpus=None)
        got, want = schedule(snap, policy=policy, placement=placement), schedule(plain, policy=policy, placement=placement)
        assert got == want
        cycles.append(got)
        return got

    monkeypatch.setattr(engine, "schedule", both)
    trace = synthetic_trace(150, 32, load=1.5, seed=4, tenants=2)
    simulate(trace, vc_table([("t0", 2), ("t1", 2)]), SimConfig(policy=policy))
    assert len(cycles) > 50
