"""A model served as a control-plane job (kind serve) and a prompt passed through the API to it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.server.conftest import Api
from tests.server.pg import free_port


@pytest.mark.slow
def test_a_trained_model_deployed_as_a_serve_job_answers_through_the_api(local_api: Api, tmp_path: Path) -> None:
    from aidc.workloads.train.config import TrainConfig
    from aidc.workloads.train.loop import train
    from tests.workloads.conftest import gpt_train_config, prepared_prose

    data = prepared_prose(tmp_path / "prose")
    model_dir = tmp_path / "model"
    train(TrainConfig.model_validate(gpt_train_config(data, model_dir)), resume=False, console=None)
    port = free_port()
    local_api.share("default", [{"name": "models", "host_path": str(model_dir), "access": "ro"}])
    spec = {"name": "tiny-gpt-api", "kind": "serve", "gpus": 1, "preemptible": False,
            "command": f"{sys.executable} -m aidc.cli.main serve {model_dir} --port {port}",
            "env": {"AIDC_ENDPOINT": f"http://127.0.0.1:{port}", "OMP_NUM_THREADS": "1"}}
    job = local_api.submit(spec).json()
    assert local_api.wait_status(job["id"], {"running"})["status"] == "running"
    listed = local_api.call("GET", "/api/v1/deployments").json()
    assert listed[0]["endpoint"] == f"http://127.0.0.1:{port}" and listed[0]["status"] == "running"
    answer = None
    for _ in range(120):  # the server inside the job needs a few seconds to load
        r = local_api.call("POST", f"/api/v1/deployments/{job['id']}/prompt", json={"prompt": "the king", "max_tokens": 8})
        if r.status_code == 200:
            answer = r.json()
            break
        assert r.status_code == 409, r.text  # "did not answer" until it is up
        import time

        time.sleep(0.25)
    assert answer is not None and answer["usage"]["completion_tokens"] >= 1 and isinstance(answer["text"], str)
    other = local_api.user_token("mo", "member", "team-b")
    assert local_api.call("POST", f"/api/v1/deployments/{job['id']}/prompt", other, json={"prompt": "x"}).status_code == 404


def test_prompts_go_only_to_running_loopback_deployments(local_api: Api) -> None:
    not_serve = local_api.submit({"name": "t", "command": "sleep 30", "gpus": 1}).json()
    r = local_api.call("POST", f"/api/v1/deployments/{not_serve['id']}/prompt", json={"prompt": "hi"})
    assert r.status_code == 422 and "not a deployment" in r.json()["detail"]
    remote = local_api.submit({"name": "far", "kind": "serve", "command": "sleep 30", "gpus": 1,
                               "env": {"AIDC_ENDPOINT": "http://10.1.2.3:8000"}}).json()
    local_api.wait_status(remote["id"], {"running"})
    r = local_api.call("POST", f"/api/v1/deployments/{remote['id']}/prompt", json={"prompt": "hi"})
    assert r.status_code == 422 and "only passed to loopback" in r.json()["detail"]


def test_a_deployment_with_replicas_becomes_one_job_per_replica(api: Api) -> None:
    spec = {"name": "chat", "kind": "serve", "command": "sleep 60", "gpus": 1, "replicas": 3,
            "workload_config": {"port": 18001}}
    r = api.submit(spec, tenant="research")
    assert r.status_code == 201, r.text
    ids = r.json()["replica_ids"]
    assert len(ids) == 3 and r.json()["id"] == ids[0]
    jobs = [api.call("GET", f"/api/v1/jobs/{i}").json() for i in ids]
    assert [j["name"] for j in jobs] == ["chat-r0", "chat-r1", "chat-r2"]
    assert [j["spec"]["workload_config"]["port"] for j in jobs] == [18001, 18002, 18003]
    assert [j["spec"]["env"]["AIDC_REPLICA"] for j in jobs] == ["0", "1", "2"]
    listed = [d for d in api.call("GET", "/api/v1/deployments").json() if d["deployment"] == "chat"]
    assert sorted((d["replica"], d["endpoint"]) for d in listed) == [
        (0, "http://127.0.0.1:18001"), (1, "http://127.0.0.1:18002"), (2, "http://127.0.0.1:18003")]
    bad = api.submit({**spec, "name": "one-url", "env": {"AIDC_ENDPOINT": "http://127.0.0.1:9"}}, tenant="research")
    assert bad.status_code == 422 and "replicas: with several replicas give workload_config.port" in bad.json()["detail"]
    for i in ids:
        api.call("POST", f"/api/v1/jobs/{i}/cancel", json={})
