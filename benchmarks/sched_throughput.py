"""Scheduler throughput: placements per second for 10,000 pending jobs on 1,000 nodes; prints JSON.

    python benchmarks/sched_throughput.py [--runs 5]

One call of `aidc.scheduling.schedule` on a snapshot of 1,000 idle 8-GPU nodes (8 NVLink domains of
one node, 125-node leaf groups) and 10,000 pending jobs with Philly's size mix (most 1 GPU, some
2-32). A cycle places jobs until the cluster is full, so placements/s = started jobs / wall time of
the call (median of --runs). Snapshot construction is not timed: the control plane keeps it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, Quota, schedule

SIZES = [1] * 80 + [2] * 6 + [4] * 7 + [8] * 5 + [16] * 1 + [32] * 1


def snapshot(n_nodes: int = 1000, n_jobs: int = 10_000, seed: int = 0) -> ClusterSnapshot:
    rng = random.Random(seed)
    nodes = tuple(NodeState(f"n{i:04d}", 8, 8, "H100", None, f"n{i:04d}", i // 125, f"r{i // 4}", f"f{i // 250}", 1.3)
                  for i in range(n_nodes))
    pending = tuple(PendingJob(k, rng.choice(SIZES), float(k), f"t{k % 4}", rng.randint(0, 3),
                               float(rng.randint(60, 86400)), None, 0.0) for k in range(n_jobs))
    quotas = tuple(Quota(f"t{i}", 2000) for i in range(4))
    return ClusterSnapshot(0.0, nodes, pending, (), quotas)


def measure(snap: ClusterSnapshot, policy: str, placement: str, runs: int) -> dict:
    walls, started = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        plan = schedule(snap, policy=policy, placement=placement)
        walls.append(time.perf_counter() - t0)
        started = len(plan.to_start)
    wall = statistics.median(walls)
    return {"placements": started, "wall_s": round(wall, 4), "placements_per_s": round(started / wall)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    snap = snapshot()
    out = {"nodes": len(snap.nodes), "pending": len(snap.pending), "results": {}}
    for policy in ("fifo", "sjf", "srtf", "tiresias", "priority", "psrtf", "gittins", "fairshare", "easy"):
        out["results"][f"{policy}+consolidate"] = measure(snap, policy, "consolidate", a.runs)
    for placement in ("topology", "power", "fgd"):
        out["results"][f"fifo+{placement}"] = measure(snap, "fifo", placement, a.runs)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
