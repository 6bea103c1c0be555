"""Dashboard fixtures: the control plane on SQLite with small-h100 imported, two tenants and a member token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import SMALL, Api, make_api


@pytest.fixture
def web_api(tmp_path: Path) -> Iterator[Api]:
    """small-h100 (128 H100, tenants research and product) on SQLite, the loop on."""
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'aidc.db'}", SMALL)


def cordon_gpu_nodes(api: Api) -> None:
    """Cordon every GPU node so submitted jobs stay pending, with the scheduler's reason."""
    for node in api.call("GET", "/api/v1/nodes").json():
        if node["gpus"]:
            r = api.call("POST", f"/api/v1/nodes/{node['name']}/cordon", json={"reason": "test: keep jobs pending"})
            assert r.status_code == 200, r.text


@pytest.fixture
def local_like_running(web_api: Api) -> Iterator[tuple[Api, int]]:
    """A research job on 2 GPUs, running (a real short-lived `sleep`), cancelled at the end."""
    r = web_api.submit({"name": "run", "gpus": 2, "command": "sleep 30"}, tenant="research")
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    job = web_api.wait_status(job_id, {"running"})
    assert job["status"] == "running", job
    yield web_api, job_id
    web_api.call("POST", f"/api/v1/jobs/{job_id}/cancel", json={})
