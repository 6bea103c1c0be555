"""The Ray executor on a real loopback Ray cluster (fake GPUs): placement, gangs, exit codes, cancel, loss."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("ray", reason="ray is not installed: pip install 'ray[default]>=2.40,<3' (the dev extra has it)")

from aidc.core.errors import AidcError  # noqa: E402
from aidc.executors.base import ExecutorEvent, LaunchRequest  # noqa: E402
from aidc.executors.ray import RayExecutor  # noqa: E402
from tests.executors.ray_cluster import RayCluster, datacenter_yaml  # noqa: E402
from tests.executors.ray_cluster import ray_cluster  # noqa: E402, F401 (the session fixture)

_ids = itertools.count(1000)


@pytest.fixture
def ex(ray_cluster: RayCluster) -> Iterator[RayExecutor]:  # noqa: F811
    executor = RayExecutor(address=ray_cluster.address)
    yield executor
    for job_id in executor.watched():  # what a test left running
        executor.cancel(job_id, _handle_of(executor, job_id), grace_s=0.5)
    _drain(executor)


def _req(tmp: Path, command: str, placement: tuple, job_id: int | None = None, **kw) -> LaunchRequest:  # noqa: ANN003
    job_id = next(_ids) if job_id is None else job_id
    return LaunchRequest(job_id=job_id, name=f"t{job_id}", command=command, workdir=tmp / str(job_id) / "attempt-1",
                         placement=placement, **kw)


def _events(ex: RayExecutor, job_ids: set[int], timeout_s: float = 30.0, until: str = "end") -> list[ExecutorEvent]:
    """Poll until each job has an end event (until="end") or a running event (until="running")."""
    seen: list[ExecutorEvent] = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        seen += ex.poll()
        done = {e.job_id for e in seen if (e.kind == "running") == (until == "running") or
                (until == "running" and e.kind != "running")}
        if job_ids <= done:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no {until} event for {job_ids - {e.job_id for e in seen}}: {seen}")


def _end(events: list[ExecutorEvent], job_id: int) -> ExecutorEvent:
    return next(e for e in events if e.job_id == job_id and e.kind != "running")


def _pid(workdir: Path, rank: int = 0, timeout_s: float = 30.0) -> int:
    path = workdir / ("pid" if rank == 0 else f"pid-rank{rank}")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if path.exists() and path.read_text().strip().isdigit():
            return int(path.read_text().strip())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def _group_gone(pgid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _drain(ex: RayExecutor, timeout_s: float = 30.0) -> None:
    deadline = time.time() + timeout_s
    while ex.stopping() and time.time() < deadline:
        time.sleep(0.05)


def test_bad_options_name_the_option(ray_cluster: RayCluster) -> None:  # noqa: F811
    with pytest.raises(AidcError, match="option placement"):
        RayExecutor(address=ray_cluster.address, placement="anywhere")
    with pytest.raises(AidcError, match="option address"):
        RayExecutor(address="127.0.0.2")
    with pytest.raises(AidcError, match="option cpus_per_part"):
        RayExecutor(address=ray_cluster.address, cpus_per_part=-1)


def test_discover_lists_the_nodes_with_their_gpus(ex: RayExecutor) -> None:
    nodes = {n.name: n for n in ex.discover()}
    assert {"ray-head", "ray-w1", "ray-w2"} <= set(nodes)
    assert nodes["ray-w1"].gpus == nodes["ray-w2"].gpus == 8 and nodes["ray-head"].gpus == 0
    assert nodes["ray-w1"].state == "active" and nodes["ray-w1"].cpu_cores == 4 and nodes["ray-w1"].ram_gib > 0


def test_a_one_node_job_runs_on_the_node_aidc_chose_with_its_gpus(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, "echo gpus=$CUDA_VISIBLE_DEVICES ip=$AIDC_MASTER_ADDR rank=$AIDC_NODE_RANK/$AIDC_NNODES",
               (("ray-w2", (0, 1)),))
    handle = ex.launch(req)
    events = _events(ex, {req.job_id})
    running = next(e for e in events if e.kind == "running")
    assert running.nodes == ("ray-w2",) and running.attempt == 1
    assert _end(events, req.job_id).kind == "succeeded"
    out = ex.log_path(handle).read_text()
    gpus = out.split("gpus=")[1].split()[0].split(",")
    assert len(gpus) == 2 and "ip=127.0.0.4 rank=0/1" in out  # ray-w2 listens on 127.0.0.4


def test_with_ray_placement_ray_chooses_and_the_running_event_says_where(ray_cluster: RayCluster,  # noqa: F811
                                                                          tmp_path: Path) -> None:
    ex = RayExecutor(address=ray_cluster.address, placement="ray")
    req = _req(tmp_path, "echo ran", (("wherever-0", (0, 1, 2)), ("wherever-1", (0, 1, 2))))
    ex.launch(req)
    events = _events(ex, {req.job_id})
    nodes = next(e for e in events if e.kind == "running").nodes
    assert sorted(nodes) == ["ray-w1", "ray-w2"]  # a gang of GPU parts: one on each GPU node
    assert _end(events, req.job_id).kind == "succeeded"
    _drain(ex)


def test_exit_codes_map_to_succeeded_and_failed(ex: RayExecutor, tmp_path: Path) -> None:
    ok = _req(tmp_path, "exit 0", (("ray-w1", (0,)),))
    bad = _req(tmp_path, "echo failing; exit 3", (("ray-w1", (1,)),))
    ex.launch(ok)
    ex.launch(bad)
    events = _events(ex, {ok.job_id, bad.job_id})
    assert (_end(events, ok.job_id).kind, _end(events, ok.job_id).exit_code) == ("succeeded", 0)
    assert (_end(events, bad.job_id).kind, _end(events, bad.job_id).exit_code) == ("failed", 3)
    assert (bad.workdir / "exit_code").read_text().strip() == "3"


def test_a_gang_runs_its_parts_on_distinct_nodes(ex: RayExecutor, tmp_path: Path) -> None:
    cmd = ("echo rank=$AIDC_NODE_RANK nnodes=$AIDC_NNODES master=$AIDC_MASTER_ADDR:$AIDC_MASTER_PORT "
           "gpus=$CUDA_VISIBLE_DEVICES")
    req = _req(tmp_path, cmd, (("ray-w1", (0, 1, 2, 3)), ("ray-w2", (0, 1, 2, 3))))
    ex.launch(req)
    events = _events(ex, {req.job_id})
    assert next(e for e in events if e.kind == "running").nodes == ("ray-w1", "ray-w2")
    assert _end(events, req.job_id).kind == "succeeded"
    rank0, rank1 = (req.workdir / "output.log").read_text(), (req.workdir / "output-rank1.log").read_text()
    assert "rank=0 nnodes=2 master=127.0.0.3:" in rank0 and "rank=1 nnodes=2 master=127.0.0.3:" in rank1
    assert rank0.split("master=")[1].split()[0] == rank1.split("master=")[1].split()[0]
    assert all(len(text.split("gpus=")[1].split()[0].split(",")) == 4 for text in (rank0, rank1))


def test_a_gang_fails_when_one_part_fails_and_its_other_parts_stop(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, 'if [ "$AIDC_NODE_RANK" = 1 ]; then sleep 0.5; exit 5; fi; sleep 60',
               (("ray-w1", (0,)), ("ray-w2", (0,))))
    ex.launch(req)
    rank0_pid = _pid(req.workdir)
    event = _end(_events(ex, {req.job_id}), req.job_id)
    assert (event.kind, event.exit_code) == ("failed", 5) and "part 1" in event.reason
    assert _group_gone(rank0_pid)  # the healthy part was stopped, not left running
    _drain(ex)


def test_a_gang_that_cannot_fit_stays_pending_not_half_started(ex: RayExecutor, tmp_path: Path) -> None:
    blocker = _req(tmp_path, "sleep 60", (("ray-w1", (0,)),))
    ex.launch(blocker)
    _events(ex, {blocker.job_id}, until="running")
    gang = _req(tmp_path, "echo started", (("ray-w1", tuple(range(8))), ("ray-w2", tuple(range(8)))))
    ex.launch(gang)
    deadline = time.time() + 3.0
    while time.time() < deadline:  # ray-w1 has 7 GPUs free: Ray reserves neither bundle
        assert [e for e in ex.poll() if e.job_id == gang.job_id] == []
        time.sleep(0.1)
    assert not any(gang.workdir.glob("pid*")) and not any(gang.workdir.glob("output*.log"))
    ex.cancel(gang.job_id, _handle_of(ex, gang.job_id), grace_s=1.0)
    ex.cancel(blocker.job_id, _handle_of(ex, blocker.job_id), grace_s=1.0)
    _drain(ex)
    full = _req(tmp_path, "echo fits", (("ray-w1", tuple(range(8))), ("ray-w2", tuple(range(8)))))
    ex.launch(full)  # the cancelled gang and the blocker released everything
    assert _end(_events(ex, {full.job_id}), full.job_id).kind == "succeeded"
    assert not any(gang.workdir.glob("pid*"))


def _handle_of(ex: RayExecutor, job_id: int) -> dict:
    return dict(ex._jobs[job_id].handle)  # noqa: SLF001 (the handle the server would have stored)


def test_cancel_returns_at_once_and_the_processes_are_gone(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, "sleep 60 & sleep 60; wait", (("ray-w1", (0, 1)),))
    handle = ex.launch(req)
    pid = _pid(req.workdir)
    _events(ex, {req.job_id}, until="running")
    t0 = time.monotonic()
    ex.cancel(req.job_id, handle, grace_s=2.0)
    ex.cancel(req.job_id, handle, grace_s=2.0)  # idempotent
    assert time.monotonic() - t0 < 0.5
    assert _group_gone(pid)
    _drain(ex)
    assert ex.stopping() == 0 and ex.poll() == [] and req.job_id not in ex.watched()


def test_max_runtime_is_enforced(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, "sleep 60", (("ray-w2", (0,)),), max_runtime_s=1.0)
    ex.launch(req)
    pid = _pid(req.workdir)
    t0 = time.time()
    event = _end(_events(ex, {req.job_id}), req.job_id)
    assert event.kind == "failed" and "max_runtime_s" in event.reason and time.time() - t0 < 10
    assert _group_gone(pid)
    _drain(ex)


def test_reattach_from_a_new_driver_finds_a_running_job(ray_cluster: RayCluster, tmp_path: Path) -> None:  # noqa: F811
    import ray

    first = RayExecutor(address=ray_cluster.address)
    req = _req(tmp_path, "sleep 2; echo finished", (("ray-w1", (0,)), ("ray-w2", (0,))))
    handle = json.loads(json.dumps(first.launch(req)))  # as stored in the database
    _events(first, {req.job_id}, until="running")
    ray.shutdown()  # the server process is gone; detached actors and group stay
    second = RayExecutor(address=ray_cluster.address)  # a new driver connection
    assert second.reattach(req.job_id, handle)
    gone = {**handle, "actors": ["aidc-job-0-1-0"], "pg": "aidc-job-0-1", "workdir": str(tmp_path / "gone")}
    assert not second.reattach(0, gone)  # a job whose actors are gone: aidc requeues it
    event = _end(_events(second, {req.job_id}), req.job_id)
    assert event.kind == "succeeded" and "finished" in (req.workdir / "output.log").read_text(), event
    _drain(second)


def test_the_same_attempt_is_never_started_twice(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, "sleep 2; echo once", (("ray-w1", (0,)),))
    ex.launch(req)
    with pytest.raises(AidcError, match="already on Ray"):
        ex.launch(req)
    assert _end(_events(ex, {req.job_id}), req.job_id).kind == "succeeded"  # the first launch is untouched
    assert (req.workdir / "output.log").read_text() == "once\n"


def test_reattach_by_workdir_when_the_handle_was_never_saved(ex: RayExecutor, tmp_path: Path) -> None:
    req = _req(tmp_path, "sleep 1", (("ray-w2", (0,)),))
    ex.launch(req)
    other = RayExecutor(address=ex.address)
    assert other.reattach(req.job_id, {"workdir": str(req.workdir)})
    assert _end(_events(other, {req.job_id}), req.job_id).kind == "succeeded"
    ex.cancel(req.job_id, _handle_of(ex, req.job_id), grace_s=0.5)
    _drain(ex)


@pytest.mark.slow
def test_killing_the_node_of_a_running_job_reports_it_lost(ray_cluster: RayCluster,  # noqa: F811
                                                           tmp_path: Path) -> None:
    ray_cluster.add_worker("ray-w3", "127.0.0.5")
    ray_cluster.wait_for_nodes(len(ray_cluster.nodes))
    ex = RayExecutor(address=ray_cluster.address)
    req = _req(tmp_path, "sleep 60", (("ray-w3", (0, 1)),))
    ex.launch(req)
    pid = _pid(req.workdir)
    _events(ex, {req.job_id}, until="running")
    t0 = time.time()
    ray_cluster.kill_node("ray-w3")
    event = _end(_events(ex, {req.job_id}, timeout_s=60), req.job_id)
    lost_after_s = time.time() - t0
    assert event.kind == "lost" and lost_after_s < 30, (event, lost_after_s)
    assert _group_gone(pid)  # the job's processes died with their node
    # aidc requeues it; its inventory still names ray-w3: Ray places the next attempt on a live node
    again = LaunchRequest(job_id=req.job_id, name=req.name, command="echo again",
                          workdir=req.workdir.parent / "attempt-2", placement=(("ray-w3", (0, 1)),), attempt=2)
    ex.launch(again)
    events = _events(ex, {req.job_id})
    assert next(e for e in events if e.kind == "running").nodes[0] in {"ray-w1", "ray-w2"}
    assert _end(events, req.job_id).kind == "succeeded"
    assert "ray-w3" in {n.name for n in ex.discover() if n.state == "down"}


# -- end to end, through a real `aidc server` --------------------------------------------------------
def _spec(tmp: Path, names: list[str]) -> Path:
    path = tmp / "raydc.yaml"
    path.write_text(datacenter_yaml(names))
    return path


class _Client:
    def __init__(self, server) -> None:  # noqa: ANN001 (tests.server.live.Server)
        self.server = server
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{server.port}",
                                 headers={"Authorization": f"Bearer {server.token()}"}, timeout=30)

    def submit(self, **spec) -> int:  # noqa: ANN003
        r = self.http.post("/api/v1/jobs", json={"spec": spec})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def job(self, job_id: int) -> dict:
        return self.http.get(f"/api/v1/jobs/{job_id}").json()

    def wait(self, job_id: int, statuses: set[str], timeout_s: float = 60.0) -> dict:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never reached {statuses}: {self.job(job_id)}; "
                             f"{self.http.get(f'/api/v1/jobs/{job_id}/events').json()}")


@pytest.fixture
def ray_server(ray_cluster: RayCluster, tmp_path: Path) -> Iterator[_Client]:  # noqa: F811
    from tests.server.live import Server

    options = {"address": ray_cluster.address, "namespace": "aidc-e2e"}
    server = Server(tmp_path, spec=_spec(tmp_path, ["ray-w1", "ray-w2"]), AIDC_EXECUTOR="ray",
                    AIDC_EXECUTOR_OPTIONS=json.dumps(options)).start()
    try:
        yield _Client(server)
    finally:
        server.stop()


@pytest.mark.slow
def test_jobs_run_through_aidc_server_on_ray(ray_server: _Client) -> None:
    one = ray_server.submit(name="one", command="echo hello from $AIDC_JOB_ID on $CUDA_VISIBLE_DEVICES", gpus=2)
    gang = ray_server.submit(name="gang", command="echo part $AIDC_NODE_RANK of $AIDC_NNODES", gpus=16, nodes=2)
    bad = ray_server.submit(name="bad", command="exit 4", gpus=1)
    long = ray_server.submit(name="long", command="sleep 120", gpus=1)
    assert ray_server.wait(one, {"succeeded", "failed"})["status"] == "succeeded"
    done = ray_server.wait(gang, {"succeeded", "failed"})
    assert done["status"] == "succeeded" and sorted(n for n, _ in done["placement"]) == ["ray-w1", "ray-w2"]
    failed = ray_server.wait(bad, {"succeeded", "failed"})
    assert (failed["status"], failed["exit_code"]) == ("failed", 4)
    logs = ray_server.server.aidc("job", "logs", str(one))
    assert logs.returncode == 0 and f"hello from {one} on " in logs.stdout, logs.stderr
    ray_server.wait(long, {"running"})
    pid = _pid(_workdir(ray_server, long))
    out = ray_server.server.aidc("job", "cancel", str(long))
    assert out.returncode == 0, out.stderr
    assert ray_server.wait(long, {"cancelled"})["status"] == "cancelled"
    assert _group_gone(pid)


@pytest.mark.slow
def test_a_tenant_that_requires_isolation_is_refused_on_ray(ray_server: _Client) -> None:
    """Ray runs every job as the raylet's user with no namespace: it cannot keep one job from another."""
    r = ray_server.http.put("/api/v1/tenants/default/sandbox", json={"isolation": "required"})
    assert r.status_code == 200, r.text
    refused = ray_server.http.post("/api/v1/jobs", json={"spec": {"name": "x", "command": "id", "gpus": 1}})
    assert refused.status_code == 422 and refused.json()["field"] == "tenant"
    assert "requires isolated jobs and the ray executor cannot isolate" in refused.json()["detail"]
    ray_server.http.put("/api/v1/tenants/default/sandbox", json={"isolation": "best_effort"})
    assert ray_server.wait(ray_server.submit(name="y", command="id", gpus=1), {"succeeded", "failed"})["status"] == "succeeded"


