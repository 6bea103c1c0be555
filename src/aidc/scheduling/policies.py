"""Policy plugins: which pending jobs start (and which running ones stop) on one partition's snapshot.

Two families cover the published policies:

* queue policies (FIFO, SJF, SGF/QSSF) walk the pending jobs in one order and never preempt. A
  *blocking* pass stops at the first job that does not fit, as the peer simulators do (no backfill);
  a non-blocking one lets later jobs past.
* rank policies (SRTF, Tiresias 2D-LAS, strict priority) rank pending *and* running jobs together
  and hand out the partition's GPUs greedily by count in rank order; a running job left without
  GPUs is preempted, a pending job within the count is placed (it may still not fit, because of
  fragmentation). This is the Helios/Lucid preemptive loop.

A policy sees one partition (one virtual cluster, or the whole shared cluster); `schedule()` splits
a snapshot with isolated partitions before calling it.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import operator
from dataclasses import dataclass
from itertools import repeat
from typing import Callable, Iterable, Protocol

from aidc.scheduling.placement import FreeState, Placer, why_not
from aidc.scheduling.types import ClusterSnapshot, PendingJob, Placement, RunningJob, SchedulingPlan

INF = math.inf


class Policy(Protocol):
    name: str
    preemptive: bool

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        """Earliest time >= now_s at which this policy decides anything (now_s unless on a grid)."""
        ...

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        """The plan for one partition's snapshot. Pure: reads `snap`, returns a new plan."""
        ...


def start_job(job: PendingJob, pairs: list[tuple[int, int]], state: FreeState) -> Placement:
    """Commit a placement on this cycle's `state` and return it for the plan."""
    if job.gpus == 0:  # a GPU share: the pair is (node, -1 - shared GPU index) or (node, 0) for a new share
        (i, code), = pairs
        k = state.take_share(i, code, job.gpu_milli)
        return Placement(job.job_id, ((state.nodes[i].name, 0),), job.gpu_milli, k)
    state.take(pairs)
    return Placement(job.job_id, state.names(pairs), job.gpu_milli)


def ordered_pass(
    snap: ClusterSnapshot, placer: Placer, order: Iterable[PendingJob], *, blocking: bool, name: str,
    state: FreeState | None = None,
) -> SchedulingPlan:
    """Start jobs in `order` while they fit; a blocking pass stops at the first that does not."""
    state = state or FreeState.of(snap)
    started: list[Placement] = []
    why: list[tuple[object, str]] = []
    never: list[object] = []
    default = ""
    for job in order:
        pairs = placer.place(job, state)
        if pairs is not None:
            started.append(start_job(job, pairs, state))
            continue
        why.append((job.job_id, why_not(job, state)))
        if state.never_fits(job):  # an impossible job blocks nobody
            never.append(job.job_id)
            continue
        if blocking:
            default = f"queued behind job {job.job_id} ({name} is blocking: no job jumps the queue)"
            break
    return SchedulingPlan(to_start=tuple(started), unschedulable=tuple(why), default_reason=default, impossible=tuple(never))


@dataclass(frozen=True)
class QueuePolicy:
    """Non-preemptive: order the queue by `key` (None = arrival order) and start what fits."""

    name: str
    key: Callable[[PendingJob], float] | None = None
    blocking: bool = True
    preemptive: bool = False
    summary: str = ""  # one line for `aidc sim policies`

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        order = snap.pending if self.key is None else sorted(snap.pending, key=self.key)
        return ordered_pass(snap, placer, order, blocking=self.blocking, name=self.name)


def _duration(job: PendingJob) -> float:
    return INF if job.duration_estimate_s is None else job.duration_estimate_s


def _gpu_time(job: PendingJob) -> float:
    return INF if job.duration_estimate_s is None else job.duration_estimate_s * max(job.gpus, 1)


def _remaining(job: PendingJob) -> float:
    r = job.remaining_estimate_s if job.remaining_estimate_s is not None else job.duration_estimate_s
    return INF if r is None else r


