"""The control-plane step of `aidc demo`: a real server on 127.0.0.1 running jobs from two tenants."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

DEMO_JOBS = [  # (tenant, spec): 4 virtual GPUs in all, so some wait
    ("default", {"name": "prep-data", "kind": "data", "command": "echo cleaning shards; sleep 2; echo done", "gpus": 1,
                 "estimated_runtime_s": 2}),
    ("default", {"name": "train-small", "kind": "train", "command": "echo step 1..100; sleep 3; echo saved ckpt", "gpus": 2,
                 "estimated_runtime_s": 3}),
    ("team-b", {"name": "eval-b", "kind": "eval", "command": "echo evaluating; sleep 2", "gpus": 2, "estimated_runtime_s": 2}),
    ("team-b", {"name": "finetune-b", "kind": "finetune", "command": "echo tuning; sleep 2", "gpus": 4,
                "estimated_runtime_s": 2}),
    # a job that looks around: whose uid it has, what processes it sees, whether the server's data is there
    ("team-b", {"name": "look-around", "kind": "custom", "gpus": 0, "command":
                'echo "runs as $USER (uid $(id -u)); sees $(ls /proc | grep -c "^[0-9]") processes"; '
                'cat "$DEMO_DATA_DIR/admin.token" 2>/dev/null || echo "the server\'s admin token: not visible"'}),
]


def _demo_port(preferred: int = 8700) -> int:
    """8700 (the server's default) when free, so the dashboard URL is the same each run; else any."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0


def run_operate_demo(out, spec: Path) -> None:  # out: rich Console
    """Start a server in this process, submit jobs as two tenants, show the queue until all finish."""
    import httpx
    import uvicorn

    from aidc.cli.jobs import jobs_table
    from aidc.server.app import create_app
    from aidc.server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="aidc-demo-") as tmp:
        token = "aidc_demo-admin-token"
        app = create_app(Settings(data_dir=Path(tmp), bootstrap_token=token, schedule_interval_s=0.1,
                                  initial_datacenter=spec))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_demo_port(), log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        try:
            out.print(f"control plane on {url} (SQLite in {tmp}, local executor, {spec.name})")
            for tenant, job in DEMO_JOBS:
                job = {**job, "env": {"DEMO_DATA_DIR": tmp}}
                r = httpx.post(f"{url}/api/v1/jobs", json={"spec": job, "tenant": tenant}, headers=headers)
                r.raise_for_status()
            time.sleep(0.6)
            out.print(jobs_table(_jobs(url, headers)))
            deadline = time.time() + 60
            while time.time() < deadline and any(j["status"] in ("pending", "starting", "running") for j in _jobs(url, headers)):
                time.sleep(0.5)
            out.print(jobs_table(_jobs(url, headers)))
            look = next(j for j in _jobs(url, headers) if j["name"] == "look-around")
            log_text = httpx.get(f"{url}/api/v1/jobs/{look['id']}/logs", headers=headers).text.strip()
            out.print("job look-around (team-b): " + " | ".join(log_text.splitlines()))
            usage = httpx.get(f"{url}/api/v1/usage", headers=headers).json()
            out.print("usage: " + "; ".join(f"{u['tenant']} {u['jobs']} jobs, {u['gpu_hours'] * 3600:.0f} GPU-s" for u in usage))
            pred = httpx.get(f"{url}/api/v1/predictor", headers=headers).json()
            if pred.get("enabled"):  # what `aidc predictor` says: it learns run times from the finished jobs
                out.print(f"run-time predictor: learning; it predicts run times once {pred['min_jobs']} jobs have finished "
                          "(from user, name, command, requested time), refitting every "
                          f"{pred['refit_s']:.0f} s; see `aidc predictor`")
            keep_serving(out, url, token)
        finally:
            server.should_exit = True
            thread.join(10)


def keep_serving(out, url: str, token: str) -> None:  # out: rich Console
    """On a terminal, keep the server and its dashboard up until Ctrl-C; otherwise (CI) return at once."""
    import sys

    if not sys.stdout.isatty():
        out.print(f"dashboard was at {url}/ui/ (not a terminal, so the server stops now)")
        return
    out.print(f"[bold]dashboard: {url}/ui/[/]  sign in with the token [bold]{token}[/]; Ctrl-C stops the server")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping the control plane")


def _jobs(url: str, headers: dict) -> list[dict]:
    import httpx

    return list(reversed(httpx.get(f"{url}/api/v1/jobs", headers=headers).json()))
