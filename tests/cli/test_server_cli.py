"""A real `aidc server` process on 127.0.0.1 driven by the `aidc` client commands, and killed with -9."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES, aidc_bin
from tests.server.live import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, aidc=aidc_bin()).start()
    yield srv
    for job in json.loads(srv.aidc("jobs", "--json", "--status", "running").stdout or "[]"):
        srv.aidc("job", "cancel", str(job["id"]))
    time.sleep(0.3)
    srv.stop()


def _wait(server: Server, job_id: int, statuses: set[str], timeout_s: float = 20) -> dict:
    deadline = time.time() + timeout_s
    while True:
        job = json.loads(server.aidc("job", "show", str(job_id), "--json").stdout)
        if job["status"] in statuses or time.time() > deadline:
            return job
        time.sleep(0.1)


def test_submit_follow_and_inspect_through_the_cli(server: Server, tmp_path: Path) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text("name: hello\ncommand: 'echo hello; sleep 0.3; echo bye'\ngpus: 2\n")
    res = server.aidc("submit", str(spec), "--json")
    assert res.returncode == 0, res.stderr
    job_id = json.loads(res.stdout)["id"]
    logs = server.aidc("job", "logs", str(job_id), "--follow")
    assert logs.stdout == "hello\nbye\n"
    assert _wait(server, job_id, {"succeeded"})["status"] == "succeeded"
    table = server.aidc("jobs")
    assert "hello" in table.stdout and "succeeded" in table.stdout
    events = json.loads(server.aidc("job", "events", str(job_id), "--json").stdout)
    assert [e["to_status"] for e in events] == ["pending", "starting", "running", "succeeded"]
    nodes = json.loads(server.aidc("nodes", "--json").stdout)
    assert nodes[0]["name"] == "local-n01" and nodes[0]["gpus"] == 4
    usage = json.loads(server.aidc("usage", "--json").stdout)
    assert usage[0]["tenant"] == "default" and usage[0]["gpu_hours"] > 0
    pred = json.loads(server.aidc("predictor", "--json").stdout)
    assert pred["enabled"] and not pred["ready"] and pred["min_jobs"] == 30
    assert "learning" in server.aidc("predictor").stdout


def test_cli_errors_are_clear(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncommand: run\ngpus: 64\n")
    res = server.aidc("submit", str(bad))
    assert res.returncode == 2 and "gpus: 64 GPUs requested; the site has 4" in res.stderr and "Traceback" not in res.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\ncomand: run\n")
    res = server.aidc("submit", str(typo))
    assert res.returncode == 2 and f"{typo}:2: comand: unknown field 'comand' (did you mean command?)" in res.stderr
    env_bad = {**server.env, "AIDC_TOKEN": "aidc_wrong"}
    res = subprocess.run([aidc_bin(), "jobs"], env=env_bad, capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "401: unknown token" in res.stderr


def test_member_token_from_the_cli(server: Server) -> None:
    assert server.aidc("users", "create", "ana", "--role", "member", "--tenant", "default").returncode == 0
    token = server.aidc("tokens", "create", "--user", "ana").stdout.strip()
    assert token.startswith("aidc_")
    env = {**server.env, "AIDC_TOKEN": token}
    res = subprocess.run([aidc_bin(), "nodes", "drain", "local-n01"], env=env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "403" in res.stderr


@pytest.mark.slow
def test_more_concurrent_clients_than_request_threads_all_get_answers(server: Server) -> None:
    """80 clients at once (anyio serves with 40 threads): nobody starves waiting for a connection."""
    from concurrent.futures import ThreadPoolExecutor

    url, headers = server.env["AIDC_URL"], {"Authorization": f"Bearer {server.token()}"}
    httpx.post(f"{url}/api/v1/nodes/local-n01/cordon", json={}, headers=headers, timeout=10)

    def submit(i: int) -> int:
        return httpx.post(f"{url}/api/v1/jobs", headers=headers, timeout=30,
                          json={"spec": {"name": f"c{i}", "command": "true", "gpus": 1}}).status_code

    with ThreadPoolExecutor(max_workers=80) as pool:
        codes = list(pool.map(submit, range(160)))
    assert codes == [201] * 160


@pytest.mark.slow
def test_kill_9_while_jobs_run_and_arrive_loses_nothing(tmp_path: Path) -> None:
    server = Server(tmp_path, aidc=aidc_bin()).start()
    token = server.token()
    url = f"http://127.0.0.1:{server.port}"
    accepted: list[int] = []
    stop = threading.Event()

    def submitter() -> None:
        i = 0
        while not stop.is_set() and i < 200:
            try:
                r = httpx.post(f"{url}/api/v1/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=5,
                               json={"spec": {"name": f"k{i}", "command": "sleep 0.4", "gpus": 1}})
                if r.status_code == 201:
                    accepted.append(r.json()["id"])
            except httpx.HTTPError:
                pass  # the server is down for a moment: this one was not accepted
            i += 1
            time.sleep(0.02)

    thread = threading.Thread(target=submitter)
    thread.start()
    time.sleep(1.5)
    server.kill9()
    time.sleep(0.5)
    server.start()
    time.sleep(1.0)
    stop.set()
    thread.join(30)
    deadline = time.time() + 120
    jobs: list[dict] = []
    headers = {"Authorization": f"Bearer {token}"}
    while time.time() < deadline:
        jobs = httpx.get(f"{url}/api/v1/jobs", params={"limit": 1000}, headers=headers).json()
        if jobs and all(j["status"] == "succeeded" for j in jobs):
            break
        time.sleep(0.5)
    events = {j["id"]: httpx.get(f"{url}/api/v1/jobs/{j['id']}/events", headers=headers).json() for j in jobs}
    server.stop()
    assert accepted and set(accepted) <= {j["id"] for j in jobs}  # no accepted job lost
    assert all(j["status"] == "succeeded" for j in jobs), [j for j in jobs if j["status"] != "succeeded"][:3]
    for job in jobs:  # none started twice: a second start only after a recorded requeue
        # a start is a move to running: "launched by local", or "re-attached" when the kill came between
        # the launch and its commit (the restarted server finds the process and adopts it)
        starts = sum(e["to_status"] == "running" for e in events[job["id"]])
        requeues = sum(e["to_status"] == "pending" and e["from_status"] is not None for e in events[job["id"]])
        assert 1 <= starts <= job["attempts"] and starts <= 1 + requeues, events[job["id"]]


def test_jobs_watch_without_a_terminal_prints_plain_tables_periodically(tmp_path: Path) -> None:
    server = Server(tmp_path, aidc=aidc_bin()).start()
    try:
        assert server.aidc("submit", str(EXAMPLES / "jobs" / "hello.yaml")).returncode == 0
        watch = subprocess.Popen([server.bin, "jobs", "--watch"], env=server.env, cwd=server.tmp,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, _ = watch.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            watch.terminate()
            out, _ = watch.communicate(timeout=10)
        assert out.count("\n-- ") + out.startswith("-- ") >= 2, out[:500]
        assert "hello" in out and "\x1b[" not in out  # the job, and no terminal control codes
    finally:
        server.stop()
