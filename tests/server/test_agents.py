"""Node agents through the API: registration, the heartbeat protocol, health rules, repairs and checks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Api, make_api
from tests.specs import named_nodes_yaml

SPEC = named_nodes_yaml("agents-dc", ["a1", "a2"], gpus=4, cpu_cores=4, ram_gib=16)
JOB = {"name": "t", "kind": "custom", "command": "true", "gpus": 4}


@pytest.fixture
def agent_api(tmp_path: Path, db_url: str) -> Iterator[Api]:
    yield from make_api(tmp_path, db_url, SPEC, executor="agent", heartbeat_interval_s=0.3, heartbeat_misses=3,
                        repair_check_retry_s=0.1, repair_max_checks=2)


def register(api: Api, node: str, gpus: int = 4, token: str | None = None):  # noqa: ANN201
    return api.call("POST", "/api/v1/agents/register", token,
                    json={"node": node, "gpus": gpus, "cpu_cores": 4, "ram_gib": 16, "virtual_gpus": True})


def beat(api: Api, node: str, **body) -> dict:  # noqa: ANN003
    r = api.call("POST", f"/api/v1/agents/{node}/heartbeat", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def gpus(temp_c: float = 40.0, **extra) -> list[dict]:  # noqa: ANN003
    return [{"index": i, "util_pct": 0, "power_w": 60, "temp_c": temp_c, **(extra if i == 1 else {})} for i in range(4)]


def until(fn, timeout_s: float = 10.0):  # noqa: ANN001, ANN201
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def node(api: Api, name: str) -> dict:
    return next(n for n in api.call("GET", "/api/v1/nodes").json() if n["name"] == name)


def test_register_binds_to_the_inventory_and_refuses_mismatches(agent_api: Api) -> None:
    assert register(agent_api, "a1").status_code == 200
    r = register(agent_api, "a2", gpus=8)
    assert r.status_code == 422 and "a2" in r.json()["detail"] and "4 GPUs in the inventory" in r.json()["detail"]
    member = agent_api.user_token("mia", "member", "default")
    assert register(agent_api, "a1", token=member).status_code == 403
    assert beat_status(agent_api, "a2") == 422  # never registered: told so, nothing stored
    new = register(agent_api, "fresh-node")  # a node new to aidc joins the "agents" datacenter
    assert new.status_code == 200
    assert node(agent_api, "fresh-node")["gpus"] == 4
    assert {d["name"] for d in agent_api.call("GET", "/api/v1/datacenters").json()} == {"agents-dc", "agents"}


def beat_status(api: Api, name: str) -> int:
    return api.call("POST", f"/api/v1/agents/{name}/heartbeat", json={}).status_code


def test_an_agent_token_runs_agents_and_nothing_else(agent_api: Api) -> None:
    r = agent_api.call("POST", "/api/v1/users", json={"name": "bad-agent", "role": "agent", "tenant": "default"})
    assert r.status_code == 422 and "no tenant" in r.json()["detail"]
    agent = agent_api.user_token("agent-a1", "agent", None)
    assert register(agent_api, "a1", token=agent).status_code == 200
    assert register(agent_api, "new-by-agent", token=agent).status_code == 200  # a new node may join
    r = agent_api.call("POST", "/api/v1/agents/a1/heartbeat", agent, json={"gpus": gpus()})
    assert r.status_code == 200, r.text
    for method, path, body in (("GET", "/api/v1/jobs", None), ("POST", "/api/v1/jobs", {"spec": JOB}),
                               ("GET", "/api/v1/nodes", None), ("GET", "/api/v1/repairs", None),
                               ("POST", "/api/v1/tokens", {"ttl_days": 1}), ("GET", "/api/v1/executor", None)):
        r = agent_api.call(method, path, agent, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert "agent token" in r.json()["detail"]
    assert agent_api.call("GET", "/api/v1/jobs").json() == []  # nothing was submitted on its behalf
    assert agent_api.call("GET", "/api/v1/whoami", agent).json() == {"user": "agent-a1", "role": "agent", "tenant": None}


def test_heartbeat_assigns_runs_and_acknowledges_a_job(agent_api: Api) -> None:
    register(agent_api, "a1")
    register(agent_api, "a2")
    job_id = agent_api.submit(JOB).json()["id"]
    assert agent_api.wait_status(job_id, {"running"})["status"] == "running"
    where = agent_api.call("GET", f"/api/v1/jobs/{job_id}").json()["placement"][0][0]
    reply = beat(agent_api, where, gpus=gpus())
    (part,) = reply["assign"]
    assert (part["job_id"], part["attempt"], part["rank"], part["gpus"]) == (job_id, 1, 0, [0, 1, 2, 3])
    assert part["command"] == "true"
    ref = {"job_id": job_id, "attempt": 1, "rank": 0}
    # running: not assigned again; its log arrives in order, a resend of the same bytes is ignored
    reply = beat(agent_api, where, running=[ref], logs=[{**ref, "offset": 0, "text": "hello\n"}])
    assert reply["assign"] == [] and reply["log_offsets"] == {f"{job_id}:1:0": 6}
    beat(agent_api, where, running=[ref], logs=[{**ref, "offset": 0, "text": "hello\n"}])
    assert agent_api.call("GET", f"/api/v1/jobs/{job_id}/logs").text == "hello\n"
    # GPU metrics of the job come from its node's telemetry
    beat(agent_api, where, running=[ref], gpus=[{"index": i, "util_pct": 80 + i, "power_w": 250} for i in range(4)])
    metrics = agent_api.call("GET", f"/api/v1/jobs/{job_id}/gpus").json()
    assert metrics["mean_util_pct"] == pytest.approx(81.5) and metrics["power_w"] == 1000
    assert 'aidc_job_gpu_utilization_percent{job="%d",node="%s"} 81.5' % (job_id, where) in \
        agent_api.call("GET", "/metrics").text
    finished = {**ref, "kind": "failed", "exit_code": 3, "reason": "exit code 3"}
    reply = beat(agent_api, where, finished=[finished])
    assert reply["ack"] == []  # not folded yet: the agent keeps reporting it
    job = agent_api.wait_status(job_id, {"failed"})
    assert job["exit_code"] == 3 and "on " + where in job["reason"]
    assert beat(agent_api, where, finished=[finished])["ack"] == [ref]


def test_a_multi_node_job_needs_every_rank(agent_api: Api) -> None:
    register(agent_api, "a1")
    register(agent_api, "a2")
    job_id = agent_api.submit({**JOB, "gpus": 8, "nodes": 2}).json()["id"]
    agent_api.wait_status(job_id, {"running"})
    parts = {n: beat(agent_api, n)["assign"][0] for n in ("a1", "a2")}
    assert sorted(p["rank"] for p in parts.values()) == [0, 1] and parts["a1"]["ranks"] == 2
    ok = {"kind": "succeeded", "exit_code": 0}
    rank0 = next(n for n, p in parts.items() if p["rank"] == 0)
    rank1 = next(n for n, p in parts.items() if p["rank"] == 1)
    beat(agent_api, rank0, finished=[{"job_id": job_id, "attempt": 1, "rank": 0, **ok}])
    time.sleep(0.3)
    assert agent_api.call("GET", f"/api/v1/jobs/{job_id}").json()["status"] == "running"
    beat(agent_api, rank1, running=[{"job_id": job_id, "attempt": 1, "rank": 1}],
         finished=[{"job_id": job_id, "attempt": 1, "rank": 1, **ok}])
    assert agent_api.wait_status(job_id, {"succeeded"})["status"] == "succeeded"


def test_xid_drains_requeues_and_a_passed_check_returns_the_node(agent_api: Api) -> None:
    register(agent_api, "a1")
    register(agent_api, "a2")
    agent_api.call("POST", "/api/v1/nodes/a2/cordon", json={})  # the job goes to a1
    job_id = agent_api.submit(JOB).json()["id"]
    agent_api.wait_status(job_id, {"running"})
    ref = {"job_id": job_id, "attempt": 1, "rank": 0}
    beat(agent_api, "a1")
    reply = beat(agent_api, "a1", running=[ref], gpus=gpus(xids=[79]))
    assert reply["status"] == "draining"
    agent_api.wait_status(job_id, {"pending"})
    reasons = [e["reason"] for e in agent_api.call("GET", f"/api/v1/jobs/{job_id}/events").json()]
    assert "requeued: node a1 is draining (xid: GPU 1: XID 79)" in reasons
    # the agent is told to stop the part (SIGTERM first, so it can checkpoint); once the node is empty
    # (maintenance) a reply hands its agent the check
    replies: list[dict] = []

    def beat_a1(**body) -> dict:  # noqa: ANN003
        replies.append(beat(agent_api, "a1", **body))
        return replies[-1]

    assert until(lambda: beat_a1(running=[ref])["cancel"])[0]["job_id"] == job_id
    assert until(lambda: node(agent_api, "a1")["status"] == "maintenance")
    check = until(lambda: next((r["check"] for r in replies if r["check"]), None) or beat_a1()["check"])
    (repair,) = agent_api.call("GET", "/api/v1/repairs").json()
    assert (repair["rule"], repair["status"], repair["checks"]) == ("xid", "checking", 1)
    beat(agent_api, "a1", check_result={"repair_id": check["repair_id"], "passed": False, "output": "GPU 1 missing"})
    assert node(agent_api, "a1")["status"] == "maintenance"
    check = until(lambda: beat(agent_api, "a1")["check"])  # retried after repair_check_retry_s
    beat(agent_api, "a1", check_result={"repair_id": check["repair_id"], "passed": True, "output": "4 GPUs ok"})
    assert node(agent_api, "a1")["status"] == "active"
    (repair,) = agent_api.call("GET", "/api/v1/repairs").json()
    assert (repair["status"], repair["checks"], repair["check_output"]) == ("passed", 2, "4 GPUs ok")
    events = agent_api.call("GET", "/api/v1/nodes/a1/events").json()
    assert [(e["to_status"], e["actor"]) for e in events if e["to_status"]] == [
        ("draining", "health"), ("maintenance", "scheduler"), ("active", "health")]


def test_heartbeat_loss_takes_the_node_down_and_stale_parts_are_stopped(agent_api: Api) -> None:
    register(agent_api, "a1")
    register(agent_api, "a2")
    agent_api.call("POST", "/api/v1/nodes/a2/cordon", json={})
    job_id = agent_api.submit(JOB).json()["id"]
    agent_api.wait_status(job_id, {"running"})
    ref = {"job_id": job_id, "attempt": 1, "rank": 0}
    beat(agent_api, "a1", running=[ref])
    agent_api.call("POST", "/api/v1/nodes/a2/uncordon", json={})
    t_silent = time.time()
    until(lambda: beat(agent_api, "a2") and node(agent_api, "a1")["status"] == "down", timeout_s=10)
    assert time.time() - t_silent < 3 * 0.3 + 1.0  # three intervals, plus a cycle and this poll
    assert "no heartbeat" in node(agent_api, "a1")["status_reason"]
    job = agent_api.wait_status(job_id, {"running"})  # requeued and started again, on a2 (attempt 2)
    assert job["placement"][0][0] == "a2" and job["attempts"] == 2
    # a1 comes back still running attempt 1: told to stop it, never handed work while down;
    # its late report of attempt 1 is acknowledged and changes nothing
    reply = beat(agent_api, "a1", running=[ref])
    assert reply["cancel"] == [{**ref, "grace_s": pytest.approx(reply["cancel"][0]["grace_s"])}] and reply["assign"] == []
    late = beat(agent_api, "a1", finished=[{**ref, "kind": "succeeded", "exit_code": 0}])
    assert late["ack"] == [ref]
    assert agent_api.call("GET", f"/api/v1/jobs/{job_id}").json()["status"] == "running"


def test_failed_jobs_in_a_row_drain_a_node(tmp_path: Path) -> None:
    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", SPEC, executor="agent", failed_jobs_in_a_row=2)
    api = next(gen)
    try:
        register(api, "a1")
        register(api, "a2")
        api.call("POST", "/api/v1/nodes/a2/cordon", json={})
        for attempt in range(2):
            job_id = api.submit({**JOB, "name": f"f{attempt}"}).json()["id"]
            api.wait_status(job_id, {"running"})
            beat(api, "a1", finished=[{"job_id": job_id, "attempt": 1, "rank": 0, "kind": "failed", "exit_code": 1}])
            api.wait_status(job_id, {"failed"})
        assert until(lambda: node(api, "a1")["status"] in ("draining", "maintenance"))
        (repair,) = api.call("GET", "/api/v1/repairs").json()
        assert repair["rule"] == "failed_jobs" and "2 jobs failed on it in a row" in repair["reason"]
        api.call("POST", "/api/v1/nodes/a1/uncordon", json={})  # a person puts it back: the repair is closed with their name
        assert api.call("GET", "/api/v1/repairs").json()[0]["status"] == "closed"
    finally:
        gen.close()


def test_executor_capabilities_are_reported_and_respected(tmp_path: Path) -> None:
    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'b.db'}", SPEC, executor_options={"multi_node": False})
    api = next(gen)
    try:
        info = api.call("GET", "/api/v1/executor").json()
        assert info == {"name": "local", "capabilities": {"multi_node": False, "preemption": True,
                                                          "checkpoint_restore": True, "fractional_gpus": False}}
        r = api.submit({**JOB, "gpus": 8, "nodes": 2})
        assert r.status_code == 422 and "the local executor runs a job on one node only" in r.json()["detail"]
        r = api.call("POST", "/api/v1/datacenters/discover", json={"name": "x"})
        assert r.status_code == 422 and "has no node list of its own" in r.json()["detail"]
    finally:
        gen.close()
