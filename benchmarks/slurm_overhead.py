"""Benchmark aidc's submit-to-running overhead on Slurm: straight `sbatch` vs through an aidc server, side by side.

Starts a loopback Slurm (tests/executors/slurm_cluster.py) and one `aidc server` with the Slurm executor,
then alternates: a job submitted with `sbatch`, then the same job submitted to aidc's HTTP API. Each
job's first command writes the wall-clock time it started; submit-to-running is that minus the time
just before the submission. Prints one JSON document with both medians and their ratio (target <= 1.2).
  .venv/bin/python benchmarks/slurm_overhead.py [--runs 10] [--submit rest|cli]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_RATIO = 1.2


def _wait_started(path: Path, timeout_s: float = 60.0) -> float:
    """The start time the job wrote into `path`."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if path.exists():
            text = path.read_text().strip()
            if text:
                return float(text)
        time.sleep(0.005)
    raise RuntimeError(f"the job never wrote {path}")


def _wait_gone(cluster, timeout_s: float = 30.0) -> None:  # noqa: ANN001
    """Until no job of the cluster is pending or running (each run starts on an idle cluster)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not any(j.get("job_state") in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING") for j in cluster.squeue_json()):
            return
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="jobs per path (default 10)")
    parser.add_argument("--submit", choices=["rest", "cli"], default="rest", help="how aidc submits to Slurm")
    parser.add_argument("--schedule-interval-s", type=float, default=0.2, help="the server's loop period (its default)")
    args = parser.parse_args()

    import httpx

    from tests.executors.slurm_cluster import SlurmCluster, slurm_missing
    from tests.server.live import Server
    from tests.specs import named_nodes_yaml

    why = slurm_missing()
    if why:
        print(json.dumps({"error": why}))
        sys.exit(2)
    tmp = Path(tempfile.mkdtemp(prefix="aidc-slurm-bench-"))
    cluster = SlurmCluster(nodes=4).start()
    server = None
    try:
        spec = tmp / "dc.yaml"
        spec.write_text(named_nodes_yaml("loopback-slurm", cluster.nodes))
        options = {"conf": str(cluster.conf), "bin_dir": cluster.bin_dir, "poll_interval_s": 0.5}
        if args.submit == "rest":
            options.update(rest_url=cluster.rest_url, jwt=cluster.token())
        server = Server(tmp, spec=spec, AIDC_EXECUTOR="slurm", AIDC_EXECUTOR_OPTIONS=json.dumps(options),
                        AIDC_SCHEDULE_INTERVAL_S=str(args.schedule_interval_s)).start()
        api = httpx.Client(base_url=f"http://127.0.0.1:{server.port}",
                           headers={"Authorization": f"Bearer {server.token()}"}, timeout=30)
        direct, through = [], []
        for i in range(args.runs + 1):  # the first pair warms both paths up and is not counted
            mark = tmp / f"sbatch-{i}"
            t0 = time.time()
            subprocess.run([str(Path(cluster.bin_dir) / "sbatch"), "--parsable", "--nodelist=node1", "--gres=gpu:1",
                            f"--chdir={tmp}", "--output=/dev/null", "--no-requeue",
                            f"--wrap=date +%s.%N > {mark}"], env=cluster.env, check=True, capture_output=True)
            sbatch_s = _wait_started(mark) - t0
            _wait_gone(cluster)
            mark = tmp / f"aidc-{i}"
            t0 = time.time()
            r = api.post("/api/v1/jobs", json={"spec": {"name": f"bench{i}", "command": f"date +%s.%N > {mark}",
                                                         "gpus": 1}})
            r.raise_for_status()
            aidc_s = _wait_started(mark) - t0
            _wait_gone(cluster)
            if i:
                direct.append(sbatch_s)
                through.append(aidc_s)
        ratio = statistics.median(through) / statistics.median(direct)
        print(json.dumps({
            "benchmark": "slurm_submit_to_running",
            "cluster": f"loopback Slurm 22.05, {len(cluster.nodes)} slurmd x 8 fake GPUs",
            "runs": args.runs, "aidc_submits_via": args.submit, "schedule_interval_s": args.schedule_interval_s,
            "sbatch_median_s": round(statistics.median(direct), 3),
            "aidc_median_s": round(statistics.median(through), 3),
            "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO,
            "sbatch_s": [round(x, 3) for x in direct], "aidc_s": [round(x, 3) for x in through],
            "note": "aidc path: HTTP POST /api/v1/jobs -> scheduling loop -> Slurm executor -> Slurm; "
                    "running = the job's first command ran",
        }, indent=2))
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
