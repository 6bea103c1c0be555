"""Lower bounds on a replay's average JCT that no policy, clairvoyant or not, can beat.

Two bounds, both valid for every schedule the engine could produce (any order, any preemption,
any placement), taken per partition and combined with `max`:

* run time: a job ends no earlier than its submit plus its duration (it runs alone at once);
* fluid: a partition of G GPUs does at most G GPU-seconds of work per second. Treat it as one
  machine of speed G that may share itself among jobs, each job's work being gpus x duration; SRPT
  minimises the total flow time on such a machine over every preemptive schedule, shared or not
  (Schrage 1968), and every real schedule is one of them.

Restart overheads and the 1-s end lag are left out (they only add), so a replay's average JCT is
always at least `avg_jct_s`. The gap between a policy and the bound is what any scheduler could still
win; where `1 - bound / baseline` is under a target gain, no policy reaches that gain.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from aidc.sim.cluster import ClusterModel
from aidc.sim.jobs import SimJob, Trace


@dataclass(frozen=True)
class JctBound:
    avg_jct_s: float  # the bound: per partition the larger of the two sums, averaged over the jobs
    run_time_avg_s: float  # average duration (every job starts at its submit)
    fluid_avg_s: float  # average flow time of SRPT on one machine per partition as fast as its GPUs
    jobs: int  # jobs counted (those that fit their partition)

    def max_gain_pct(self, baseline_avg_jct_s: float) -> float:
        """The largest average-JCT reduction against a baseline that any policy could reach (%)."""
        return round(100.0 * (1.0 - self.avg_jct_s / baseline_avg_jct_s), 1) if baseline_avg_jct_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {"avg_jct_s": round(self.avg_jct_s, 1), "run_time_avg_s": round(self.run_time_avg_s, 1),
                "fluid_avg_s": round(self.fluid_avg_s, 1), "jobs": self.jobs}


def srpt_total_flow_s(jobs: list[tuple[float, float]], speed: float) -> float:
    """Total flow time (s) of preemptive SRPT on one machine of `speed` for (submit_s, work) jobs."""
    arrivals = sorted(jobs)
    total, now, i, n = 0.0, 0.0, 0, len(arrivals)
    present: list[tuple[float, float]] = []  # (remaining work, submit_s) of the jobs that have arrived
    while i < n or present:
        if not present:
            now = max(now, arrivals[i][0])
        while i < n and arrivals[i][0] <= now:
            heapq.heappush(present, (arrivals[i][1], arrivals[i][0]))
            i += 1
        work, submit_s = heapq.heappop(present)
        finish = now + work / speed
        if i < n and arrivals[i][0] < finish:  # an arrival comes first: serve until then, then re-rank
            nxt = arrivals[i][0]
            heapq.heappush(present, (work - (nxt - now) * speed, submit_s))
            now = nxt
        else:
            now = finish
            total += finish - submit_s
    return total


def jct_lower_bound(trace: Trace, cluster: ClusterModel) -> JctBound:
    """The average-JCT lower bound of `trace` on `cluster` (see the module docstring)."""
    gpus = [p.gpus for p in cluster.partitions]
    groups: dict[int, list[SimJob]] = {}
    for job in trace.jobs:
        i = cluster.partition_of(job.tenant)  # the engine's rule
        if i is None or job.gpu_equiv > gpus[i]:
            continue  # it can never run there, so it is in no replay's JCT either
        groups.setdefault(i, []).append(job)
    run_total = fluid_total = bound_total = 0.0
    count = 0
    for i, jobs in groups.items():
        run_s = sum(j.duration_s for j in jobs)
        fluid_s = srpt_total_flow_s([(j.submit_s, j.gpu_equiv * j.duration_s) for j in jobs], float(gpus[i]))
        run_total, fluid_total, bound_total = run_total + run_s, fluid_total + fluid_s, bound_total + max(run_s, fluid_s)
        count += len(jobs)
    if not count:
        return JctBound(0.0, 0.0, 0.0, 0)
    return JctBound(bound_total / count, run_total / count, fluid_total / count, count)
