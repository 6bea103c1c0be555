"""Node loss with node agents: how fast a dead node is detected (in heartbeat intervals), how fast its
job runs again elsewhere, and how much work the checkpoint saved. Prints JSON (median of several runs).

Each run: `aidc server --executor agent` and three `aidc agent` processes on this host (4 virtual GPUs
each, heartbeat every --interval s); a job that saves its step every 0.2 s runs; its node is killed
(agent and job processes, SIGKILL); the run ends when the job has finished on another node.
Target (issue 6): detected within 3 heartbeat intervals; the requeued job resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.agent.cluster import AgentCluster, checkpointing_job  # noqa: E402


LOOP_POLL_S = 0.05  # AIDC_SCHEDULE_INTERVAL_S of tests.server.live.Server


def one_run(interval_s: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="aidc-nodeloss-") as tmp_name:
        tmp = Path(tmp_name)
        cluster = AgentCluster(tmp, nodes=3, interval_s=interval_s).start()
        try:
            ckpt = tmp / "ckpt"
            job_id = cluster.submit(checkpointing_job("bench", ckpt, steps=30))
            cluster.wait(lambda: ckpt.joinpath("step").exists() and int(ckpt.joinpath("step").read_text() or 0) >= 10,
                         timeout_s=60)
            victim = cluster.job(job_id)["placement"][0][0]
            step_at_kill = int(ckpt.joinpath("step").read_text())
            killed_s = cluster.kill_node(victim)
            cluster.wait(lambda: cluster.node(victim)["status"] == "down", timeout_s=30, poll_s=0.02)
            down_s = next(e["at_s"] for e in cluster.node_events(victim) if e["to_status"] == "down")
            cluster.wait(lambda: cluster.job(job_id)["status"] == "succeeded", timeout_s=120)
            events = cluster.job_events(job_id)
            rerun_s = [e["at_s"] for e in events if e["to_status"] == "running"][-1]
            log = cluster.logs(job_id)
            resumed = int(log.split("start at step ")[1].split()[0])
            return {"detect_s": down_s - killed_s, "detect_intervals": (down_s - killed_s) / interval_s,
                    "kill_to_running_again_s": rerun_s - killed_s, "step_at_kill": step_at_kill,
                    "resumed_at_step": resumed, "steps_lost": step_at_kill - resumed}
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.5, help="heartbeat interval, s")
    args = parser.parse_args()
    t0 = time.time()
    runs = [one_run(args.interval) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(json.dumps({"benchmark": "node_loss", "heartbeat_interval_s": args.interval, "runs": args.runs,
                      "median": {k: round(v, 3) for k, v in med.items()},
                      "max_detect_intervals": round(max(r["detect_intervals"] for r in runs), 3),
                      "target_detect_intervals": 3.0,
                      # the rule fires once 3 intervals have passed since the last heartbeat; the kill comes
                      # after that heartbeat, so detection is <= 3 intervals plus the scheduling loop's poll
                      # period (0.05 s here) and one cycle
                      "loop_poll_s": LOOP_POLL_S,
                      "met": max(r["detect_s"] for r in runs) <= 3 * args.interval + LOOP_POLL_S + 0.05
                      and all(r["resumed_at_step"] > 0 for r in runs),
                      "per_run": runs, "wall_s": round(time.time() - t0, 1)}, indent=2))


if __name__ == "__main__":
    main()