Ranked = tuple[tuple, object, bool]  # (rank key, PendingJob | RunningJob, is running)
_RANK = operator.itemgetter(0)
_GPUS = operator.attrgetter("gpus")


def rank_pass(snap: ClusterSnapshot, placer: Placer, ranked: list[Ranked], *, name: str) -> SchedulingPlan:
    """Greedy GPU count in rank order; preempt running jobs left out, place pending ones let in."""
    state = FreeState.of(snap)
    quota = total = state.total_gpus
    never: list[object] = []
    ranked.sort(key=_RANK)
    prerun: list[PendingJob] = []
    preempt: list[RunningJob] = []
    why: list[tuple[object, str]] = []
    for _, job, running in ranked:
        need = job.gpus
        if need <= quota:
            quota -= need
            if not running:
                prerun.append(job)  # type: ignore[arg-type]
        elif running:
            preempt.append(job)  # type: ignore[arg-type]
        elif need > total and state.never_fits(job):  # type: ignore[arg-type]
            why.append((job.job_id, why_not(job, state)))  # type: ignore[arg-type]
            never.append(job.job_id)
    return _place_ranked(placer, state, prerun, preempt, why, never, name)


def rank_pass_split(
    snap: ClusterSnapshot, placer: Placer, pending: list[PendingJob], pending_keys: list[tuple],
    running: list[RunningJob], running_keys: list[tuple], *, name: str,
) -> SchedulingPlan:
    """`rank_pass` on the merged ranking, faster: same plan, same order of every list in it.

    `pending_keys[k]` ranks `pending[k]` and ends with k (likewise for running); keys are unique.
    Running jobs are sorted; pending ones are only heap-ordered and popped while GPUs are left to
    hand out: once the count is spent, every running job left is preempted in rank order and a
    pending job can only be reported impossible. Both key lists are consumed.
    """
    state = FreeState.of(snap)
    quota = total = state.total_gpus
    running_keys.sort()
    heapq.heapify(pending_keys)
    prerun: list[PendingJob] = []
    preempt: list[RunningJob] = []
    why: list[tuple[object, str]] = []
    never: list[object] = []
    ri, nr = 0, len(running_keys)
    if pending_keys:  # running jobs ranked above every pending one: kept if they all fit together
        head = bisect.bisect_left(running_keys, pending_keys[0])
        held = sum([running[k[-1]].gpus for k in running_keys[:head]])
        if held <= quota:
            quota, ri = quota - held, head
    shares = None  # any GPU-share job (needs 0 GPUs: admitted even when the count is spent)?
    while ri < nr or pending_keys:
        if quota == 0:
            if shares is None:
                shares = not all(map(_GPUS, pending)) or not all(map(_GPUS, running))
            if not shares:
                break
        if pending_keys and (ri == nr or pending_keys[0] < running_keys[ri]):
            job = pending[heapq.heappop(pending_keys)[-1]]
            need = job.gpus
            if need <= quota:
                quota -= need
                prerun.append(job)
            elif need > total and state.never_fits(job):
                why.append((job.job_id, why_not(job, state)))
                never.append(job.job_id)
        else:
            run = running[running_keys[ri][-1]]
            ri += 1
            if run.gpus <= quota:
                quota -= run.gpus
            else:
                preempt.append(run)
    preempt.extend(running[k[-1]] for k in running_keys[ri:])
    for k in sorted(k for k in pending_keys if pending[k[-1]].gpus > total):
        job = pending[k[-1]]
        if state.never_fits(job):
            why.append((job.job_id, why_not(job, state)))
            never.append(job.job_id)
    return _place_ranked(placer, state, prerun, preempt, why, never, name)


