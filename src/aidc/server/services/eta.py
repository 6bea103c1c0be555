"""When will each pending job start? Forward-simulate the current queue with the digital twin.

Design note. The live snapshot becomes a small trace for `aidc.sim`: running jobs enter first (at
t=0, with their remaining estimate as duration), then the pending jobs in queue order, all on a
cluster made of the snapshot's schedulable nodes. The simulator replays it with the same policy and
placement the live loop uses (the same `aidc.scheduling` code), so a job's simulated start is when
the live scheduler would start it if every estimate held. Jobs without `estimated_runtime_s` are
assumed to run `DEFAULT_RUNTIME_S` (or their `max_runtime_s`), and the ETA says so.
"""

from __future__ import annotations

from aidc.scheduling import ClusterSnapshot, NodeState
from aidc.sim.cluster import ClusterModel, Partition
from aidc.sim.engine import SimConfig, simulate
from aidc.sim.jobs import SimJob, Trace

DEFAULT_RUNTIME_S = 3600.0
QUEUED_AT_S = 0.001  # pending jobs arrive just after the running ones, so every policy sees those first
MAX_JOBS = 2000  # beyond this the ETA of the queue's tail is not worth a cycle's time


def estimate_starts(snapshot: ClusterSnapshot, *, policy: str, placement: str,
                    max_runtime_s: dict[object, float] | None = None) -> dict[object, float]:
    """Pending job id -> expected start (epoch s, like snapshot.now_s). Jobs that never fit are left out."""
    max_runtime_s = max_runtime_s or {}
    nodes = [NodeState(n.name, n.gpus, n.gpus, n.gpu_model, None, n.nvlink_domain, n.leaf_group, n.rack, n.feed,
                       n.gpu_power_kw, (), True) for n in snapshot.nodes if n.schedulable]
    if not nodes or not snapshot.pending:
        return {}
    jobs: list[SimJob] = []
    ids: dict[int, object] = {}
    for r in snapshot.running:
        remaining = r.remaining_s(snapshot.now_s)
        duration = remaining if remaining is not None else max_runtime_s.get(r.job_id, DEFAULT_RUNTIME_S) / 2
        jobs.append(SimJob(len(jobs), 0.0, max(duration, 1.0), r.gpus, r.tenant, priority=r.priority + 10_000))
    for p in snapshot.pending[:MAX_JOBS]:
        duration = p.remaining_estimate_s or max_runtime_s.get(p.job_id, DEFAULT_RUNTIME_S)
        ids[len(jobs)] = p.job_id
        jobs.append(SimJob(len(jobs), QUEUED_AT_S, max(duration, 1.0), p.gpus, p.tenant, priority=p.priority,
                           gpu_models=p.gpu_models))
    trace = Trace(jobs, source="live queue")
    cluster = ClusterModel([Partition(None, nodes)], isolated=False, source="live snapshot")
    result = simulate(trace, cluster, SimConfig(policy=policy, placement=placement, restart_overhead="none", end_lag_s=0.0))
    out = result.jobs  # Outcomes: arrays indexed like the trace; start NaN = never started
    return {ids[int(jid)]: round(snapshot.now_s + max(0.0, float(start) - QUEUED_AT_S), 1)
            for jid, start in zip(out.job_id, out.start_s) if int(jid) in ids and start == start}
