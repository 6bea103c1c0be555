"""Benchmark aidc's submit-to-running overhead on Ray against submitting straight to Ray, side by side.

Prints one JSON document. One loopback Ray cluster (head 127.0.0.12, two 8-fake-GPU workers on
127.0.0.13/.14) serves both paths, run alternately, one 1-GPU job at a time:
- ray_actor: this process is a Ray driver and starts the job the way the Ray executor does (a
  detached actor in a one-bundle placement group, running the command as a subprocess): the same
  Ray work without aidc;
- aidc: `POST /api/v1/jobs` to a real `aidc server` (AIDC_EXECUTOR=ray, default loop period),
  which queues, schedules and launches it through the Ray executor;
- ray_task (for reference): a plain `@ray.remote(num_gpus=1)` task that runs the command (workers
  are reused, so it starts faster than any actor).
Submit-to-running is measured the same way for all: from just before the submit call to the
first instruction of the job's command (`date +%s.%N`, written to its log). The target is
median(aidc) / median(ray_actor) <= 1.2.
  .venv/bin/python benchmarks/ray_overhead.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COMMAND = "date +%s.%N"
TARGET_RATIO = 1.2


def _first_stamp_s(log: Path, timeout_s: float = 60.0) -> float:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if log.exists():
            text = log.read_text().split()
            if text:
                return float(text[0])
        time.sleep(0.005)
    raise RuntimeError(f"{log} never got a start stamp")


def run_ray_actor(ray: Any, actor_cls: Any, workdir: Path, index: int) -> float:
    """Straight to Ray: placement group + detached actor running the command; seconds to its first instruction."""
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    workdir.mkdir(parents=True)
    spec = {"command": COMMAND, "workdir": str(workdir), "env": {}, "rank": 0, "rank0": f"bench-{index}",
            "namespace": "bench", "log": str(workdir / "output.log"), "exit_file": str(workdir / "exit_code"),
            "pid_file": str(workdir / "pid")}
    t0 = time.time()
    pg = placement_group([{"CPU": 1.0, "GPU": 1.0}], strategy="STRICT_PACK", name=f"bench-{index}", lifetime="detached")
    actor = actor_cls.options(name=f"bench-{index}", namespace="bench", lifetime="detached", max_restarts=0,
                              max_concurrency=4, num_cpus=1.0, num_gpus=1,
                              scheduling_strategy=PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
                              ).remote(spec)
    started_s = _first_stamp_s(workdir / "output.log")
    ray.get(actor.wait.remote())
    ray.kill(actor)
    remove_placement_group(pg)
    return started_s - t0


def run_ray_task(ray: Any, task: Any, workdir: Path) -> float:
    workdir.mkdir(parents=True)
    t0 = time.time()
    ray.get(task.remote(str(workdir / "output.log")))
    return _first_stamp_s(workdir / "output.log") - t0


def _task_body(log: str) -> int:
    with open(log, "ab") as out:
        return subprocess.run(["bash", "-c", COMMAND], stdout=out, stderr=subprocess.STDOUT).returncode


def run_aidc(client: Any, data_dir: Path) -> float:
    t0 = time.time()
    r = client.post("/api/v1/jobs", json={"spec": {"name": "bench", "command": COMMAND, "gpus": 1}})
    r.raise_for_status()
    job_id = r.json()["id"]
    log = data_dir / "jobs" / str(job_id) / "attempt-1" / "output.log"
    started_s = _first_stamp_s(log)
    deadline = time.time() + 60
    while client.get(f"/api/v1/jobs/{job_id}").json()["status"] not in ("succeeded", "failed"):
        if time.time() > deadline:
            raise RuntimeError(f"aidc job {job_id} did not finish")
        time.sleep(0.02)
    return started_s - t0


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_s": round(statistics.median(values), 4), "min_s": round(ordered[0], 4),
            "max_s": round(ordered[-1], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="jobs per path (after one warm-up each)")
    args = parser.parse_args()

    import httpx
    import ray

    from aidc.executors.ray_part import JobPart
    from tests.executors.ray_cluster import RayCluster, datacenter_yaml
    from tests.server.live import Server

    tmp = Path(tempfile.mkdtemp(prefix="aidc-ray-bench-"))
    spec = tmp / "dc.yaml"
    spec.write_text(datacenter_yaml(["bench-w1", "bench-w2"]))
    cluster = RayCluster(head_ip="127.0.0.12")
    server = None
    try:
        t0 = time.time()
        cluster.start(workers=2, first_worker_ip=13, prefix="bench")
        cluster_start_s = time.time() - t0
        ray.init(address=cluster.address, _node_ip_address=cluster.head_ip, namespace="bench", log_to_driver=False,
                 logging_level="warning")
        actor_cls = ray.remote(JobPart)
        task = ray.remote(num_gpus=1, num_cpus=1)(_task_body)
        server = Server(tmp, spec=spec, aidc=str(REPO / ".venv" / "bin" / "aidc"), AIDC_SCHEDULE_INTERVAL_S="0.2",
                        AIDC_EXECUTOR="ray", AIDC_EXECUTOR_OPTIONS=json.dumps({"address": cluster.address})).start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30,
                              headers={"Authorization": f"Bearer {server.token()}"})
        times: dict[str, list[float]] = {"ray_actor": [], "aidc": [], "ray_task": []}
        for i in range(args.runs + 1):  # run 0 warms each path up and is not counted
            order = ["ray_actor", "aidc", "ray_task"] if i % 2 == 0 else ["aidc", "ray_actor", "ray_task"]
            for path in order:
                workdir = tmp / "direct" / f"{path}-{i}"
                if path == "ray_actor":
                    value = run_ray_actor(ray, actor_cls, workdir, i)
                elif path == "ray_task":
                    value = run_ray_task(ray, task, workdir)
                else:
                    value = run_aidc(client, tmp / "data")
                if i > 0:
                    times[path].append(value)
        result = {
            "benchmark": "ray_overhead",
            "what": "submit-to-running (first instruction of the job's command), one 1-GPU job at a time",
            "runs": args.runs,
            "ray_version": ray.__version__,
            "cluster": f"head {cluster.head_ip}, 2 workers x 8 fake GPUs (127.0.0.13, .14), "
                       f"started in {cluster_start_s:.1f}s",
            "ray_actor": summary(times["ray_actor"]),
            "aidc": summary(times["aidc"]),
            "ray_task_reference": summary(times["ray_task"]),
            "aidc_overhead_s": round(statistics.median(times["aidc"]) - statistics.median(times["ray_actor"]), 4),
            "ratio": round(statistics.median(times["aidc"]) / statistics.median(times["ray_actor"]), 3),
            "target_ratio": TARGET_RATIO,
        }
        result["meets_target"] = result["ratio"] <= TARGET_RATIO
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()
        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