def _place_ranked(placer: Placer, state: FreeState, prerun: list[PendingJob], preempt: list[RunningJob],
                  why: list[tuple[object, str]], never: list[object], name: str) -> SchedulingPlan:
    """Second half of a rank pass: free the preempted jobs' GPUs, then place the admitted jobs in order."""
    for r in preempt:
        state.give(r.placement)
    started: list[Placement] = []
    for job in prerun:
        pairs = placer.place(job, state)
        if pairs is None:
            why.append((job.job_id, why_not(job, state)))
            if state.never_fits(job):
                never.append(job.job_id)
        else:
            started.append(start_job(job, pairs, state))
    return SchedulingPlan(to_start=tuple(started), to_preempt=tuple(r.job_id for r in preempt), unschedulable=tuple(why),
                          impossible=tuple(dict.fromkeys(never)),
                          default_reason=f"outranked: higher-ranked jobs hold the partition's GPUs ({name})")


def _fits_without_preemption(snap: ClusterSnapshot, state: FreeState) -> bool:
    """Do all pending jobs fit in the free GPU count? (then a rank policy preempts nobody)"""
    return sum(map(_GPUS, snap.pending)) <= sum(state.free)


def _remaining_keys(pending: list[PendingJob], flag: int) -> list[tuple]:
    """(estimated remaining s, flag, index) per pending job, built at C speed when all are known."""
    rems = [p.remaining_estimate_s for p in pending]
    if None in rems:
        rems = [_remaining(p) for p in pending]
    return list(zip(rems, repeat(flag), range(len(pending))))


@dataclass(frozen=True)
class SRTF:
    """Shortest remaining time first, preemptive (remaining from the job's estimate: true or predicted)."""

    name: str = "srtf"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        if _fits_without_preemption(snap, state):  # nobody is preempted: rank only the pending jobs
            order = sorted(snap.pending, key=_remaining) if len(snap.pending) > 1 else snap.pending
            return ordered_pass(snap, placer, order, blocking=False, name=self.name, state=state)
        now = snap.now_s
        pending, running = list(snap.pending), list(snap.running)
        run_keys = [  # RunningJob.remaining_s, inlined (same float)
            (INF if (x := r.remaining_at_start_s) is None else (y if (y := x - (now - r.started_s)) > 0.0 else 0.0), 1, i)
            for i, r in enumerate(running)
        ]
        return rank_pass_split(snap, placer, pending, _remaining_keys(pending, 0), running, run_keys, name=self.name)


@dataclass(frozen=True)
class Tiresias:
    """Discretized 2D-LAS (Tiresias): queues by attained GPU-seconds, FIFO within a queue.

    A job moves to queue k when its attained service exceeds thresholds_gpu_s[k-1]. Decisions are
    taken on a grid of `interval_s` from the snapshot's `origin_s` (60 s, as in Pollux and Lucid).
    """

    thresholds_gpu_s: tuple[float, ...] = (18_000.0,)
    interval_s: float = 60.0
    name: str = "tiresias"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        if self.interval_s <= 0:
            return now_s
        k = math.ceil((now_s - origin_s) / self.interval_s - 1e-9)
        return origin_s + k * self.interval_s

    @functools.cached_property
    def _ascending(self) -> tuple[float, ...]:
        return tuple(sorted(self.thresholds_gpu_s))

    def _level(self, attained_gpu_s: float) -> int:
        """Queue index: how many thresholds the attained service exceeds."""
        return bisect.bisect_left(self._ascending, attained_gpu_s)

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        now = snap.now_s
        if self.next_decision_s(now, snap.origin_s) > now + 1e-9:
            at = self.next_decision_s(now, snap.origin_s)
            return SchedulingPlan(recheck_at_s=at, default_reason=f"waiting for the next decision at t={at:g}s")
        state = FreeState.of(snap)
        th, level = self._ascending, bisect.bisect_left
        if _fits_without_preemption(snap, state):  # nobody is preempted: order only the pending jobs
            order = sorted(snap.pending, key=lambda p: (level(th, p.attained_gpu_s), p.submit_s))
            plan = ordered_pass(snap, placer, order, blocking=False, name=self.name, state=state)
        else:
            pending, running = list(snap.pending), list(snap.running)
            pkeys = [(level(th, p.attained_gpu_s), p.submit_s, 1, i) for i, p in enumerate(pending)]
            rkeys = [(level(th, _attained(r, now)), r.submit_s, 0, i) for i, r in enumerate(running)]
            plan = rank_pass_split(snap, placer, pending, pkeys, running, rkeys, name=self.name)
        # jobs still waiting after this plan: pending ones not started, and the ones it preempts
        waiting = plan.to_preempt or len(snap.pending) > len(plan.to_start) + len(plan.impossible)
        return _with_recheck(plan, self._next_demotion_s(snap, plan) if waiting else None)

    def _next_demotion_s(self, snap: ClusterSnapshot, plan: SchedulingPlan) -> float | None:
        """First grid point after a job that runs once `plan` is carried out crosses a threshold
        (the order can change then without any event)."""
        now, soonest = snap.now_s, INF
        stopped = set(plan.to_preempt)
        started = {p.job_id for p in plan.to_start}
        runs = [(_attained(r, now), r.gpus) for r in snap.running if r.job_id not in stopped] if stopped else \
            [(_attained(r, now), r.gpus) for r in snap.running]
        if started:
            runs += [(p.attained_gpu_s, p.gpus) for p in snap.pending if p.job_id in started]
        th = self._ascending
        given_order = th == tuple(self.thresholds_gpu_s)
        for attained, gpus in runs:
            if given_order:  # the first threshold >= attained
                k = bisect.bisect_left(th, attained)
                nxt = th[k] if k < len(th) else None
            else:
                nxt = next((t for t in self.thresholds_gpu_s if t >= attained), None)
            if nxt is not None and gpus > 0:
                soonest = min(soonest, now + (nxt - attained) / gpus)
        if soonest == INF:
            return None
        at = self.next_decision_s(soonest, snap.origin_s)
        return at if at > now else at + self.interval_s


