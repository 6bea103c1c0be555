"""Helpers for the browser tests: a real uvicorn server seeded through the API, and headless Debian Chromium."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aidc.server.app import create_app
from aidc.server.settings import Settings
from tests.server.conftest import SMALL, stop_live_jobs
from tests.server.pg import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ADMIN = "aidc_web-admin-token"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    """A live control plane with seeded jobs: one running (research), pending ones (both tenants), a member token."""

    url: str
    member: str  # a member of `product`
    running_id: int
    pending_id: int  # research's, waiting on cordoned nodes
    product_id: int  # product's, pending
    shots: Path

    def call(self, method: str, path: str, token: str = ADMIN, **kw) -> httpx.Response:  # noqa: ANN003
        return httpx.request(method, f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kw)


def need_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@contextmanager
def live_server(tmp: Path) -> Iterator[tuple[str, object]]:
    import uvicorn

    # agents registered by the telemetry tests send one heartbeat: a long interval keeps their nodes from
    # being declared lost (heartbeat loss is tested in tests/agent) while other pages are being checked
    app = create_app(Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'aidc.db'}", bootstrap_token=ADMIN,
                              schedule_interval_s=0.05, heartbeat_interval_s=600))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}", app
    finally:
        stop_live_jobs(app)
        server.should_exit = True
        thread.join(10)


def seed(url: str, shots: Path) -> Site:
    """small-h100, a running job with output, then every GPU node cordoned so later jobs wait with a reason."""
    h = {"Authorization": f"Bearer {ADMIN}"}
    post = lambda path, body: httpx.post(f"{url}{path}", json=body, headers=h, timeout=10)  # noqa: E731
    assert post("/api/v1/datacenters", {"yaml": SMALL, "source": "small-h100.yaml"}).status_code == 201
    running = post("/api/v1/jobs", {"spec": {"name": "pretrain", "kind": "train", "gpus": 2, "estimated_runtime_s": 600,
                                             "command": "echo hello-from-the-job; sleep 900"}, "tenant": "research"}).json()
    deadline = time.time() + 20
    while httpx.get(f"{url}/api/v1/jobs/{running['id']}", headers=h).json()["status"] != "running":
        assert time.time() < deadline, "the seeded job never ran"
        time.sleep(0.1)
    for node in httpx.get(f"{url}/api/v1/nodes", headers=h).json():
        if node["gpus"] and node["name"] not in ("h100-01-n01",):
            post(f"/api/v1/nodes/{node['name']}/cordon", {"reason": "seeded: rack work"})
    post("/api/v1/nodes/h100-04-n04/maintenance", {"reason": "seeded: xid 79"})
    big = {"name": "big-train", "kind": "train", "gpus": 16, "nodes": 2, "estimated_runtime_s": 3600, "command": "sleep 1"}
    pending = post("/api/v1/jobs", {"spec": big, "tenant": "research"}).json()
    assert "id" in pending, pending
    product = post("/api/v1/jobs", {"spec": {"name": "eval-sweep", "kind": "eval", "gpus": 8, "command": "sleep 1"},
                                    "tenant": "product"}).json()
    post("/api/v1/jobs", {"spec": {"name": "chat-8b", "kind": "serve", "gpus": 1, "command": "sleep 1",
                                   "env": {"AIDC_ENDPOINT": "http://h100-01-n01:8000/v1"}}, "tenant": "product"})
    post("/api/v1/users", {"name": "pia", "role": "member", "tenant": "product"})
    member = post("/api/v1/tokens", {"user": "pia", "ttl_days": 1}).json()["token"]
    deadline = time.time() + 10
    while "waiting for the next" in httpx.get(f"{url}/api/v1/jobs/{pending['id']}", headers=h).json()["reason"]:
        assert time.time() < deadline, "the scheduler never gave the pending job a reason"
        time.sleep(0.1)
    return Site(url=url, member=member, running_id=running["id"], pending_id=pending["id"], product_id=product["id"],
                shots=shots)


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
