"""Jobs as real processes through the local executor: output, exit codes, limits, cancel, drain, restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from aidc.server.app import create_app
from aidc.server.settings import Settings
from aidc.sim.readers import read_aidc
from tests.server.conftest import Api, stop_live_jobs


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def test_a_job_runs_with_its_gpus_and_logs(local_api: Api) -> None:
    spec = {"name": "hello", "command": "echo gpus=$CUDA_VISIBLE_DEVICES job=$AIDC_JOB_NAME; exit 3", "gpus": 2}
    job = local_api.submit(spec).json()
    done = local_api.wait_status(job["id"], {"succeeded", "failed"})
    assert done["status"] == "failed" and done["exit_code"] == 3 and done["reason"] == "exit code 3"
    log = local_api.call("GET", f"/api/v1/jobs/{job['id']}/logs")
    assert log.text.strip() == "gpus=0,1 job=hello"
    assert int(log.headers["X-Log-Offset"]) == len(log.text.encode())


def test_gpus_are_shared_out_without_overlap(local_api: Api) -> None:
    ids = [local_api.submit({"name": f"j{i}", "command": "echo $CUDA_VISIBLE_DEVICES; sleep 0.5", "gpus": 2}).json()["id"]
           for i in range(4)]
    outs = []
    for job_id in ids:
        assert local_api.wait_status(job_id, {"succeeded"})["status"] == "succeeded"
        outs.append(local_api.call("GET", f"/api/v1/jobs/{job_id}/logs").text.strip())
    assert sorted(outs[:2]) == ["0,1", "2,3"]  # the first two ran side by side on disjoint GPUs


def test_runtime_limit_kills_the_job(local_api: Api) -> None:
    job = local_api.submit({"name": "slow", "command": "sleep 30", "gpus": 1, "max_runtime_s": 0.5}).json()
    done = local_api.wait_status(job["id"], {"failed", "succeeded"})
    assert done["status"] == "failed" and "max_runtime_s exceeded" in done["reason"]


def test_cancel_stops_the_process_group(local_api: Api) -> None:
    job = local_api.submit({"name": "sleeper", "command": "sleep 60 & sleep 60; wait", "gpus": 1}).json()
    running = local_api.wait_status(job["id"], {"running"})
    pid = running and _job_pid(local_api, job["id"])
    assert _pid_alive(pid)
    local_api.call("POST", f"/api/v1/jobs/{job['id']}/cancel", json={"reason": "test"})
    deadline = time.time() + 15
    while _pid_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(pid)
    assert local_api.call("GET", f"/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"


def _job_pid(api: Api, job_id: int) -> int:
    from aidc.server.models import JobModel

    deadline = time.time() + 10
    while time.time() < deadline:
        with api.client.app.state.sessions() as s:
            job = s.get(JobModel, job_id)
            if job.handle.get("pid"):
                return int(job.handle["pid"])
        time.sleep(0.05)
    raise AssertionError("no pid")


def test_drain_requeues_and_ends_in_maintenance(local_api: Api) -> None:
    job = local_api.submit({"name": "long", "command": "sleep 60", "gpus": 4}).json()
    local_api.wait_status(job["id"], {"running"})
    node = local_api.call("POST", "/api/v1/nodes/local-n01/drain", json={"reason": "xid 79"}).json()
    assert node["status"] == "draining"
    requeued = local_api.wait_status(job["id"], {"pending"})
    assert requeued["status"] == "pending"
    events = local_api.call("GET", f"/api/v1/jobs/{job['id']}/events").json()
    assert events[-1]["reason"] == "requeued: node local-n01 is draining (xid 79)" and events[-1]["actor"] == "scheduler"
    deadline = time.time() + 10
    while time.time() < deadline:
        nodes = local_api.call("GET", "/api/v1/nodes").json()
        if nodes[0]["status"] == "maintenance":
            break
        time.sleep(0.05)
    assert nodes[0]["status"] == "maintenance"
    time.sleep(0.3)
    assert local_api.call("GET", f"/api/v1/jobs/{job['id']}").json()["status"] == "pending"  # nowhere to run
    local_api.call("POST", "/api/v1/nodes/local-n01/uncordon", json={})
    assert local_api.wait_status(job["id"], {"running"})["status"] == "running"
    r = local_api.call("POST", "/api/v1/nodes/local-n01/fly", json={})
    assert r.status_code == 404


def test_export_is_a_trace_the_simulator_reads(local_api: Api, tmp_path: Path) -> None:
    ids = [local_api.submit({"name": f"e{i}", "command": "sleep 0.2", "gpus": 1 + i, "estimated_runtime_s": 1}).json()["id"]
           for i in range(3)]
    for job_id in ids:
        local_api.wait_status(job_id, {"succeeded"})
    text = local_api.call("GET", "/api/v1/export/trace.csv").text
    path = tmp_path / "history.csv"
    path.write_text(text)
    trace = read_aidc(path)
    assert len(trace.jobs) == 3
    assert sorted(j.gpus for j in trace.jobs) == [1, 2, 3]
    assert all(0.15 < j.duration_s < 5 for j in trace.jobs)


def test_metrics_show_queue_and_allocation(local_api: Api) -> None:
    local_api.submit({"name": "m1", "command": "sleep 30", "gpus": 4})
    local_api.submit({"name": "m2", "command": "sleep 30", "gpus": 4})
    time.sleep(0.5)
    text = local_api.call("GET", "/metrics").text
    assert 'aidc_queue_depth{tenant="default"} 1.0' in text
    assert 'aidc_gpus_allocated{gpu_model="any",tenant="default"} 4.0' in text
    assert "aidc_scheduling_cycle_seconds_count" in text and "aidc_api_request_seconds_count" in text


def test_restart_reattaches_running_jobs_and_requeues_lost_ones(tmp_path: Path) -> None:
    cfg = dict(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
               bootstrap_token="aidc_test-admin-token", schedule_interval_s=0.05)
    spec = (Path(__file__).resolve().parents[2] / "examples" / "datacenters" / "local.yaml").read_text()
    app = create_app(Settings(**cfg))
    with TestClient(app) as client:
        api = Api(client=client, admin="aidc_test-admin-token", tmp=tmp_path)
        api.call("POST", "/api/v1/datacenters", json={"yaml": spec})
        keep = api.submit({"name": "keeps-running", "command": "sleep 1.5; echo finished", "gpus": 2}).json()["id"]
        lose = api.submit({"name": "gets-lost", "command": "sleep 60", "gpus": 2}).json()["id"]
        api.wait_status(keep, {"running"})
        api.wait_status(lose, {"running"})
        lost_pid = _job_pid(api, lose)
    # the server is gone (its loop stopped, nothing cancelled); one job's process dies meanwhile
    os.killpg(lost_pid, 9)
    app2 = create_app(Settings(**cfg))
    with TestClient(app2) as client:
        api = Api(client=client, admin="aidc_test-admin-token", tmp=tmp_path)
        done = api.wait_status(keep, {"succeeded", "failed"})
        assert done["status"] == "succeeded" and done["attempts"] == 1  # re-attached, not started twice
        assert "finished" in api.call("GET", f"/api/v1/jobs/{keep}/logs").text
        events = api.call("GET", f"/api/v1/jobs/{lose}/events").json()
        assert any(e["reason"] == "requeued: lost across a server restart" for e in events)
        rerun = api.wait_status(lose, {"running"})
        assert rerun["attempts"] == 2
        stop_live_jobs(app2)


def test_a_cancel_racing_the_scheduler_retries_instead_of_failing(local_api: Api) -> None:
    """The API's copy of a job is stale when the loop changed it meanwhile: the cancel reads it again."""
    import pytest
    from sqlalchemy.orm.exc import StaleDataError

    from aidc.server.models import JobModel
    from aidc.server.security import Principal, Role
    from aidc.server.services import jobs

    job_id = local_api.submit({"name": "race", "command": "sleep 30", "gpus": 1}).json()["id"]
    local_api.wait_status(job_id, {"running"})
    sessions = local_api.client.app.state.sessions
    admin = Principal(user_id=1, user="admin", role=Role.ADMIN, tenant_id=None, tenant=None, token_id=0)
    with sessions() as api_session, sessions() as loop_session:
        stale = api_session.get(JobModel, job_id)  # the API read it ...
        moved = loop_session.get(JobModel, job_id)
        moved.preemptions += 1  # ... then the loop changed it (its version moved)
        loop_session.commit()
        assert stale.version < moved.version
        with pytest.raises(StaleDataError):  # one try alone loses the race ...
            jobs._cancel(api_session, actor=admin, job_id=job_id, reason="")
        api_session.rollback()
        api_session.get(JobModel, job_id).priority = 0  # (the stale copy again, as before the first try)
        moved.preemptions += 1
        loop_session.commit()
        assert jobs.cancel(api_session, actor=admin, job_id=job_id).status == "cancelled"  # ... the retry wins
    assert local_api.call("GET", f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"
