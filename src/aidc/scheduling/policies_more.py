"""More policies: predicted SRTF without an oracle, fair share with quotas, EASY backfill."""

from __future__ import annotations

import bisect
import functools
from collections import deque
from dataclasses import dataclass

from aidc.scheduling.placement import FreeState, Placer, why_not
from aidc.scheduling.policies import INF, POLICIES, _fits_without_preemption, ordered_pass, rank_pass_split, start_job
from aidc.scheduling.types import ClusterSnapshot, PendingJob, RunningJob, SchedulingPlan


@dataclass(frozen=True)
class PredictedSRTF:
    """SRTF on predicted durations inside 2D-LAS service queues: no oracle needed.

    Rank = (service queue, expected remaining time). The service queue is Tiresias's: a job drops a
    queue each time its attained GPU-seconds pass a threshold, so a job whose prediction was far too
    short cannot hog GPUs. Inside a queue, expected remaining = the estimate of what is left (restart
    overhead included, which keeps two jobs from preempting each other back and forth); a job past
    its prediction is expected to need `overdue_factor` x what it has served so far, or nothing
    more with the default 0 (it keeps its GPUs until it ends or is demoted).
    """

    thresholds_gpu_s: tuple[float, ...] = (18_000.0,)
    overdue_factor: float = 0.0
    name: str = "psrtf"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    @functools.cached_property
    def _ascending(self) -> tuple[float, ...]:
        return tuple(sorted(self.thresholds_gpu_s))

    def _level(self, attained_gpu_s: float) -> int:
        """How many thresholds the attained service exceeds."""
        return bisect.bisect_left(self._ascending, attained_gpu_s)

    def _expect(self, remaining_s: float | None, served_s: float) -> float:
        if remaining_s is None:
            return INF
        return remaining_s if remaining_s > 0 else self.overdue_factor * served_s

    def _pending_key(self, p: PendingJob) -> tuple:
        a, g = p.attained_gpu_s, max(p.gpus, 1)
        rem = p.remaining_estimate_s if p.remaining_estimate_s is not None else p.duration_estimate_s
        return (self._level(a), self._expect(rem, a / g), 0)

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        if _fits_without_preemption(snap, state):
            order = sorted(snap.pending, key=self._pending_key)
            plan = ordered_pass(snap, placer, order, blocking=False, name=self.name, state=state)
        else:
            now = snap.now_s
            pending, running = list(snap.pending), list(snap.running)
            pkeys = [self._pending_key(p) + (i,) for i, p in enumerate(pending)]
            rkeys = []
            for i, r in enumerate(running):
                a = r.attained_gpu_s(now)
                rkeys.append((self._level(a), self._expect(r.remaining_s(now), a / max(r.gpus, 1)), 1, i))
            plan = rank_pass_split(snap, placer, pending, pkeys, running, rkeys, name=self.name)
        return plan


def _expected_left_s(job: RunningJob, now_s: float) -> float | None:
    """What is left of a running job by its estimate; once it has outlived the estimate, the mean of
    its run-time distribution (`runtime_samples_s`) beyond what it has run, else as long again as it
    has run (heavy tails: the longer a job ran, the longer it will). Without samples: the estimate's 0."""
    left = job.remaining_s(now_s)
    if left is None or left > 0 or not job.runtime_samples_s:
        return left
    ran_s = job.attained_gpu_s(now_s) / max(job.gpus, 1)
    longer = [s for s in job.runtime_samples_s if s > ran_s]
    return sum(longer) / len(longer) - ran_s if longer else ran_s


@dataclass(frozen=True)
class EasyBackfill:
    """FIFO with EASY backfilling: the head job gets a reservation; later jobs may start now if they
    end (by their estimate) before it, or only use GPUs the reservation leaves spare.

    The reservation counts GPUs, not nodes: at the head's shadow time enough GPUs are free in total.
    `backfill_order`: "fifo" (candidates in queue order, classic EASY) or "shortest" (shortest estimate
    first, unknown last: EASY++ / SJBF of Tsafrir, Etsion and Feitelson 2007, which pays off with
    system-generated predictions rather than users' inflated estimates).
    """

    name: str = "easy"
    preemptive: bool = False
    backfill_order: str = "fifo"

    def __post_init__(self) -> None:
        if self.backfill_order not in ("fifo", "shortest"):
            raise ValueError(f"backfill_order {self.backfill_order!r}: expected fifo or shortest")

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        order = [p for p in snap.pending if not state.never_fits(p)]
        never = tuple(p.job_id for p in snap.pending if state.never_fits(p))
        started, why = [], [(j, "can never start on these nodes") for j in never]
        k = 0
        while k < len(order):  # start from the head while jobs fit
            pairs = placer.place(order[k], state)
            if pairs is None:
                break
            started.append(start_job(order[k], pairs, state))
            k += 1
        if k == len(order):
            return SchedulingPlan(to_start=tuple(started), unschedulable=tuple(why), impossible=never)
        head = order[k]
        shadow_s, spare = self._reservation(snap, state, head)
        why.append((head.job_id, f"head of the queue, reserved to start by t={shadow_s:g}s"))
        rest = order[k + 1:]
        if self.backfill_order == "shortest":
            rest = sorted(rest, key=lambda p: INF if p.duration_estimate_s is None else p.duration_estimate_s)
        for job in rest:
            est = job.duration_estimate_s
            ends_in_time = est is not None and snap.now_s + est <= shadow_s
            if not ends_in_time and job.gpus > spare:
                why.append((job.job_id, f"would delay the reservation of job {head.job_id}"))
                continue
            pairs = placer.place(job, state)
            if pairs is None:
                why.append((job.job_id, why_not(job, state)))
                continue
            started.append(start_job(job, pairs, state))
            if not ends_in_time:
                spare -= job.gpus
        return SchedulingPlan(to_start=tuple(started), unschedulable=tuple(why), impossible=never)

    @staticmethod
    def _reservation(snap: ClusterSnapshot, state: FreeState, head: PendingJob) -> tuple[float, int]:
        """(shadow time, spare GPUs then): when running jobs' estimated ends free enough GPUs for `head`."""
        now, free = snap.now_s, sum(state.free)
        ends = sorted((INF if (left := _expected_left_s(r, now)) is None else now + left, r.gpus) for r in snap.running)
        shadow_s = now
        for end_s, gpus in ends:
            if free >= head.gpus:
                break
            free += gpus
            shadow_s = end_s
        if free < head.gpus:
            return INF, 0
        return shadow_s, free - head.gpus


