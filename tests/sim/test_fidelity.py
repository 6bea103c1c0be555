"""Fidelity against the peer simulators' published figures on Philly (../shared/traces/README.md)."""

from __future__ import annotations

import pytest

from aidc.sim.cluster import load_cluster
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.metrics import summary
from aidc.sim.readers import read_trace
from aidc.sim.runner import parse_when

METRICS = ("avg_jct_s", "p50_jct_s", "p99_jct_s", "avg_queue_s")
HELIOS_DEFAULT = {"fifo": (11_585, 1_430, 221_002, 104.6), "sjf": (11_543, 1_424, 221_002, 62.7),
                  "srtf": (11_533, 1_416, 221_875, 51.1)}
LUCID_WEEK1_X4 = {"fifo": (28_018, 5_082, 607_202, 20_189), "sjf": (19_262, 2_308, 480_983, 11_433),
                  "srtf": (15_206, 1_837, 259_967, 7_366), "tiresias": (21_421, 4_002, 496_300, 13_588)}


def within(ours: dict, peer: tuple, pct: float) -> None:
    for m, p in zip(METRICS, peer):
        assert abs(ours[m] - p) <= pct / 100 * p, f"{m}: ours {ours[m]} vs peer {p}"


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(HELIOS_DEFAULT))
def test_whole_file_default_within_2pct(philly, policy: str) -> None:
    trace_path, vcs = philly
    res = simulate(read_trace(trace_path, "philly"), load_cluster(vcs), SimConfig(policy=policy, restart_overhead="helios"))
    s = summary(res)
    assert s["jobs"] == 68_503
    within(s, HELIOS_DEFAULT[policy], 2.0)


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(LUCID_WEEK1_X4))
def test_first_week_x4_within_5pct(philly, policy: str) -> None:
    trace_path, vcs = philly
    trace = read_trace(trace_path, "philly")
    week = trace.window(None, parse_when("2017-10-08", trace))
    res = simulate(week, load_cluster(vcs, scale_nodes=0.25), SimConfig(policy=policy, restart_overhead="lucid"))
    within(summary(res), LUCID_WEEK1_X4[policy], 5.0)
