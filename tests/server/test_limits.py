"""Per-tenant abuse limits (services/limits.py): pending jobs, replicas, submission rate; one tenant's flood
does not refuse another tenant's submissions."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import SMALL, Api, make_api


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Api]:
    """small-h100 with tight limits; the loop does not start jobs (everything stays pending)."""
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", SMALL, start_loop=False,
                        max_pending_jobs_per_tenant=30, max_replicas=4, submit_rate_per_tenant=0.01, submit_burst=20)


def _spec(i: int, **kw: object) -> dict:
    return {"name": f"j{i}", "command": "sleep 1", "gpus": 1, **kw}


def test_a_burst_beyond_the_rate_is_429_with_retry_after_and_writes_nothing(limited: Api) -> None:
    codes = [limited.submit(_spec(i), tenant="research") for i in range(25)]
    assert [r.status_code for r in codes[:20]] == [201] * 20
    refused = codes[20]
    assert refused.status_code == 429 and "faster than 0.01 jobs/s" in refused.json()["detail"]
    assert 90 <= int(refused.headers["Retry-After"]) <= 101  # one token at 0.01/s
    assert len(limited.call("GET", "/api/v1/jobs", params={"limit": 1000}).json()) == 20


def test_one_tenants_flood_does_not_refuse_another(limited: Api) -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        flood = list(pool.map(lambda i: limited.submit(_spec(i), tenant="research").status_code, range(60)))
    assert flood.count(201) == 20 and flood.count(429) == 40
    other = [limited.submit(_spec(i), tenant="product").status_code for i in range(10)]
    assert other == [201] * 10


def test_pending_jobs_are_capped_per_tenant(tmp_path: Path) -> None:
    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", SMALL, start_loop=False,
                   max_pending_jobs_per_tenant=5, submit_burst=100)
    api = next(gen)
    try:
        codes = [api.submit(_spec(i), tenant="research").status_code for i in range(7)]
        assert codes == [201] * 5 + [429] * 2
        r = api.submit(_spec(9), tenant="research")
        assert "5 pending jobs, at most 5" in r.json()["detail"] and r.headers["Retry-After"] == "30"
        assert api.submit(_spec(10), tenant="product").status_code == 201
    finally:
        gen.close()


def test_replicas_beyond_the_limit_are_422_naming_the_setting(limited: Api) -> None:
    spec = _spec(0, kind="serve", replicas=5, workload_config={"port": 9000})
    r = limited.submit(spec, tenant="research")
    assert r.status_code == 422 and "AIDC_MAX_REPLICAS" in r.json()["detail"] and r.json()["field"] == "replicas"
    r = limited.submit(_spec(0, kind="serve", replicas=100_000), tenant="research")
    assert r.status_code == 422  # the spec's own bound, before any row is built
    assert limited.call("GET", "/api/v1/jobs").json() == []
