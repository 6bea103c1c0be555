"""Submitting jobs: bad input gets a 4xx naming the field; nothing half-written; pending jobs say why."""

from __future__ import annotations

import time

import pytest

from tests.server.conftest import Api

OK = {"name": "train-1", "kind": "train", "command": "sleep 100", "gpus": 8, "estimated_runtime_s": 3600}


@pytest.mark.parametrize("spec,status,needle", [
    ({**OK, "gpus": 10_000}, 422, "gpus: 10000 GPUs requested; the site has 128"),
    ({**OK, "gpu_model": "B200"}, 422, "gpu_model: this site has no B200 GPUs (it has H100-SXM: 128)"),
    ({**OK, "gpu_model": "H100-SMX"}, 422, "did you mean H100-SXM?"),
    ({**OK, "estimated_runtime_s": -5}, 422, "estimated_runtime_s: Input should be greater than 0"),
    ({**OK, "gpus": 16, "nodes": 1}, 422, "gpus: 16 GPUs per node over 1 node(s); the largest node has 8"),
    ({**OK, "gpuz": 1}, 422, "gpuz: unknown field (did you mean gpus?)"),
    ({**OK, "command": None}, 422, "give exactly one of 'command' or 'workload'"),
    ({**OK, "name": "bad name!"}, 422, "name: String should match pattern"),
    ({**OK, "kind": "training"}, 422, "kind: Input should be"),
])
def test_bad_specs_are_refused_with_the_field(api: Api, spec: dict, status: int, needle: str) -> None:
    r = api.submit(spec, tenant="research")
    assert r.status_code == status
    assert needle in r.json()["detail"]
    assert api.call("GET", "/api/v1/jobs").json() == []  # nothing half-written


def test_malformed_bodies_and_oversized_requests(api: Api) -> None:
    r = api.client.post("/api/v1/jobs", headers={**api.h(api.admin), "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 422
    r = api.call("POST", "/api/v1/jobs", json={"spec": OK, "tenant": "research", "extra": 1})
    assert r.status_code == 422 and "extra" in r.json()["detail"]
    r = api.client.post("/api/v1/jobs", headers={**api.h(api.admin), "content-type": "application/json"},
                        content=b'{"spec": {"name": "' + b"x" * 2_000_000 + b'"}}')
    assert r.status_code == 413


def test_bad_datacenter_import_is_located_and_changes_nothing(api: Api) -> None:
    bad = "name: other\nsite: {name: s, rooms: [{name: r, racks: [{name: a, power_budget_kw: 1, nodes: [{template: t}]}]}]}\n" \
          "node_templates: {t: {gpu: H100-SMX}}\n"
    r = api.call("POST", "/api/v1/datacenters", json={"yaml": bad, "source": "other.yaml"})
    assert r.status_code == 422
    assert "other.yaml:3: node_templates.t.gpu: unknown GPU model 'H100-SMX' (did you mean H100-SXM?)" in r.json()["detail"]
    assert [d["name"] for d in api.call("GET", "/api/v1/datacenters").json()] == ["small-h100"]


def test_jobs_run_and_wait_with_reasons(api: Api) -> None:
    ids = [api.submit({**OK, "name": f"j{i}", "gpus": 64, "nodes": 8}, tenant="research").json()["id"] for i in range(3)]
    first = api.wait_status(ids[0], {"running"})
    second = api.wait_status(ids[1], {"running"})
    assert first["status"] == "running" and second["status"] == "running"
    deadline = time.time() + 10
    while True:  # it may have arrived after the cycle that started the second job
        third = api.call("GET", f"/api/v1/jobs/{ids[2]}").json()
        if third["reason"] != "waiting for the next scheduling cycle" or time.time() > deadline:
            break
        time.sleep(0.05)
    assert third["status"] == "pending" and "64" in third["reason"]
    events = api.call("GET", f"/api/v1/jobs/{ids[0]}/events").json()
    assert [e["to_status"] for e in events] == ["pending", "starting", "running"]
    assert events[0]["actor"] == "admin" and events[1]["actor"] == "scheduler"
    cancelled = api.call("POST", f"/api/v1/jobs/{ids[0]}/cancel", json={"reason": "no longer needed"}).json()
    assert cancelled["status"] == "cancelled"
    assert api.wait_status(ids[2], {"running"})["status"] == "running"  # the freed GPUs went to the waiting job
    r = api.call("POST", f"/api/v1/jobs/{ids[0]}/cancel", json={})
    assert r.status_code == 409 and "already ended" in r.json()["detail"]


def test_openapi_is_published(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/jobs" in paths and "/api/v1/nodes/{name}/{action}" in paths


def test_pending_jobs_get_an_eta_from_the_twin(local_api) -> None:  # noqa: ANN001
    import time

    first = local_api.submit({"name": "a", "command": "sleep 30", "gpus": 4, "estimated_runtime_s": 30}).json()
    local_api.wait_status(first["id"], {"running"})
    second = local_api.submit({"name": "b", "command": "sleep 1", "gpus": 4, "estimated_runtime_s": 10}).json()
    third = local_api.submit({"name": "c", "command": "sleep 1", "gpus": 2, "estimated_runtime_s": 10}).json()
    deadline = time.time() + 10
    while time.time() < deadline:
        b = local_api.call("GET", f"/api/v1/jobs/{second['id']}").json()
        c = local_api.call("GET", f"/api/v1/jobs/{third['id']}").json()
        if b["eta_s"] and c["eta_s"]:
            break
        time.sleep(0.1)
    started = local_api.call("GET", f"/api/v1/jobs/{first['id']}").json()["started_s"]
    assert abs(b["eta_s"] - (started + 30)) < 3  # when the running job's estimate runs out
    assert abs(c["eta_s"] - (b["eta_s"] + 10)) < 3  # FIFO: behind b
    assert "4" in b["reason"]


def test_a_hard_quota_holds_under_concurrent_submissions(api: Api) -> None:
    import threading
    import time

    r = api.call("PUT", "/api/v1/tenants/product/quota", json={"gpu_quota": {"H100-SXM": 16}, "allow_borrowing": False})
    assert r.status_code == 200
    assert api.submit({**OK, "name": "too-big", "gpus": 24, "nodes": 3}, tenant="product").status_code == 422
    ids: list[int] = []

    def submit_some() -> None:
        for _ in range(3):
            ids.append(api.submit({**OK, "name": "q", "gpus": 8, "command": "sleep 30"}, tenant="product").json()["id"])

    threads = [threading.Thread(target=submit_some) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 12
    peak = 0
    deadline = time.time() + 3
    while time.time() < deadline:
        running = api.call("GET", "/api/v1/jobs", params={"tenant": "product", "status": "running"}).json()
        starting = api.call("GET", "/api/v1/jobs", params={"tenant": "product", "status": "starting"}).json()
        peak = max(peak, sum(j["gpus"] for j in running + starting))
        time.sleep(0.05)
    assert peak == 16  # two 8-GPU jobs, never a third, although 112 GPUs are idle
    waiting = api.call("GET", "/api/v1/jobs", params={"tenant": "product", "status": "pending"}).json()
    assert len(waiting) == 10 and all("tenant product" in j["reason"] for j in waiting)
