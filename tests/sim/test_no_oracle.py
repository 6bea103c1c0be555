"""The no-oracle policies never use a job's true duration: lengthening the jobs still running (or not
yet started) at time T leaves every decision before T unchanged. SRTF on the truth fails the same test."""

from __future__ import annotations

import numpy as np
import pytest

from aidc.sim.cluster import vc_table
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.synthetic import synthetic_trace


def replay(policy: str, estimator: str, stretch_after_s: float | None = None):  # noqa: ANN201
    trace = synthetic_trace(400, 32, load=1.2, seed=3, tenants=2)
    cluster = vc_table([("all", 4)], isolate=False)
    cfg = SimConfig(policy=policy, estimator=estimator, restart_overhead="lucid")
    first = simulate(trace, cluster, cfg)
    if stretch_after_s is None:
        return first, None
    for k, job in enumerate(trace.jobs):  # jobs unfinished at T run 3x longer (+1 s)
        if first.jobs.end_s[k] > stretch_after_s:
            job.duration_s = job.duration_s * 3 + 1
    return first, simulate(trace, cluster, cfg)


def same_before(a, b, t_s: float) -> bool:  # noqa: ANN001
    """Every start before t, every end before t and every job's preemptions by then agree."""
    for x, y in ((a.jobs.start_s, b.jobs.start_s), (a.jobs.end_s, b.jobs.end_s)):
        early = (x < t_s) | (y < t_s)
        if not np.array_equal(x[early], y[early]):
            return False
    return True


@pytest.mark.parametrize(("policy", "estimator"), [("gittins", "history"), ("psrtf", "history"),
                                                   ("gittins", "predictor"), ("srtf", "predictor")])
def test_decisions_ignore_true_durations(policy: str, estimator: str) -> None:
    base, _ = replay(policy, estimator)
    assert base.jobs.preemptions.sum() > 0, "the case must exercise preemption"
    t_s = float(np.quantile(base.jobs.end_s, 0.8))  # late enough that the predictor has fitted (200 ended)
    a, b = replay(policy, estimator, stretch_after_s=t_s)
    assert same_before(a, b, t_s)
    assert not np.array_equal(a.jobs.end_s, b.jobs.end_s)  # the stretch did change the replay after T


def test_an_oracle_policy_fails_the_same_check() -> None:
    base, _ = replay("srtf", "oracle")
    t_s = float(np.median(base.jobs.end_s))
    a, b = replay("srtf", "oracle", stretch_after_s=t_s)
    assert not same_before(a, b, t_s)