def _workdir(client: _Client, job_id: int) -> Path:
    job = client.job(job_id)
    return client.server.tmp / "data" / "jobs" / str(job_id) / f"attempt-{job['attempts']}"


@pytest.mark.slow
def test_a_job_on_a_killed_node_is_requeued_and_finishes_elsewhere(tmp_path: Path) -> None:
    """On a Ray cluster that is exactly aidc's inventory (its own, so the shared one keeps its nodes)."""
    from tests.server.live import Server

    cluster = RayCluster(head_ip="127.0.0.8")
    try:
        cluster.start(workers=2, first_worker_ip=9, prefix="loss")  # loss-w1 on .9, loss-w2 on .10
        options = {"address": cluster.address, "namespace": "aidc-loss"}
        server = Server(tmp_path, spec=_spec(tmp_path, ["loss-w1", "loss-w2"]), AIDC_EXECUTOR="ray",
                        AIDC_EXECUTOR_OPTIONS=json.dumps(options)).start()
        try:
            client = _Client(server)
            job_id = client.submit(name="survivor", command="sleep 4; echo finished on $AIDC_MASTER_ADDR", gpus=8)
            short = [client.submit(name=f"q{i}", command="sleep 1", gpus=1) for i in range(3)]
            job = client.wait(job_id, {"running"})
            victim = job["placement"][0][0]
            _pid(_workdir(client, job_id))
            cluster.kill_node(victim)
            done = client.wait(job_id, {"succeeded", "failed"}, timeout_s=90)
            events = client.http.get(f"/api/v1/jobs/{job_id}/events").json()
            assert done["status"] == "succeeded" and done["attempts"] >= 2, (done, events)
            assert any(e["reason"].startswith("requeued:") and "died" in e["reason"] for e in events), events
            survivor = done["placement"][0][0]
            assert survivor != victim
            survivor_ip = {"loss-w1": "127.0.0.9", "loss-w2": "127.0.0.10"}[survivor]
            assert f"finished on {survivor_ip}" in server.aidc("job", "logs", str(job_id)).stdout
            for other in short:  # nothing accepted is lost
                assert client.wait(other, {"succeeded", "failed"})["status"] == "succeeded"
            # aidc learns from Ray that the node is gone and takes it out of service (no new plans on it)
            deadline = time.time() + 20
            while time.time() < deadline:
                node = next(n for n in client.http.get("/api/v1/nodes").json() if n["name"] == victim)
                if node["status"] == "down":
                    break
                time.sleep(0.5)
            assert (node["status"], node["status_reason"]) == ("down", "engine: ray reports the node down")
        finally:
            server.stop()
    finally:
        cluster.stop()
