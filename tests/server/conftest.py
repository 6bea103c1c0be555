"""Control-plane fixtures: a server app on SQLite and on a real PostgreSQL, tokens for each role."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aidc.server.app import create_app
from aidc.server.settings import Settings
from tests.conftest import EXAMPLES
from tests.server.pg import Postgres, pg_bin

SMALL = (EXAMPLES / "datacenters" / "small-h100.yaml").read_text()
LOCAL = (EXAMPLES / "datacenters" / "local.yaml").read_text()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aidc.db'}"
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.fresh_database("t" + uuid.uuid4().hex[:12])


@dataclass
class Api:
    """A running app with an admin token and helpers to act as other users."""

    client: TestClient
    admin: str
    tmp: Path

    def h(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, token: str | None = None, **kw):  # noqa: ANN003, ANN201
        headers = self.h(token or self.admin)
        return self.client.request(method, path, headers=headers, **kw)

    def user_token(self, name: str, role: str, tenant: str | None) -> str:
        r = self.call("POST", "/api/v1/users", json={"name": name, "role": role, "tenant": tenant})
        assert r.status_code == 201, r.text
        r = self.call("POST", "/api/v1/tokens", json={"user": name, "ttl_days": 1})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def submit(self, spec: dict, token: str | None = None, tenant: str | None = None):  # noqa: ANN201
        return self.call("POST", "/api/v1/jobs", token, json={"spec": spec, "tenant": tenant})

    def share(self, tenant: str, volumes: list[dict], **sandbox: object) -> None:
        """Declare a tenant's volumes (name, host_path, access); the tests' directories are made usable by
        the tenant's uid (0o777 for rw, 0o755 for ro), as an admin would chown them."""
        for v in volumes:
            Path(v["host_path"]).mkdir(parents=True, exist_ok=True)
            Path(v["host_path"]).chmod(0o777 if v.get("access") == "rw" else 0o755)
        r = self.call("PUT", f"/api/v1/tenants/{tenant}/sandbox", json={"volumes": volumes, **sandbox})
        assert r.status_code == 200, r.text

    def wait_status(self, job_id: int, statuses: set[str], timeout_s: float = 20.0, token: str | None = None) -> dict:
        deadline = time.time() + timeout_s
        while True:
            job = self.call("GET", f"/api/v1/jobs/{job_id}", token).json()
            if job["status"] in statuses or time.time() > deadline:
                return job
            time.sleep(0.05)


def make_api(tmp_path: Path, db_url: str, spec_text: str, **settings: object) -> Iterator[Api]:
    cfg = Settings(data_dir=tmp_path / "data", database_url=db_url, bootstrap_token="aidc_test-admin-token",
                   schedule_interval_s=0.05, **settings)
    app = create_app(cfg)
    with TestClient(app) as client:
        api = Api(client=client, admin="aidc_test-admin-token", tmp=tmp_path)
        r = api.call("POST", "/api/v1/datacenters", json={"yaml": spec_text, "source": "spec.yaml"})
        assert r.status_code == 201, r.text
        try:
            yield api
        finally:
            stop_live_jobs(app)


def stop_live_jobs(app) -> None:  # noqa: ANN001
    """Kill what the test left running: jobs are real processes in their own sessions."""
    from aidc.server.services import jobs

    with app.state.sessions() as session:
        for job in jobs.live(session):
            app.state.executor.cancel(job.id, dict(job.handle), grace_s=1.0)
    finish = getattr(app.state.executor, "finish_stops", None)
    if finish is not None:
        finish(timeout_s=5.0)


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[Api]:
    """small-h100 (128 H100, tenants research and product) on SQLite and on PostgreSQL."""
    yield from make_api(tmp_path, db_url, SMALL)


@pytest.fixture
def local_api(tmp_path: Path) -> Iterator[Api]:
    """local.yaml (one node, 4 virtual GPUs) on SQLite, for running real processes."""
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", LOCAL)
