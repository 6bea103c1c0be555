"""A real control plane with node agents on this host: `aidc server` plus one `aidc agent` process per node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.server.live import Server
from tests.specs import named_nodes_yaml



class AgentCluster:
    """`aidc server --executor agent` and agents for nodes n1..nN (4 virtual GPUs each), stopped by PID."""

    def __init__(self, tmp: Path, nodes: int = 3, interval_s: float = 0.5) -> None:
        self.tmp, self.interval_s = tmp, interval_s
        self.names = [f"n{i + 1}" for i in range(nodes)]
        spec = tmp / "agents.yaml"
        spec.write_text(named_nodes_yaml("agents-e2e", self.names, gpus=4, cpu_cores=2, ram_gib=8))
        self.server = Server(tmp, spec=spec, AIDC_EXECUTOR="agent", AIDC_HEARTBEAT_INTERVAL_S=str(interval_s),
                             AIDC_REPAIR_CHECK_RETRY_S="0.5")
        self.agents: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> "AgentCluster":
        self.server.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10,
                                 headers={"Authorization": f"Bearer {self.server.token()}"})
        self.share_checkpoints()
        for name in self.names:
            self.start_agent(name)
        self.wait(lambda: all(n["status"] == "active" and self.telemetry(n["name"])["agent_seen_s"]
                              for n in self.nodes()), timeout_s=30)
        return self

    def share_checkpoints(self) -> None:
        """The default tenant's one volume, `ckpt` = <tmp>/ckpt read-write: where its jobs keep checkpoints."""
        (self.tmp / "ckpt").mkdir(exist_ok=True)
        (self.tmp / "ckpt").chmod(0o777)  # written by the tenant's uid
        r = self.http.put("/api/v1/tenants/default/sandbox",
                          json={"volumes": [{"name": "ckpt", "host_path": str(self.tmp / "ckpt"), "access": "rw"}]})
        assert r.status_code == 200, r.text

    def start_agent(self, name: str) -> None:
        log = open(self.tmp / f"agent-{name}-{time.time_ns()}.log", "wb")
        self.agents[name] = subprocess.Popen(
            [self.server.bin, "agent", "--node", name, "--gpus", "4", "--work-dir", str(self.work_dir(name)),
             "--interval", str(self.interval_s), "--drill", str(self.drill_file(name))],
            env=self.server.env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)

    def work_dir(self, name: str) -> Path:
        return self.tmp / f"agent-{name}"

    def drill_file(self, name: str) -> Path:
        return self.tmp / f"drill-{name}.jsonl"

    def drill(self, name: str, **fault: object) -> None:
        with open(self.drill_file(name), "a") as f:
            f.write(json.dumps(fault) + "\n")

    def kill_node(self, name: str) -> float:
        """The node dies: its agent and every job process it started get SIGKILL. Returns the time."""
        proc = self.agents[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for pid_file in self.work_dir(name).glob("jobs/*/*/pid"):
            try:
                os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ProcessLookupError, ValueError, PermissionError):
                pass
        return time.time()

    def stop(self) -> None:
        for name, proc in self.agents.items():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for pid_file in self.work_dir(name).glob("jobs/*/*/pid"):  # jobs outlive their agent on purpose
                try:
                    os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
                except (ProcessLookupError, ValueError, PermissionError):
                    pass
        self.server.stop()

    # -- API ------------------------------------------------------------------------------------
    def submit(self, spec: dict) -> int:
        r = self.http.post("/api/v1/jobs", json={"spec": spec})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def job(self, job_id: int) -> dict:
        return self.http.get(f"/api/v1/jobs/{job_id}").json()

    def job_events(self, job_id: int) -> list[dict]:
        return self.http.get(f"/api/v1/jobs/{job_id}/events").json()

    def node_events(self, name: str) -> list[dict]:
        return self.http.get(f"/api/v1/nodes/{name}/events").json()

    def nodes(self) -> list[dict]:
        return self.http.get("/api/v1/nodes").json()

    def node(self, name: str) -> dict:
        return next(n for n in self.nodes() if n["name"] == name)

    def telemetry(self, name: str) -> dict:
        return self.http.get(f"/api/v1/nodes/{name}/telemetry").json()

    def logs(self, job_id: int) -> str:
        return self.http.get(f"/api/v1/jobs/{job_id}/logs").text

    @staticmethod
    def wait(condition, timeout_s: float = 30.0, poll_s: float = 0.1):  # noqa: ANN001, ANN205
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(poll_s)
        raise AssertionError(f"not reached within {timeout_s} s")


def checkpointing_job(name: str, ckpt_dir: Path, steps: int = 25, step_s: float = 0.2) -> dict:
    """(ckpt_dir in the `ckpt` volume, see AgentCluster.share_checkpoints.) A job that counts to `steps`, saving its step after each one and resuming from the saved step."""
    command = (f'f="$AIDC_CHECKPOINT_DIR/step"; s=$(cat "$f" 2>/dev/null || echo 0); '
               f'echo "start at step $s on $AIDC_NODE attempt $AIDC_ATTEMPT"; '
               f'while [ "$s" -lt {steps} ]; do s=$((s+1)); echo "$s" > "$f.tmp" && mv "$f.tmp" "$f"; sleep {step_s}; done; '
               f'echo "done at step $s on $AIDC_NODE"')
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir.chmod(0o777)
    return {"name": name, "kind": "train", "command": command, "gpus": 4, "checkpoint_dir": str(ckpt_dir)}
