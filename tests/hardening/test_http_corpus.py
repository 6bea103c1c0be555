"""Bad-input corpus against a real app: job bodies, query and path parameters, agent registrations and
heartbeats, datacenter imports, tenants, users, tokens and the dashboard forms.

Every case states the exact status it must get and a text the answer must contain (what was wrong, and
where: the field or parameter), and the database must be byte-for-byte what it was before (nothing
half-written). No case may answer 5xx, and no answer may echo more than a bounded part of its input.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aidc.server.app import create_app
from aidc.server.settings import Settings
from tests.server.conftest import LOCAL

ADMIN = "aidc_corpus-admin-token"
BIG = 2**63  # one past SQLite's INTEGER
OK_JOB = {"name": "ok", "command": "true", "gpus": 1}
MAX_ECHO = 4096  # no error answer is longer than this, whatever it was sent


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    says: str  # must appear in the answer (case-insensitive)
    json: Any = None
    content: str | None = None  # raw body (for what JSON cannot say: NaN, Infinity, broken syntax)
    params: dict = field(default_factory=dict)
    token: str | None = ADMIN  # None: no Authorization header


def job(**change: Any) -> dict:
    return {"spec": {**OK_JOB, **change}}


def raw_job(fragment: str) -> str:
    return '{"spec": {"name": "ok", "command": "true", ' + fragment + "}}"


JOBS = "/api/v1/jobs"
JOB_CASES = [
    Case("body-not-json", "POST", JOBS, 422, "json", content="{"),
    Case("body-a-list", "POST", JOBS, 422, "body", json=[1, 2]),
    Case("body-no-spec", "POST", JOBS, 422, "spec", json={}),
    Case("spec-a-string", "POST", JOBS, 422, "spec", json={"spec": "run"}),
    Case("spec-unknown-field", "POST", JOBS, 422, "gpu_count", json=job(gpu_count=2)),
    Case("body-unknown-field", "POST", JOBS, 422, "priority", json={"spec": OK_JOB, "priority": 3}),
    Case("name-missing", "POST", JOBS, 422, "name", json={"spec": {"command": "true"}}),
    Case("name-space", "POST", JOBS, 422, "name", json=job(name="a b")),
    Case("name-nul", "POST", JOBS, 422, "name", json=job(name="a\x00b")),
    Case("name-too-long", "POST", JOBS, 422, "name", json=job(name="a" * 129)),
    Case("name-leading-dash", "POST", JOBS, 422, "name", json=job(name="-rf")),
    Case("name-not-string", "POST", JOBS, 422, "name", json=job(name=7)),
    Case("gpus-string", "POST", JOBS, 422, "gpus", json=job(gpus="2")),
    Case("gpus-bool", "POST", JOBS, 422, "gpus", json=job(gpus=True)),
    Case("gpus-negative", "POST", JOBS, 422, "gpus", json=job(gpus=-1)),
    Case("gpus-fraction", "POST", JOBS, 422, "gpus", json=job(gpus=1.5)),
    Case("gpus-huge", "POST", JOBS, 422, "gpus", json=job(gpus=10**20)),
    Case("gpus-beyond-site", "POST", JOBS, 422, "gpus", json=job(gpus=64)),
    Case("gpus-null", "POST", JOBS, 422, "gpus", json=job(gpus=None)),
    Case("nodes-zero", "POST", JOBS, 422, "nodes", json=job(nodes=0)),
    Case("nodes-more-than-gpus-site", "POST", JOBS, 422, "node", json=job(gpus=4, nodes=3)),
    Case("cpu-zero", "POST", JOBS, 422, "cpu_cores", json=job(cpu_cores=0)),
    Case("cpu-infinity", "POST", JOBS, 422, "cpu_cores", content=raw_job('"cpu_cores": Infinity')),
    Case("memory-nan", "POST", JOBS, 422, "memory_gib", content=raw_job('"memory_gib": NaN')),
    Case("memory-string", "POST", JOBS, 422, "memory_gib", json=job(memory_gib="4G")),
    Case("runtime-1e309", "POST", JOBS, 422, "max_runtime_s", content=raw_job('"max_runtime_s": 1e309')),
    Case("runtime-negative", "POST", JOBS, 422, "max_runtime_s", json=job(max_runtime_s=-5)),
    Case("estimate-over-limit", "POST", JOBS, 422, "estimated_runtime_s", json=job(max_runtime_s=10, estimated_runtime_s=20)),
    Case("estimate-zero", "POST", JOBS, 422, "estimated_runtime_s", json=job(estimated_runtime_s=0)),
    Case("priority-too-high", "POST", JOBS, 422, "priority", json=job(priority=5000)),
    Case("priority-word", "POST", JOBS, 422, "priority", json=job(priority="high")),
    Case("kind-unknown", "POST", JOBS, 422, "kind", json=job(kind="mining")),
    Case("command-nul", "POST", JOBS, 422, "command", json=job(command="echo a\x00b")),
    Case("command-20k", "POST", JOBS, 422, "command", json=job(command="x" * 20_000)),
    Case("command-and-workload-missing", "POST", JOBS, 422, "command", json={"spec": {"name": "ok"}}),
    Case("workload-unknown", "POST", JOBS, 422, "workload", json={"spec": {"name": "ok", "workload": "nope"}}),
    Case("workload-config-list", "POST", JOBS, 422, "workload_config", json={"spec": {"name": "ok", "workload": "train", "workload_config": [1]}}),
    Case("env-300-keys", "POST", JOBS, 422, "env", json=job(env={f"K{i}": "v" for i in range(300)})),
    Case("env-empty-name", "POST", JOBS, 422, "shell name", json=job(env={"": "x"})),
    Case("env-name-with-equals", "POST", JOBS, 422, "shell name", json=job(env={"A=B": "1"})),
    Case("env-value-nul", "POST", JOBS, 422, "env", json=job(env={"A": "a\x00"})),
    Case("env-value-number", "POST", JOBS, 422, "env", json=job(env={"A": 1})),
    Case("env-value-huge", "POST", JOBS, 422, "env", json=job(env={"A": "x" * 40_000})),
    Case("replicas-zero", "POST", JOBS, 422, "replicas", json=job(replicas=0)),
    Case("replicas-100000", "POST", JOBS, 422, "replicas", json=job(kind="serve", replicas=100_000)),
    Case("preemptible-word", "POST", JOBS, 422, "preemptible", json=job(preemptible="yes")),
    Case("image-bad-scheme", "POST", JOBS, 422, "image", json=job(image="docker://ubuntu")),
    Case("gpu-model-unknown", "POST", JOBS, 422, "Z999", json=job(gpu_model="Z999")),
    Case("volume-unknown", "POST", JOBS, 422, "nope", json=job(volumes=[{"name": "nope"}])),
    Case("tenant-unknown", "POST", JOBS, 422, "nope", json={"spec": OK_JOB, "tenant": "nope"}),
    Case("tenant-control-chars", "POST", JOBS, 422, "tenant", json={"spec": OK_JOB, "tenant": "a\x07b"}),
    Case("no-token", "POST", JOBS, 401, "token", json=job(), token=None),
    Case("bad-token", "POST", JOBS, 401, "token", json=job(), token="aidc_nope"),
    Case("body-2mb", "POST", JOBS, 413, "body", json=job(command="x" * 2_100_000)),
]

QUERY_CASES = [
    Case("limit-negative", "GET", JOBS, 422, "limit", params={"limit": -1}),
    Case("limit-zero", "GET", JOBS, 422, "limit", params={"limit": 0}),
    Case("limit-huge", "GET", JOBS, 422, "limit", params={"limit": 10**6}),
    Case("limit-word", "GET", JOBS, 422, "limit", params={"limit": "all"}),
    Case("offset-negative", "GET", JOBS, 422, "offset", params={"offset": -1}),
    Case("offset-64-bit", "GET", JOBS, 422, "offset", params={"offset": BIG}),
    Case("status-unknown", "GET", JOBS, 422, "status", params={"status": "sleeping"}),
    Case("list-kind-unknown", "GET", JOBS, 422, "kind", params={"kind": "mining"}),
    Case("list-tenant-unknown", "GET", JOBS, 404, "nope", params={"tenant": "nope"}),
    Case("list-tenant-long", "GET", JOBS, 422, "tenant", params={"tenant": "t" * 500}),
    Case("job-id-zero", "GET", f"{JOBS}/0", 422, "job_id"),
    Case("job-id-negative", "GET", f"{JOBS}/-1", 422, "job_id"),
    Case("job-id-word", "GET", f"{JOBS}/abc", 422, "job_id"),
    Case("job-id-float", "GET", f"{JOBS}/1.5", 422, "job_id"),
    Case("job-id-64-bit", "GET", f"{JOBS}/{BIG}", 422, "job_id"),
    Case("job-id-missing", "GET", f"{JOBS}/999999", 404, "999999"),
    Case("events-64-bit", "GET", f"{JOBS}/{BIG}/events", 422, "job_id"),
    Case("events-missing", "GET", f"{JOBS}/999999/events", 404, "999999"),
    Case("logs-offset-negative", "GET", f"{JOBS}/1/logs", 422, "offset", params={"offset": -1}),
    Case("logs-offset-huge", "GET", f"{JOBS}/1/logs", 422, "offset", params={"offset": 2**62 + 1}),
    Case("logs-offset-word", "GET", f"{JOBS}/1/logs", 422, "offset", params={"offset": "end"}),
    Case("logs-missing", "GET", f"{JOBS}/999999/logs", 404, "999999"),
    Case("gpus-64-bit", "GET", f"{JOBS}/{BIG}/gpus", 422, "job_id"),
    Case("cancel-64-bit", "POST", f"{JOBS}/{BIG}/cancel", 422, "job_id", json={}),
    Case("cancel-missing", "POST", f"{JOBS}/999999/cancel", 404, "999999", json={}),
    Case("cancel-reason-number", "POST", f"{JOBS}/1/cancel", 422, "reason", json={"reason": 5}),
    Case("cancel-reason-huge", "POST", f"{JOBS}/1/cancel", 422, "reason", json={"reason": "r" * 20_000}),
    Case("requeue-64-bit", "POST", f"{JOBS}/{BIG}/requeue", 422, "job_id", json={}),
    Case("prompt-64-bit", "POST", f"/api/v1/deployments/{BIG}/prompt", 422, "job_id", json={"prompt": "hi"}),
    Case("prompt-missing-job", "POST", "/api/v1/deployments/999999/prompt", 404, "999999", json={"prompt": "hi"}),
    Case("prompt-max-tokens-huge", "POST", "/api/v1/deployments/1/prompt", 422, "max_tokens", json={"prompt": "hi", "max_tokens": 10**9}),
    Case("telemetry-hours-zero", "GET", "/api/v1/nodes/local-n01/telemetry", 422, "hours", params={"hours": 0}),
    Case("telemetry-hours-nan", "GET", "/api/v1/nodes/local-n01/telemetry", 422, "hours", params={"hours": "nan"}),
    Case("telemetry-hours-huge", "GET", "/api/v1/nodes/local-n01/telemetry", 422, "hours", params={"hours": 1e9}),
    Case("telemetry-unknown-node", "GET", "/api/v1/nodes/nope/telemetry", 404, "nope"),
    Case("node-events-unknown", "GET", "/api/v1/nodes/nope/events", 404, "nope"),
    Case("overview-hours-zero", "GET", "/api/v1/overview", 422, "hours", params={"hours": 0}),
    Case("overview-hours-inf", "GET", "/api/v1/overview", 422, "hours", params={"hours": "inf"}),
    Case("repairs-open-word", "GET", "/api/v1/repairs", 422, "open", params={"open": "maybe"}),
    Case("node-action-unknown", "POST", "/api/v1/nodes/local-n01/explode", 404, "explode", json={}),
    Case("node-unknown", "POST", "/api/v1/nodes/nope/drain", 404, "nope", json={}),
    Case("racks-unknown-dc", "GET", "/api/v1/datacenters/nope/racks", 404, "nope"),
    Case("token-id-zero", "DELETE", "/api/v1/tokens/0", 422, "token_id"),
    Case("token-id-64-bit", "DELETE", f"/api/v1/tokens/{BIG}", 422, "token_id"),
    Case("token-id-missing", "DELETE", "/api/v1/tokens/999999", 404, "999999"),
    Case("no-token-jobs", "GET", JOBS, 401, "token", token=None),
    Case("no-token-overview", "GET", "/api/v1/overview", 401, "token", token=None),
    Case("no-token-predictor", "GET", "/api/v1/predictor", 401, "token", token=None),
]

REGISTER = {"node": "agent-n1", "gpus": 2, "cpu_cores": 8, "ram_gib": 64}
HEARTBEAT = "/api/v1/agents/corpus-agent/heartbeat"
AGENT_CASES = [
    Case("register-gpus-negative", "POST", "/api/v1/agents/register", 422, "gpus", json={**REGISTER, "gpus": -1}),
    Case("register-gpus-string", "POST", "/api/v1/agents/register", 422, "gpus", json={**REGISTER, "gpus": "2"}),
    Case("register-gpus-huge", "POST", "/api/v1/agents/register", 422, "gpus", json={**REGISTER, "gpus": 5000}),
    Case("register-ram-inf", "POST", "/api/v1/agents/register", 422, "ram_gib", content='{"node": "a", "gpus": 1, "cpu_cores": 1, "ram_gib": Infinity}'),
    Case("register-ram-zero", "POST", "/api/v1/agents/register", 422, "ram_gib", json={**REGISTER, "ram_gib": 0}),
    Case("register-node-nul", "POST", "/api/v1/agents/register", 422, "node", json={**REGISTER, "node": "a\x00"}),
    Case("register-node-slash", "POST", "/api/v1/agents/register", 422, "node", json={**REGISTER, "node": "../etc"}),
    Case("register-node-long", "POST", "/api/v1/agents/register", 422, "node", json={**REGISTER, "node": "n" * 200}),
    Case("register-model-long", "POST", "/api/v1/agents/register", 422, "gpu_model", json={**REGISTER, "gpu_model": "G" * 100}),
    Case("register-model-unknown", "POST", "/api/v1/agents/register", 422, "Z999", json={**REGISTER, "gpu_model": "Z999"}),
    Case("register-unknown-field", "POST", "/api/v1/agents/register", 422, "gpu_count", json={**REGISTER, "gpu_count": 2}),
    Case("register-no-token", "POST", "/api/v1/agents/register", 401, "token", json=REGISTER, token=None),
    Case("heartbeat-unknown-node", "POST", "/api/v1/agents/nope/heartbeat", 404, "nope", json={}),
    Case("heartbeat-gpus-not-list", "POST", HEARTBEAT, 422, "gpus", json={"gpus": {"temp_c": 50}}),
    Case("heartbeat-gpu-temp-word", "POST", HEARTBEAT, 422, "temp", json={"gpus": [{"index": 0, "temp_c": "hot"}]}),
    Case("heartbeat-gpu-temp-nan", "POST", HEARTBEAT, 422, "temp", content='{"gpus": [{"index": 0, "temp_c": NaN}]}'),
    Case("heartbeat-gpu-power-inf", "POST", HEARTBEAT, 422, "power", content='{"gpus": [{"index": 0, "power_w": Infinity}]}'),
    Case("heartbeat-gpu-util-negative", "POST", HEARTBEAT, 422, "util", json={"gpus": [{"index": 0, "util_pct": -5}]}),
    Case("heartbeat-gpu-index-huge", "POST", HEARTBEAT, 422, "index", json={"gpus": [{"index": BIG}]}),
    Case("heartbeat-gpu-entry-not-object", "POST", HEARTBEAT, 422, "gpus", json={"gpus": [3]}),
    Case("heartbeat-host-word", "POST", HEARTBEAT, 422, "host", json={"host": "busy"}),
    Case("heartbeat-host-nan", "POST", HEARTBEAT, 422, "host", content='{"host": {"cpu_pct": NaN}}'),
    Case("heartbeat-running-64-bit", "POST", HEARTBEAT, 422, "job_id", json={"running": [{"job_id": BIG, "attempt": 1}]}),
    Case("heartbeat-running-attempt-zero", "POST", HEARTBEAT, 422, "attempt", json={"running": [{"job_id": 1, "attempt": 0}]}),
    Case("heartbeat-finished-kind", "POST", HEARTBEAT, 422, "kind", json={"finished": [{"job_id": 1, "attempt": 1, "kind": "exploded"}]}),
    Case("heartbeat-finished-exit-huge", "POST", HEARTBEAT, 422, "exit_code", json={"finished": [{"job_id": 1, "attempt": 1, "kind": "failed", "exit_code": BIG}]}),
    Case("heartbeat-log-offset-negative", "POST", HEARTBEAT, 422, "offset", json={"logs": [{"job_id": 1, "attempt": 1, "offset": -1, "text": "x"}]}),
    Case("heartbeat-log-offset-huge", "POST", HEARTBEAT, 422, "offset", json={"logs": [{"job_id": 1, "attempt": 1, "offset": BIG, "text": "x"}]}),
    Case("heartbeat-check-repair-64-bit", "POST", HEARTBEAT, 422, "repair_id", json={"check_result": {"repair_id": BIG, "passed": True}}),
    Case("heartbeat-unknown-field", "POST", HEARTBEAT, 422, "gpu_temps", json={"gpu_temps": [1]}),
    Case("heartbeat-no-token", "POST", HEARTBEAT, 401, "token", json={}, token=None),
]

DC = "/api/v1/datacenters"
OTHER = LOCAL.replace("name: local\n", "name: other\n", 1).replace("name: local\n", "name: other-rack\n", 1)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8))
DC_CASES = [
    Case("dc-yaml-alias-bomb", "POST", DC, 422, "alias", json={"yaml": BOMB}),
    Case("dc-yaml-deep", "POST", DC, 422, "deep", json={"yaml": "[" * 5000 + "]" * 5000}),
    Case("dc-yaml-malformed", "POST", DC, 422, "spec.yaml:2", json={"yaml": "datacenter: {name: x\n  racks: ["}),
    Case("dc-yaml-a-list", "POST", DC, 422, "mapping", json={"yaml": "- 1\n- 2\n"}),
    Case("dc-yaml-empty", "POST", DC, 422, "yaml", json={"yaml": ""}),
    Case("dc-yaml-comment-only", "POST", DC, 422, "empty", json={"yaml": "# nothing\n"}),
    Case("dc-yaml-nul", "POST", DC, 422, "nul", json={"yaml": "datacenter:\x00\n"}),
    Case("dc-unknown-gpu", "POST", DC, 422, "Z999", json={"yaml": OTHER.replace("gpu: VGPU", "gpu: Z999")}),
    Case("dc-gpus-10-12", "POST", DC, 422, "gpus", json={"yaml": OTHER.replace("gpus: 4", "gpus: 1000000000000")}),
    Case("dc-ram-inf", "POST", DC, 422, "ram_gib", json={"yaml": OTHER.replace("ram_gib: 16", "ram_gib: .inf")}),
    Case("dc-gpus-string", "POST", DC, 422, "gpus", json={"yaml": OTHER.replace("gpus: 4", "gpus: '4'")}),
    Case("dc-name-control", "POST", DC, 422, "control character", json={"yaml": OTHER.replace("name: other\n", 'name: "ot\\x07her"\n', 1)}),
    Case("dc-unknown-key", "POST", DC, 422, "gpu_count", json={"yaml": OTHER.replace("gpus: 4", "gpus: 4\n    gpu_count: 4")}),
    Case("dc-template-unknown", "POST", DC, 422, "laptop", json={"yaml": OTHER.replace("template: workstation", "template: laptop")}),
    Case("dc-tenant-unknown", "POST", DC, 422, "nobody", json={"yaml": OTHER.replace("tenant: default}", "tenant: nobody}")}),
    Case("dc-already-imported", "POST", DC, 409, "local", json={"yaml": LOCAL}),
    Case("dc-not-string", "POST", DC, 422, "yaml", json={"yaml": 5}),
    Case("dc-source-control", "POST", DC, 422, "source", json={"yaml": OTHER, "source": "a\x1bb"}),
    Case("dc-missing-yaml", "POST", DC, 422, "yaml", json={}),
    Case("dc-member-refused", "POST", DC, 401, "token", json={"yaml": LOCAL}, token="aidc_not-a-token"),
    Case("discover-bad-name", "POST", f"{DC}/discover", 422, "name", json={"name": "a b"}),
]

ADMIN_CASES = [
    Case("tenant-name-space", "POST", "/api/v1/tenants", 422, "name", json={"name": "team a"}),
    Case("tenant-duplicate", "POST", "/api/v1/tenants", 409, "default", json={"name": "default"}),
    Case("tenant-quota-negative", "POST", "/api/v1/tenants", 422, "gpu_quota", json={"name": "t9", "gpu_quota": {"H100": -1}}),
    Case("tenant-quota-word", "POST", "/api/v1/tenants", 422, "gpu_quota", json={"name": "t9", "gpu_quota": {"H100": "lots"}}),
    Case("quota-unknown-tenant", "PUT", "/api/v1/tenants/nope/quota", 404, "nope", json={"gpu_quota": {}}),
    Case("quota-missing", "PUT", "/api/v1/tenants/default/quota", 422, "gpu_quota", json={}),
    Case("sandbox-uid-low", "PUT", "/api/v1/tenants/default/sandbox", 422, "unix_uid", json={"unix_uid": 0}),
    Case("sandbox-volume-relative", "PUT", "/api/v1/tenants/default/sandbox", 422, "host_path", json={"volumes": [{"name": "v", "host_path": "data", "access": "ro"}]}),
    Case("sandbox-volume-access", "PUT", "/api/v1/tenants/default/sandbox", 422, "access", json={"volumes": [{"name": "v", "host_path": "/srv", "access": "all"}]}),
    Case("sandbox-volume-name", "PUT", "/api/v1/tenants/default/sandbox", 422, "name", json={"volumes": [{"name": "../x", "host_path": "/srv", "access": "ro"}]}),
    Case("user-role-unknown", "POST", "/api/v1/users", 422, "role", json={"name": "u9", "role": "god"}),
    Case("user-tenant-unknown", "POST", "/api/v1/users", 422, "nope", json={"name": "u9", "role": "member", "tenant": "nope"}),
    Case("user-name-nul", "POST", "/api/v1/users", 422, "name", json={"name": "u\x00", "role": "member"}),
    Case("token-ttl-zero", "POST", "/api/v1/tokens", 422, "ttl_days", json={"ttl_days": 0}),
    Case("token-ttl-inf", "POST", "/api/v1/tokens", 422, "ttl_days", content='{"ttl_days": Infinity}'),
    Case("token-ttl-huge", "POST", "/api/v1/tokens", 422, "ttl_days", json={"ttl_days": 10**9}),
    Case("token-user-unknown", "POST", "/api/v1/tokens", 404, "nope", json={"user": "nope"}),
    Case("whatif-no-scenarios", "POST", "/api/v1/whatif", 422, "scenarios", json={"scenarios": []}),
    Case("whatif-unknown-policy", "POST", "/api/v1/whatif", 422, "gitins", json={"scenarios": [{"policy": "gitins"}, {"policy": "fifo"}]}),
    Case("plan-unknown-kind", "POST", "/api/v1/plan", 422, "kind", json={"kind": "mine", "spec": {}}),
    Case("plan-spec-list", "POST", "/api/v1/plan", 422, "spec", json={"kind": "training", "spec": [1]}),
]

CASES = JOB_CASES + QUERY_CASES + AGENT_CASES + DC_CASES + ADMIN_CASES


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    tmp = tmp_path_factory.mktemp("corpus")
    db = tmp / "aidc.db"
    app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{db}", bootstrap_token=ADMIN, start_loop=False,
                              runtime_predictor=False))
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {ADMIN}"}
        assert client.post(DC, json={"yaml": LOCAL}, headers=h).status_code == 201
        assert client.post(JOBS, json=job(), headers=h).status_code == 201  # job 1, for the per-job routes
        agent = {"node": "corpus-agent", "gpus": 1, "cpu_cores": 2, "ram_gib": 8, "gpu_model": "VGPU", "virtual_gpus": True}
        assert client.post("/api/v1/agents/register", json=agent, headers=h).status_code == 200, "the heartbeats' node"
        yield client, db


def fingerprint(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request_is_refused_clearly_and_writes_nothing(app_client, case: Case) -> None:  # noqa: ANN001
    client, db = app_client
    before = fingerprint(db)
    headers = {"Authorization": f"Bearer {case.token}"} if case.token else {}
    if case.content is not None:
        headers["Content-Type"] = "application/json"
    r = client.request(case.method, case.path, headers=headers, params=case.params, json=case.json,
                       content=case.content)
    assert r.status_code == case.status, f"{case.id}: {r.status_code} {r.text[:300]}"
    assert case.says.lower() in r.text.lower(), f"{case.id}: {r.text[:300]}"
    assert len(r.content) <= MAX_ECHO, f"{case.id}: {len(r.content)} bytes of answer"
    assert fingerprint(db) == before, f"{case.id} changed the database"


def test_the_corpus_is_broad() -> None:
    assert len(CASES) >= 150 - 60  # with the file corpus (test_file_corpus.py) over 150
    assert len({c.id for c in CASES}) == len(CASES)
