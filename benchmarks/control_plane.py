"""Benchmark the control plane: submissions/s and latency on SQLite, scheduling-cycle time, submit-to-start.

Prints one JSON document. Peers are documented figures, not runs: Slurm's 1,000 submissions/s
(slurm.conf high-throughput guide) and Kubernetes' 5 s pod-startup SLO.
  .venv/bin/python benchmarks/control_plane.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SLURM_SUBMITS_PER_S = 1000.0
K8S_POD_STARTUP_SLO_S = 5.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def start_server(tmp: Path):  # -> tests.server.live.Server, running
    """`aidc server` on the local example with the server's default loop period (what users get)."""
    from tests.server.live import Server

    # the per-tenant abuse limits (services/limits.py) are raised: this measures the server, not the limit
    return Server(tmp, aidc=str(REPO / ".venv" / "bin" / "aidc"), AIDC_SCHEDULE_INTERVAL_S="0.2",
                  AIDC_SUBMIT_RATE_PER_TENANT="1e9", AIDC_SUBMIT_BURST="1000000000",
                  AIDC_MAX_PENDING_JOBS_PER_TENANT="1000000000").start()


async def _submit_load(url: str, token: str, total: int, concurrency: int) -> tuple[float, list[float]]:
    import httpx

    latencies: list[float] = []
    counter = iter(range(total))
    headers = {"Authorization": f"Bearer {token}"}
    spec = {"name": "bench", "command": "true", "gpus": 1, "estimated_runtime_s": 60}

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in counter:
            t0 = time.perf_counter()
            r = await client.post(f"{url}/api/v1/jobs", json={"spec": spec}, headers=headers)
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 201, r.text

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = '{"spec": {"name": "bench", "command": "true", "gpus": 1, "estimated_runtime_s": 60}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
"""


def _ms(text: str) -> float:
    """wrk's '47.78ms' / '1.34s' / '900.00us' -> milliseconds."""
    for suffix, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


def _wrk(url: str, token: str, seconds: int, concurrency: int, tmp: Path) -> dict:
    """Load from `wrk` (C, one thread), so the load generator costs the 2-core machine little."""
    import shutil

    script = tmp / "post.lua"
    script.write_text(WRK_SCRIPT.replace("TOKEN", token))
    out = subprocess.run([shutil.which("wrk") or "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s",
                          str(script), f"{url}/api/v1/jobs"], capture_output=True, text=True, timeout=seconds + 30).stdout
    stats = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["Requests/sec:"]:
            stats["submissions_per_s"] = float(parts[1])
        elif parts[:1] in (["50%"], ["99%"]):
            stats[f"p{parts[0][:-1]}_ms"] = round(_ms(parts[1]), 2)
        elif "requests in" in line:
            stats["submissions"] = int(parts[0])
    return stats