@dataclass(frozen=True)
class FairShare:
    """Fair share across tenants with quotas: dominant-resource (GPU) share, borrowing and lending.

    Pending jobs start in order of their tenant's share (GPUs in use / entitlement), FIFO within a
    tenant, while GPUs are free: a tenant may borrow idle GPUs beyond its quota up to `max_gpus`.
    A tenant below its guaranteed quota whose next job does not fit reclaims lent GPUs: the youngest
    jobs of tenants above their quota are preempted, but only if that lets the job start.
    """

    name: str = "fairshare"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        quotas = {q.tenant: q for q in snap.quotas}
        usage: dict = {}
        for r in snap.running:
            usage[r.tenant] = usage.get(r.tenant, 0) + r.gpus
        queues: dict = {}
        never = tuple(p.job_id for p in snap.pending if state.never_fits(p))
        skip = set(never)
        for p in snap.pending:
            if p.job_id not in skip:
                queues.setdefault(p.tenant, deque()).append(p)
        tenants = set(queues) | set(usage)
        fair = max(1.0, state.total_gpus / max(len(tenants), 1))
        entitled = {t: (quotas[t].gpus if t in quotas and quotas[t].gpus > 0 else fair) for t in tenants}
        started, why, blocked = [], [(j, "can never start on these nodes") for j in never], {}
        while True:
            ready = [t for t, q in queues.items() if q and t not in blocked]
            if not ready:
                break
            t = min(ready, key=lambda x: (usage.get(x, 0) / entitled[x], str(x)))
            job = queues[t][0]
            cap = quotas[t].max_gpus if t in quotas else None
            pairs = None if cap is not None and usage.get(t, 0) + job.gpus > cap else placer.place(job, state)
            if pairs is None:
                blocked[t] = job
                continue
            queues[t].popleft()
            started.append(start_job(job, pairs, state))
            usage[t] = usage.get(t, 0) + job.gpus
        preempt = self._reclaim(snap, placer, state, quotas, usage, blocked, started)
        begun = {s.job_id for s in started}
        for t, q in queues.items():
            for job in q:
                if job.job_id not in begun:
                    why.append((job.job_id, f"tenant {t} is at {usage.get(t, 0)} GPUs (entitled {entitled[t]:g}); "
                                            f"{why_not(job, state) if job is blocked.get(t) else 'waits behind its own tenant'}"))
        return SchedulingPlan(to_start=tuple(started), to_preempt=tuple(preempt), unschedulable=tuple(why), impossible=never)

    @staticmethod
    def _reclaim(snap, placer, state, quotas, usage, blocked, started) -> list:  # noqa: ANN001
        """Preempt borrowers for tenants below their guarantee; returns the preempted job ids."""
        out: list = []
        for t, job in sorted(blocked.items(), key=lambda kv: str(kv[0])):
            guarantee = quotas[t].gpus if t in quotas else 0
            if usage.get(t, 0) + job.gpus > guarantee:
                continue  # reclaiming is only for GPUs within the guarantee
            victims = sorted(
                (r for r in snap.running if r.preemptible and r.job_id not in out and r.tenant != t
                 and usage.get(r.tenant, 0) > (quotas[r.tenant].gpus if r.tenant in quotas else 0)),
                key=lambda r: -r.started_s,
            )
            trial, chosen = FreeState(state.nodes, snap.power_budgets_kw), []
            trial.free = list(state.free)
            for r in victims:
                trial.give(r.placement)
                chosen.append(r)
                pairs = placer.place(job, trial)
                if pairs is not None:
                    state.free = trial.free
                    started.append(start_job(job, pairs, state))
                    for v in chosen:
                        usage[v.tenant] -= v.gpus
                        out.append(v.job_id)
                    usage[t] = usage.get(t, 0) + job.gpus
                    break
        return out


POLICIES["easy"] = EasyBackfill
POLICIES["fairshare"] = FairShare
POLICIES["psrtf"] = PredictedSRTF
