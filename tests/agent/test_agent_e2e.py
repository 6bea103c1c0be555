"""Node agents as real processes: jobs run through them, a killed node is detected within three
heartbeats and its job resumes from its checkpoint elsewhere, a silent node never causes a double start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.cluster import AgentCluster, checkpointing_job

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path):  # noqa: ANN201
    c = AgentCluster(tmp_path, nodes=3, interval_s=0.5).start()
    try:
        yield c
    finally:
        c.stop()


def test_jobs_run_on_agents_with_telemetry_and_logs(cluster: AgentCluster) -> None:
    job_id = cluster.submit({"name": "hello", "kind": "custom", "gpus": 2,
                             "command": "echo gpus=$CUDA_VISIBLE_DEVICES node=$AIDC_NODE; sleep 1.5"})
    cluster.wait(lambda: cluster.job(job_id)["status"] == "succeeded")
    node = cluster.job(job_id)["placement"][0][0]
    assert cluster.logs(job_id).strip() == f"gpus=0,1 node={node}"
    latest = cluster.telemetry(node)["latest"]
    assert len(latest["gpus"]) == 4 and latest["host"]["mem_total_gib"] > 0
    two = cluster.submit({"name": "gang", "kind": "custom", "gpus": 8, "nodes": 2,
                          "command": "echo rank $AIDC_NODE_RANK of $AIDC_NNODES"})
    cluster.wait(lambda: cluster.job(two)["status"] == "succeeded")
    assert cluster.logs(two).strip() == "rank 0 of 2"


def test_a_lost_node_is_detected_and_its_job_resumes_elsewhere(cluster: AgentCluster, tmp_path: Path) -> None:
    job_id = cluster.submit(checkpointing_job("resume-me", tmp_path / "ckpt"))
    cluster.wait(lambda: "start at step 0" in cluster.logs(job_id))
    cluster.wait(lambda: int((tmp_path / "ckpt" / "step").read_text() or 0) >= 5)
    victim = cluster.job(job_id)["placement"][0][0]
    killed_s = cluster.kill_node(victim)
    cluster.wait(lambda: cluster.node(victim)["status"] == "down", timeout_s=10)
    down = next(e for e in cluster.node_events(victim) if e["to_status"] == "down")
    assert down["actor"] == "health" and "no heartbeat" in down["reason"]
    assert down["at_s"] - killed_s <= 3 * cluster.interval_s + 0.5  # three heartbeats, plus one scheduling cycle
    cluster.wait(lambda: cluster.job(job_id)["status"] == "succeeded", timeout_s=60)
    job = cluster.job(job_id)
    assert job["attempts"] == 2 and job["placement"][0][0] != victim
    log = cluster.logs(job_id)
    resumed_at = int(log.split("start at step ")[1].split()[0])
    assert resumed_at >= 5 and f"done at step 25 on {job['placement'][0][0]}" in log
    reasons = [e["reason"] for e in cluster.job_events(job_id)]
    assert any(r.startswith(f"requeued: node {victim} is down") for r in reasons)


def test_silent_heartbeats_never_start_a_job_twice(cluster: AgentCluster, tmp_path: Path) -> None:
    job_id = cluster.submit(checkpointing_job("partitioned", tmp_path / "ckpt", steps=30))
    cluster.wait(lambda: cluster.job(job_id)["status"] == "running" and cluster.logs(job_id))
    node = cluster.job(job_id)["placement"][0][0]
    cluster.drill(node, pause_heartbeats_s=3.0)  # the agent goes quiet; its job goes on
    cluster.wait(lambda: cluster.node(node)["status"] == "down", timeout_s=10)
    cluster.wait(lambda: cluster.job(job_id)["attempts"] == 2 and cluster.job(job_id)["status"] == "running")
    # back: told to stop attempt 1, passes its check, and is active again
    cluster.wait(lambda: cluster.node(node)["status"] == "active", timeout_s=20)
    first = cluster.work_dir(node) / "jobs" / str(job_id) / "attempt-1-rank0"
    cluster.wait(lambda: (first / "exit_code").exists() or not _alive(first / "pid"), timeout_s=15)
    cluster.wait(lambda: cluster.job(job_id)["status"] == "succeeded", timeout_s=60)
    to_running = [e for e in cluster.job_events(job_id) if e["to_status"] == "running"]
    assert len(to_running) == 2  # one per attempt, never two for the same one
    starts = [p for p in cluster.tmp.glob(f"agent-*/jobs/{job_id}/attempt-*")]
    assert sorted(p.name for p in starts) == ["attempt-1-rank0", "attempt-2-rank0"]
    repairs = cluster.http.get("/api/v1/repairs").json()
    assert [(r["node"], r["rule"], r["status"]) for r in repairs] == [(node, "heartbeat", "passed")]


def _alive(pid_file: Path) -> bool:
    import os

    try:
        os.killpg(int(pid_file.read_text().strip()), 0)
        return True
    except (ProcessLookupError, ValueError, FileNotFoundError):
        return False


def test_the_documented_two_node_example_runs(cluster: AgentCluster) -> None:
    import yaml

    from tests.conftest import EXAMPLES

    spec = yaml.safe_load((EXAMPLES / "jobs" / "two-node-hello.yaml").read_text())
    job_id = cluster.submit(spec)
    cluster.wait(lambda: cluster.job(job_id)["status"] == "succeeded")
    first = cluster.job(job_id)["placement"][0][0]
    assert cluster.logs(job_id).startswith(f"rank 0 of 2 on {first}, GPUs 0,1,2,3, master 127.0.0.1:")


def test_an_agent_refused_by_the_server_says_why_and_exits(cluster: AgentCluster) -> None:
    import subprocess

    base = [cluster.server.bin, "agent", "--work-dir", str(cluster.tmp / "refused"), "--interval", "0.2"]
    bad_token = subprocess.run([*base, "--node", "n9", "--gpus", "4", "--token", "aidc_not-a-token"],
                               env=cluster.server.env, capture_output=True, text=True, timeout=60)
    assert bad_token.returncode != 0 and "HTTP 401" in bad_token.stderr + bad_token.stdout
    wrong_gpus = subprocess.run([*base, "--node", "n1", "--gpus", "2"], env=cluster.server.env, capture_output=True,
                                text=True, timeout=60)
    out = wrong_gpus.stderr + wrong_gpus.stdout
    assert wrong_gpus.returncode != 0 and "node 'n1' has 4 GPUs in the inventory but its agent found 2" in out
    assert "Traceback" not in out
