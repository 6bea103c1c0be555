"""The fleet-health step of `aidc demo`: two node agents, a GPU fault drill, the drain, the resume, the repair."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NODES = ("gpu-a", "gpu-b")
# counts to 30, saving its step each 0.2 s and resuming from the saved one: what a drained job needs
JOB_COMMAND = ('f="$AIDC_CHECKPOINT_DIR/step"; s=$(cat "$f" 2>/dev/null || echo 0); echo "start at step $s on $AIDC_NODE"; '
               'while [ "$s" -lt 30 ]; do s=$((s+1)); echo "$s" > "$f.tmp" && mv "$f.tmp" "$f"; sleep 0.2; done; '
               'echo "done at step $s on $AIDC_NODE"')


def run_fleet_demo(out) -> None:  # out: rich Console
    """A server with the agent executor, an agent per node (virtual GPUs), a job, then XID 79 on its node."""
    import httpx
    import uvicorn

    from aidc.server.app import create_app
    from aidc.server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="aidc-fleet-") as tmp_name:
        tmp = Path(tmp_name)
        token = "aidc_fleet-demo-token"
        app = create_app(Settings(data_dir=tmp / "server", bootstrap_token=token, executor="agent",
                                  schedule_interval_s=0.05, heartbeat_interval_s=0.5, repair_check_retry_s=0.5))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        agents: list[subprocess.Popen[bytes]] = []
        try:
            api.post("/api/v1/users", json={"name": "agents", "role": "agent", "tenant": None}).raise_for_status()
            agent_token = api.post("/api/v1/tokens", json={"user": "agents", "ttl_days": 1}).json()["token"]
            env = {**os.environ, "AIDC_URL": url, "AIDC_TOKEN": agent_token}  # agents get an agent-role token
            for name in NODES:
                log = open(tmp / f"agent-{name}.log", "wb")
                agents.append(subprocess.Popen(
                    [sys.executable, "-m", "aidc.cli.main", "agent", "--node", name, "--gpus", "4", "--interval", "0.5",
                     "--work-dir", str(tmp / name), "--drill", str(tmp / f"drill-{name}.jsonl")],
                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            _wait(lambda: len(api.get("/api/v1/nodes").json()) == len(NODES), 60)
            out.print(f"control plane on {url} with the agent executor; agents on {', '.join(NODES)} (4 virtual GPUs each)")
            (tmp / "ckpt").mkdir()
            (tmp / "ckpt").chmod(0o777)  # the tenant's jobs run as its own uid and write their checkpoints here
            api.post("/api/v1/tenants", json={"name": "default", "sandbox": {"volumes": [
                {"name": "ckpt", "host_path": str(tmp / "ckpt"), "access": "rw"}]}}).raise_for_status()
            job = api.post("/api/v1/jobs", json={"spec": {"name": "resumable", "kind": "train", "gpus": 4,
                                                           "command": JOB_COMMAND, "checkpoint_dir": str(tmp / "ckpt")}})
            job_id = job.json()["id"]
            _wait(lambda: (tmp / "ckpt" / "step").exists() and int((tmp / "ckpt" / "step").read_text() or 0) >= 8, 60)
            node = api.get(f"/api/v1/jobs/{job_id}").json()["placement"][0][0]
            out.print(f"job {job_id} runs on {node}; drill: GPU 1 of {node} reports XID 79 (fell off the bus)")
            with open(tmp / f"drill-{node}.jsonl", "a") as f:
                f.write(json.dumps({"gpu": 1, "xid": 79}) + "\n")
            _wait(lambda: api.get(f"/api/v1/jobs/{job_id}").json()["status"] in ("succeeded", "failed"), 90)
            _wait(lambda: any(n["name"] == node and n["status"] == "active" for n in api.get("/api/v1/nodes").json()), 30)
            _show(out, api, job_id, node)
        finally:
            for proc in agents:
                proc.send_signal(signal.SIGTERM)
            for proc in agents:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            server.should_exit = True
            thread.join(10)


def _show(out, api, job_id: int, node: str) -> None:  # out: rich Console; api: httpx.Client
    from rich.table import Table

    table = Table("when", "what", "change", "by", "why", title="what happened")
    events = [("node " + node, e) for e in api.get(f"/api/v1/nodes/{node}/events").json()]
    events += [(f"job {job_id}", e) for e in api.get(f"/api/v1/jobs/{job_id}/events").json()]
    for what, e in sorted(events, key=lambda x: x[1]["at_s"]):
        change = f"{e['from_status'] or 'new'} -> {e['to_status']}" if e["to_status"] else ""
        table.add_row(time.strftime("%H:%M:%S", time.localtime(e["at_s"])), what, change, e["actor"], e["reason"])
    out.print(table)
    logs = api.get(f"/api/v1/jobs/{job_id}/logs").text.strip().splitlines()
    out.print("job log (the attempt that finished): " + " | ".join(logs))
    repair = api.get("/api/v1/repairs").json()[0]
    out.print(f"repair {repair['id']} of {repair['node']}: {repair['rule']} ({repair['reason']}), {repair['status']} "
              f"after {repair['checks']} check(s): {repair['check_output']}")


def _wait(condition, timeout_s: float) -> None:  # noqa: ANN001
    deadline = time.time() + timeout_s
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(f"the fleet demo did not get there within {timeout_s:g} s")
        time.sleep(0.1)