def bench_submissions(total: int, concurrency: int) -> dict:
    """Sustained submissions on SQLite, scheduling loop running; the site is cordoned so nothing executes.

    With `wrk` installed (Debian package) it drives the load; else a Python client does, which
    competes with the server for the same two cores and under-reports the server.
    """
    import shutil

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        server = start_server(tmp)
        try:
            url, token = f"http://127.0.0.1:{server.port}", server.token()
            import httpx

            httpx.post(f"{url}/api/v1/nodes/local-n01/cordon", json={}, headers={"Authorization": f"Bearer {token}"})
            if shutil.which("wrk"):
                stats = _wrk(url, token, max(3, total // 500), concurrency, tmp)
                return {"load": "wrk", "concurrency": concurrency, **stats,
                        "ratio_vs_slurm_documented": round(stats["submissions_per_s"] / SLURM_SUBMITS_PER_S, 3)}
            wall_s, lat = asyncio.run(_submit_load(url, token, total, concurrency))
        finally:
            server.stop()
    return {"load": "python", "submissions": total, "concurrency": concurrency, "wall_s": round(wall_s, 3),
            "submissions_per_s": round(total / wall_s, 1), "p50_ms": round(quantile(lat, 0.5) * 1000, 2),
            "p99_ms": round(quantile(lat, 0.99) * 1000, 2),
            "ratio_vs_slurm_documented": round(total / wall_s / SLURM_SUBMITS_PER_S, 3)}


class NullExecutor:
    """Accepts launches without running anything: isolates the cycle's own cost."""

    name = "null"

    def __init__(self) -> None:
        from aidc.executors.base import Capabilities

        self.capabilities = Capabilities()

    def launch(self, request) -> dict:  # noqa: ANN001
        return {"workdir": str(request.workdir)}

    def cancel(self, job_id, handle, *, grace_s=10.0) -> None:  # noqa: ANN001
        pass

    def reattach(self, job_id, handle, max_runtime_s=None) -> bool:  # noqa: ANN001
        return True

    def poll(self) -> list:
        return []

    def log_path(self, handle) -> None:  # noqa: ANN001
        return None


def bench_cycle(nodes: int, pending: int, runs: int) -> dict:
    """Cycles with `pending` queued jobs (1-4 GPUs) on `nodes` 8-GPU nodes (SQLite file).

    The first cycle fills the empty cluster (thousands of starts); the steady cycle decides again
    over the rest of the queue with the cluster full, which is what every later cycle costs.
    """
    from aidc.server.db import create_schema, make_engine, make_session_factory
    from aidc.server.models import DatacenterModel, JobModel, NodeModel, TenantModel, UserModel
    from aidc.server.services.scheduler import Scheduler

    out: dict[str, list[float]] = {"first_cycle_s": [], "steady_cycle_s": [], "started_first": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            engine = make_engine(f"sqlite:///{d}/bench.db")
            create_schema(engine)
            sessions = make_session_factory(engine)
            now = time.time()
            with sessions() as s:
                s.add_all([TenantModel(id=1, name="t", gpu_quota={}, created_s=now),
                           UserModel(id=1, name="u", role="admin", created_s=now), DatacenterModel(id=1, name="dc", spec={}, imported_s=now)])
                s.flush()
                s.add_all([NodeModel(datacenter_id=1, name=f"n{i:04d}", rack=f"r{i // 8}", gpu_model="H100-SXM", gpus=8,
                                     cpu_cores=64, ram_gib=512, max_power_kw=10.2) for i in range(nodes)])
                s.add_all([JobModel(name=f"j{i}", tenant_id=1, user_id=1, kind="custom",
                                    spec={"command": "true", "estimated_runtime_s": 600 + i % 3600}, gpus=1 + (i % 4 == 0) * 3,
                                    status="pending", submitted_s=now + i * 1e-3, queued_s=now + i * 1e-3) for i in range(pending)])
                s.commit()
            sched = Scheduler(executor=NullExecutor(), jobs_dir=Path(d) / "jobs", eta_interval_s=1e9)
            with sessions() as s:
                stats = sched.cycle(s)
            out["first_cycle_s"].append(stats.duration_s)
            out["started_first"].append(stats.started)
            with sessions() as s:  # a full decision over what is left (as after any submit or job end)
                sched.mark_dirty()
                sched._quiet_until_s = 0.0
                stats = sched.cycle(s)
            out["steady_cycle_s"].append(stats.duration_s)
            engine.dispose()
    return {"nodes": nodes, "gpus": nodes * 8, "pending": pending, "runs": runs,
            "first_cycle_s": round(statistics.median(out["first_cycle_s"]), 3),
            "jobs_started_in_first_cycle": int(statistics.median(out["started_first"])),
            "steady_cycle_s": round(statistics.median(out["steady_cycle_s"]), 3)}


def bench_submit_to_start(samples: int) -> dict:
    """Idle local cluster: submit one job at a time; start latency from the server's own event times."""
    import httpx

    with tempfile.TemporaryDirectory() as d:
        server = start_server(Path(d))
        lat: list[float] = []
        try:
            url = f"http://127.0.0.1:{server.port}"
            headers = {"Authorization": f"Bearer {server.token()}"}
            for i in range(samples):
                job = httpx.post(f"{url}/api/v1/jobs", json={"spec": {"name": f"s{i}", "command": "true", "gpus": 1}},
                                 headers=headers).json()
                while True:
                    events = httpx.get(f"{url}/api/v1/jobs/{job['id']}/events", headers=headers).json()
                    running = [e for e in events if e["to_status"] == "running"]
                    if running:
                        lat.append(running[0]["at_s"] - job["submitted_s"])
                        break
                    time.sleep(0.005)
        finally:
            server.stop()
    return {"samples": samples, "p50_s": round(quantile(lat, 0.5), 4), "p99_s": round(quantile(lat, 0.99), 4),
            "ratio_vs_k8s_slo": round(quantile(lat, 0.99) / K8S_POD_STARTUP_SLO_S, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args()
    quick = args.quick
    result = {
        "benchmark": "control_plane",
        "submissions_sqlite": bench_submissions(total=500 if quick else 5000, concurrency=16),
        "scheduling_cycle": bench_cycle(nodes=1000, pending=10_000, runs=1 if quick else 3),
        "submit_to_start": bench_submit_to_start(samples=10 if quick else 50),
        "targets": {"submissions_per_s": 1000, "submit_p99_ms": 50, "cycle_s": 1.0, "submit_to_start_p99_s": 1.0},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
