"""The run-time predictor on a synthetic history whose run times depend on who runs what."""

from __future__ import annotations

import math

import pytest

from aidc.scheduling.predictor import JobRecord, RuntimePredictor
from aidc.sim.synthetic import synthetic_history


@pytest.fixture(scope="module")
def fitted() -> tuple[RuntimePredictor, list[JobRecord]]:
    history = synthetic_history(2500, seed=3)
    p = RuntimePredictor(max_iter=120)
    p.fit(history)
    return p, history


def test_beats_the_tenant_and_size_history_out_of_sample(fitted) -> None:  # noqa: ANN001
    a = fitted[0].accuracy
    assert a.jobs == 2500 and a.scored == 625  # the later 25% held out
    assert a.median_abs_error_s < 0.5 * a.baseline_median_abs_error_s  # user, name and command carry the signal
    assert a.within_2x > 0.8 > a.baseline_within_2x
    assert a.user_estimate_jobs > 0 and a.user_estimate_median_abs_error_s > a.median_abs_error_s  # users round up


def test_predicts_a_new_run_of_a_known_kind(fitted) -> None:  # noqa: ANN001
    p, history = fitted
    short = min(history, key=lambda j: j.runtime_s)
    long = max(history, key=lambda j: j.runtime_s)
    fresh = [JobRecord(submit_s=history[-1].submit_s + 1, gpus=j.gpus, user=j.user, tenant=j.tenant, name=j.name,
                       command=j.command.replace("--seed", "--seed 99"), requested_s=j.requested_s,
                       max_runtime_s=j.max_runtime_s, gpu_model=j.gpu_model) for j in (short, long)]
    got = p.predict(fresh)
    assert got[0] < 600 < 20_000 < got[1]
    samples = p.samples_for(got[1])
    assert list(samples) == sorted(samples) and samples[0] < got[1] < samples[-1]


def test_features_are_those_known_when_the_job_waited() -> None:
    # each user runs one name once, so nothing of a job's own run can be in its user or name features
    history = [JobRecord(submit_s=1000.0 * i, gpus=1, user=f"u{i}", name=f"n{i}", runtime_s=100.0 + i) for i in range(40)]
    x, _ = RuntimePredictor()._online_rows(history)
    assert all(math.isnan(v) for v in x[:, 4])  # user median: no past run of that user
    # a job's own (tenant, GPUs) median only counts runs finished before it was submitted
    assert math.isnan(x[0, 4 + 3 * 3]) and x[-1, 4 + 3 * 3] == pytest.approx(math.log(100 + 19), abs=0.2)


def test_too_little_history_predicts_nothing_and_nulls_are_fine() -> None:
    p = RuntimePredictor()
    assert p.fit([JobRecord(submit_s=0.0, gpus=1, runtime_s=5.0)] * 5).jobs == 5
    assert not p.ready and p.predict([JobRecord(submit_s=1.0, gpus=1)]) == [None]
    nulls = [JobRecord(submit_s=float(i), gpus=0, runtime_s=float(10 + i % 7)) for i in range(60)]
    p.fit(nulls + [JobRecord(submit_s=99.0, gpus=1, runtime_s=math.nan)])  # a NaN run time is left out
    assert p.ready and p.accuracy.jobs == 60
    assert all(v is not None and v >= 1 for v in p.predict([JobRecord(submit_s=100.0, gpus=0)]))
