"""Gittins-index scheduling on learned run-time distributions (`gittins`): preemptive, no oracle.

Each job carries `runtime_samples_s`: the run times of finished jobs like it (same tenant and size)
known when it was submitted. Given the service `a` a job has received, its remaining time R is
distributed as {x - a : x in samples, x > a}. The Gittins index ranks by the smallest expected cost
per completion of serving it for some quantum D:

    cost(a) = min over D of  E[min(R, D)] / P(R <= D)        (D ranging over the residuals)

which is SRPT for a job whose class is predictable and favours a job with a good chance of ending
soon when its class mixes short and long runs. A job older than every sample is expected to need
`overdue_factor` x what it has served (0 by default: it keeps its place); a job with no samples uses
`duration_estimate_s` less its service.

Rank = (service queue, cost, submit): the queues are Tiresias's (`thresholds_gpu_s` of attained
GPU-seconds), which bounds what a misprediction costs. Costs are in GPU-seconds (x GPUs, the 2D size
Tiresias uses) unless `by_gpu_time` is off. A running job keeps the cost it had when it (re)started,
less the service since, and is preempted only by a waiting job better by `hysteresis_s` x GPUs;
`reindex_running=True` re-derives its index as it runs instead (the textbook policy, which rotates
a sweep of alike jobs like processor sharing). Decisions happen on every event (no grid).

Cost: the minimising quantum depends only on the sample tuple and how many samples the job has
outlived, so it is memoized per (tuple, count), and a job's key per job object; a cycle is then a
bisect and a few arithmetic operations per job. The memos keep the objects they were given alive and
check identity, so they never confuse two of them: the plan is a pure function of the snapshot.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from itertools import accumulate

from aidc.scheduling.placement import FreeState, Placer
from aidc.scheduling.policies import (
    INF, POLICIES, _attained, _fits_without_preemption, ordered_pass, rank_pass_split,
)
from aidc.scheduling.types import ClusterSnapshot, PendingJob, RunningJob, SchedulingPlan

_MEMO: dict[int, tuple[tuple[float, ...], list[float], dict[int, tuple[float, float, int]]]] = {}
_MEMO_MAX = 50_000


def _prefix(samples: tuple[float, ...]) -> tuple[list[float], dict[int, tuple[float, float, int]]]:
    entry = _MEMO.get(id(samples))
    if entry is None or entry[0] is not samples:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        entry = _MEMO[id(samples)] = (samples, [0.0, *accumulate(samples)], {})
    return entry[1], entry[2]


def _best_quantum(samples: tuple[float, ...], k: int) -> tuple[float, float, int]:
    """For a job that outlived the k shortest samples: (A, n, j - k) of the minimising quantum at a = x_k,
    so that cost(a) = (A - n * a) / (j - k) for a in [x_k, x_k+1)."""
    prefix, cache = _prefix(samples)
    hit = cache.get(k)
    if hit is not None:
        return hit
    m = len(samples)
    n = m - k
    a0 = samples[k - 1] if k else 0.0
    best, arg = INF, (0.0, float(n), 1)
    base = prefix[k]
    for j in range(k + 1, m + 1):  # quantum D = x_j - a: the j - k shortest survivors end within it
        if j < m and samples[j] == samples[j - 1]:
            continue  # ties: only the last of a group is a distinct quantum (and the cheapest)
        a_num = prefix[j] - base + (m - j) * samples[j - 1]
        cost = (a_num - n * a0) / (j - k)
        if cost < best:
            best, arg = cost, (a_num, float(n), j - k)
    cache[k] = arg
    return arg


def gittins_cost_s(samples: tuple[float, ...], attained_s: float, overdue_factor: float = 1.0) -> float:
    """Expected service per completion (s) of the best quantum for a job that has run `attained_s`."""
    k = bisect.bisect_right(samples, attained_s)  # samples <= attained: outlived
    if k >= len(samples):
        return overdue_factor * attained_s
    a_num, n, d = _best_quantum(samples, k)
    return max(0.0, (a_num - n * attained_s) / d)


@dataclass(frozen=True)
class Gittins:
    """Preemptive Gittins index on per-class run-time samples (see the module docstring)."""

    thresholds_gpu_s: tuple[float, ...] = (18_000.0,)  # service levels first (as Tiresias), then the index
    overdue_factor: float = 0.0  # a job older than all its samples: expected remaining = factor x served
    hysteresis_s: float = 600.0  # a waiting job must beat a running one by this much (x GPUs)
    by_gpu_time: bool = True
    reindex_running: bool = False  # True: re-derive a running job's index as it runs (textbook Gittins)
    starve_after_s: float | None = None  # a job passed over this long (waiting, not served) goes first
    name: str = "gittins"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def _cost(self, samples: tuple[float, ...], estimate_s: float | None, attained_gpu_s: float, gpus: int) -> float:
        g = max(gpus, 1)
        a = attained_gpu_s / g
        if samples:
            cost = gittins_cost_s(samples, a, self.overdue_factor)
        elif estimate_s is not None:
            cost = estimate_s - a if estimate_s > a else self.overdue_factor * a
        else:
            cost = INF
        return cost * g if self.by_gpu_time else cost

    def pending_key(self, p: PendingJob) -> float:
        return self._cost(p.runtime_samples_s, p.duration_estimate_s, p.attained_gpu_s, p.gpus)

    def running_key(self, r: RunningJob, now_s: float) -> float:
        ran_s = now_s - r.started_s
        attained = r.attained_at_start_gpu_s + r.gpus * (ran_s if ran_s > 0.0 else 0.0)
        est = None
        if r.remaining_at_start_s is not None:  # what the estimate implies in total: served + remaining
            est = attained / max(r.gpus, 1) + max(0.0, r.remaining_at_start_s - ran_s)
        margin = self.hysteresis_s * (max(r.gpus, 1) if self.by_gpu_time else 1)
        return self._cost(r.runtime_samples_s, est, attained, r.gpus) - margin

    def _pending_keys(self, pending: list[PendingJob]) -> list[float]:
        """`pending_key` per job, memoized on the job object (a pending job's key never changes)."""
        memo, out = _PENDING_MEMO, []
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        for p in pending:
            hit = memo.get(id(p))
            if hit is None or hit[0] is not p or hit[1] is not self:
                hit = memo[id(p)] = (p, self, self.pending_key(p))
            out.append(hit[2])
        return out

    def _running_keys(self, running: list[RunningJob], now_s: float) -> list[float]:
        """`running_key` per job. Between two of its samples a job's cost is linear in its service, so
        the line is memoized on the job object and only re-derived when it passes a sample."""
        memo, out = _RUNNING_MEMO, []
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        if not self.reindex_running:
            return self._frozen_keys(running, now_s)
        for r in running:
            ran_s = now_s - r.started_s
            attained = r.attained_at_start_gpu_s + r.gpus * (ran_s if ran_s > 0.0 else 0.0)
            a = attained / (r.gpus if r.gpus > 1 else 1)
            hit = memo.get(id(r))
            if hit is None or hit[0] is not r or hit[1] is not self or not hit[2] <= a < hit[3]:
                hit = memo[id(r)] = (r, self, *self._running_line(r, a))
            if hit[4] is None:
                out.append(self.running_key(r, now_s))
            else:  # cost = (A - n a) / d; key = max(0, cost) * mult - margin
                cost = (hit[4] - hit[5] * a) / hit[6]
                out.append((cost if cost > 0.0 else 0.0) * hit[7] - hit[8])
        return out

    def _frozen_keys(self, running: list[RunningJob], now_s: float) -> list[float]:
        """Keys with the index frozen at the (re)start: index then, less the GPU-seconds served since."""
        memo, out = _RUNNING_MEMO, []
        for r in running:
            hit = memo.get(id(r))
            if hit is None or hit[0] is not r or hit[1] is not self:
                hit = memo[id(r)] = (r, self, self.running_key(r, r.started_s), max(r.gpus, 1) if self.by_gpu_time else 1)
            ran_s = now_s - r.started_s
            key = hit[2] - hit[3] * (ran_s if ran_s > 0.0 else 0.0)
            floor = -self.hysteresis_s * hit[3]
            out.append(key if key > floor else floor)
        return out

    def _running_line(self, r: RunningJob, served_s: float) -> tuple:
        """(lo, hi, A, n, d, mult, margin): the linear piece of `running_key` for service in [lo, hi),
        or A = None where there is none (no samples, or older than every sample)."""
        samples = r.runtime_samples_s
        k = bisect.bisect_right(samples, served_s)
        if not samples or k >= len(samples):
            return (-INF, INF, None, 0.0, 1.0, 1, 0.0)
        a_num, n, d = _best_quantum(samples, k)
        mult = max(r.gpus, 1) if self.by_gpu_time else 1
        return (samples[k - 1] if k else -INF, samples[k], a_num, n, d, mult, self.hysteresis_s * mult)

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        pending = list(snap.pending)
        keys = self._pending_keys(pending)
        th = tuple(sorted(self.thresholds_gpu_s))  # queue = how many thresholds the service exceeds
        now = snap.now_s
        pq = [bisect.bisect_left(th, p.attained_gpu_s) for p in pending]
        cut = None if self.starve_after_s is None else now - self.starve_after_s
        if cut is not None:  # passed over since before the cut
            pq = [-1 if _passed_over_since_s(p, p.attained_gpu_s) < cut else q for q, p in zip(pq, pending)]
        if _fits_without_preemption(snap, state):  # nobody is preempted: order only the pending jobs
            order = [pending[k[-1]] for k in sorted(zip(pq, keys, [p.submit_s for p in pending], range(len(pending))))]
            return self._recheck(ordered_pass(snap, placer, order, blocking=False, name=self.name, state=state), pending, pq)
        running = list(snap.running)
        pkeys = [(q, key, p.submit_s, 1, i) for i, (q, key, p) in enumerate(zip(pq, keys, pending))]
        rq = [bisect.bisect_left(th, _attained(r, now)) for r in running]
        if cut is not None:
            # a running job's passed-over time stopped growing when it (re)started: keep it first
            rq = [-1 if _passed_over_since_s(r, r.attained_at_start_gpu_s) < r.started_s - self.starve_after_s else q
                  for q, r in zip(rq, running)]
        rkeys = [(q, key, r.submit_s, 0, i) for i, (q, key, r) in enumerate(zip(rq, self._running_keys(running, now), running))]
        return self._recheck(rank_pass_split(snap, placer, pending, pkeys, running, rkeys, name=self.name), pending, pq)

    def _recheck(self, plan: SchedulingPlan, pending: list[PendingJob], queues: list[int]) -> SchedulingPlan:
        """With `starve_after_s`: decide again when the next waiting job crosses the bound, event or not."""
        if self.starve_after_s is None:
            return plan
        started = {p.job_id for p in plan.to_start}
        cross = [_passed_over_since_s(p, p.attained_gpu_s) + self.starve_after_s
                 for p, q in zip(pending, queues) if q >= 0 and p.job_id not in started]
        if not cross:
            return plan
        at = min(cross)
        return replace(plan, recheck_at_s=at if plan.recheck_at_s is None else min(at, plan.recheck_at_s))


def _passed_over_since_s(job: PendingJob | RunningJob, attained_gpu_s: float) -> float:
    """Since when a job has been passed over: its submit time plus the time it was served."""
    return job.submit_s + attained_gpu_s / max(job.gpus, 1)


_PENDING_MEMO: dict[int, tuple[PendingJob, Gittins, float]] = {}
_RUNNING_MEMO: dict[int, tuple] = {}


POLICIES["gittins"] = Gittins