def _attained(r: RunningJob, now_s: float) -> float:
    """`RunningJob.attained_gpu_s`, inlined (same arithmetic, so the same float)."""
    ran_s = now_s - r.started_s
    return r.attained_at_start_gpu_s + r.gpus * (ran_s if ran_s > 0.0 else 0.0)


def _with_recheck(plan: SchedulingPlan, at: float | None) -> SchedulingPlan:
    if at is None:
        return plan
    return SchedulingPlan(plan.to_start, plan.to_preempt, plan.unschedulable, at, plan.impossible, plan.default_reason)


@dataclass(frozen=True)
class StrictPriority:
    """Higher `priority` first (FIFO within a level); preempts lower-priority running jobs."""

    name: str = "priority"
    preemptive: bool = True

    def next_decision_s(self, now_s: float, origin_s: float) -> float:
        return now_s

    def plan(self, snap: ClusterSnapshot, placer: Placer) -> SchedulingPlan:
        state = FreeState.of(snap)
        if _fits_without_preemption(snap, state):
            order = sorted(snap.pending, key=lambda p: (-p.priority, p.submit_s))
            return ordered_pass(snap, placer, order, blocking=False, name=self.name, state=state)
        pending, running = list(snap.pending), list(snap.running)
        pkeys = [(-p.priority, p.submit_s, 1, i) for i, p in enumerate(pending)]
        rkeys = [(-r.priority, r.submit_s, 0, i) if r.preemptible else (-INF, 0, 0, i) for i, r in enumerate(running)]
        return rank_pass_split(snap, placer, pending, pkeys, running, rkeys, name=self.name)


POLICIES: dict[str, Callable[..., Policy]] = {
    "fifo": lambda **kw: QueuePolicy("fifo", None, summary="First in, first out; blocking, no preemption.", **kw),
    "sjf": lambda **kw: QueuePolicy("sjf", _duration, summary="Shortest (estimated) job first; blocking, no preemption.", **kw),
    "sgf": lambda **kw: QueuePolicy("sgf", _gpu_time, summary="Shortest (estimated) GPU-time first; blocking.", **kw),
    "qssf": lambda **kw: QueuePolicy("qssf", _gpu_time, summary="Helios QSSF: shortest predicted GPU-time first.", **kw),
    "srtf": SRTF,
    "tiresias": Tiresias,
    "priority": StrictPriority,
}
