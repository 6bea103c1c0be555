"""Every job file in examples/jobs is a valid spec, and each one-node example runs to success on the local example."""

from __future__ import annotations

import pytest

from aidc.core.jobs import JobSpec
from aidc.core.spec_io import load_model
from tests.conftest import EXAMPLES
from tests.server.conftest import Api

JOBS = sorted((EXAMPLES / "jobs").glob("*.yaml"))


@pytest.mark.parametrize("path", JOBS, ids=[p.stem for p in JOBS])
def test_an_example_job_is_a_valid_spec(path) -> None:  # noqa: ANN001
    spec, _ = load_model(path, JobSpec)
    assert spec.name and (spec.command or spec.workload)


def test_the_one_node_examples_run_on_the_local_example(local_api: Api) -> None:
    local = [p for p in JOBS if load_model(p, JobSpec)[0].nodes == 1]
    assert {p.stem for p in local} >= {"hello", "batch-steps"}
    ids = []
    for path in local:
        spec = load_model(path, JobSpec)[0].model_dump(mode="json", exclude_defaults=True)
        r = local_api.submit(spec)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for job_id in ids:
        assert local_api.wait_status(job_id, {"succeeded", "failed"}, timeout_s=60)["status"] == "succeeded"
    log = local_api.call("GET", f"/api/v1/jobs/{ids[[p.stem for p in local].index('hello')]}/logs").text
    assert log.startswith("hello from job ") and log.rstrip().endswith("done")
