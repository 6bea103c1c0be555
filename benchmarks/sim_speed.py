"""Digital-twin speed: wall time and jobs/s per policy; prints JSON.

    python benchmarks/sim_speed.py                # Philly default + x4, and 1M synthetic jobs on 10,000 GPUs
    python benchmarks/sim_speed.py --quick        # Philly default only, one run each

Philly: the whole 2017-10/11 file (68,503 jobs) on its 11 isolated VCs, consolidated placement, as
the peers; the Helios artifact takes 169-634 s per policy at default sizes (2 processes), 1,111 s
for FIFO at x4. Synthetic: one million jobs on one shared 10,000-GPU partition (1,250 nodes x 8),
offered load 0.95, replayed in a child process so its peak memory (max RSS) is its own.
Wall times are the median of --runs runs (replay only; reading the trace is reported apart).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRACES = REPO.parent / "shared" / "traces" / "philly"
POLICIES = ["fifo", "sjf", "srtf", "tiresias"]


def philly(scale: float, policies: list[str], runs: int) -> dict:
    from aidc.sim.cluster import load_cluster
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.readers import read_trace

    t0 = time.perf_counter()
    trace = read_trace(TRACES / "philly_2017-10_11.csv.gz", "philly")
    read_s = time.perf_counter() - t0
    cluster = load_cluster(TRACES / "philly_vc_nodes.csv", scale_nodes=scale)
    out = {"jobs": len(trace), "gpus": cluster.gpus, "read_s": round(read_s, 3), "policies": {}}
    for p in policies:
        walls = [simulate(trace, cluster, SimConfig(policy=p)).wall_s for _ in range(runs)]
        wall = statistics.median(walls)
        out["policies"][p] = {"wall_s": round(wall, 3), "jobs_per_s": round(len(trace) / wall), "runs": runs}
    return out


def synthetic_child(n_jobs: int, policy: str) -> None:
    """Run in a child process: one replay, then print wall and peak memory."""
    from aidc.sim.cluster import vc_table
    from aidc.sim.engine import SimConfig, simulate
    from aidc.sim.metrics import summary
    from aidc.sim.synthetic import synthetic_trace

    t0 = time.perf_counter()
    trace = synthetic_trace(n_jobs, 10_000, load=0.95, seed=1)
    gen_s = time.perf_counter() - t0
    cluster = vc_table([("all", 1250)], isolate=False)
    res = simulate(trace, cluster, SimConfig(policy=policy))
    s = summary(res)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"policy": policy, "jobs": s["jobs"], "gpus": cluster.gpus, "generate_s": round(gen_s, 2),
                      "wall_s": round(res.wall_s, 2), "jobs_per_s": round(n_jobs / res.wall_s),
                      "peak_rss_mib": round(rss_mib), "gpu_utilization": s["gpu_utilization"],
                      "avg_queue_s": s["avg_queue_s"]}))


def synthetic(n_jobs: int, policies: list[str]) -> dict:
    out = {}
    for p in policies:
        r = subprocess.run([sys.executable, __file__, "--child", str(n_jobs), p], capture_output=True, text=True, check=True)
        out[p] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--synthetic-jobs", type=int, default=1_000_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        synthetic_child(int(a.child[0]), a.child[1])
        return
    out: dict = {}
    if (TRACES / "philly_2017-10_11.csv.gz").exists():
        out["philly_default"] = philly(1.0, POLICIES, 1 if a.quick else a.runs)
        if not a.quick:
            out["philly_x4"] = philly(0.25, POLICIES, 1)
    else:
        out["philly"] = "skipped: ../shared/traces/philly not found"
    if not a.quick:
        out["synthetic_1m_10k_gpus"] = synthetic(a.synthetic_jobs, ["fifo", "sjf"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
