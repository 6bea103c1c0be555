"""The digital twin's event-driven engine: replays a trace through `aidc.scheduling.schedule`.

Design note (why a 68k-job replay takes about a second in pure Python).

* No clock tick. Time jumps from event to event: job ends, submits, node failures and repairs,
  maintenance, and the re-checks a plan asks for (`recheck_at_s`, e.g. the next Tiresias decision
  point after a running job crosses a service threshold). All events at one instant are applied
  first (ends, then failures, then submits), then each partition they touched runs one cycle.
* A cycle is one call of the shared scheduler on that partition's snapshot. Partitions are isolated
  (Philly VCs) or there is one shared partition, so a cycle only sees the nodes it can use.
* Snapshots are cheap because the engine keeps them incrementally: the frozen `NodeState` of a node
  is rebuilt only when its free GPUs change, `PendingJob` is built once at submit (again after a
  preemption), `RunningJob` once at start (it stores values as of its start, so time passing does
  not touch it). A snapshot is then the nodes tuple (rebuilt only after a change), read-only views
  of the pending and running tables (valid while the plan is computed) and the free-GPU vector as
  bytes, so best-fit on 10,000 nodes is a few memchr calls.
* A partition with nothing pending skips its cycle: no policy starts or preempts anything then
  (every policy here only acts on behalf of a pending job). That removes most cycles on a lightly
  loaded cluster. Policies that decide on a grid say when (`next_decision_s`), so off-grid events
  only book one cycle at the next grid point.
* Plans are carried out as the control plane would: preempt, then start. A preempted or failed
  job goes back to the queue with its remaining work plus the restart overhead (minus the work since
  its last checkpoint for a failure); waits after a preemption count as queueing.

Reference semantics (the published simulators on Philly): VC table cluster, consolidated placement,
Helios or Lucid restart overheads, and `end_lag_s=1` for preemptive policies (the default on a VC
table), which reproduces their 1-second-tick artifact (a preemptive-policy job ends at
start + remaining + 1).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Callable

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, RunningJob, get_placer, get_policy, schedule
from aidc.sim.cluster import ClusterModel
from aidc.sim.jobs import SimJob, Trace
from aidc.sim.results import Outcomes, SimResult, StepLog

END, DOWN, UP, CYCLE = 0, 1, 2, 3  # event kinds; also their order within one instant (submits between UP and CYCLE)

OVERHEADS_S = {  # restart overhead after a preemption, by GPUs: (1 GPU, <= 8 GPUs, > 8 GPUs)
    "helios": (7.0, 30.0, 60.0),
    "lucid": (40.0, 40.0, 60.0),
    "none": (0.0, 0.0, 0.0),
}


@dataclass
class SimConfig:
    """How to replay. The defaults are the peers' reference semantics."""

    policy: str = "fifo"
    placement: str = "consolidate"
    policy_params: dict = field(default_factory=dict)
    restart_overhead: str | float = "helios"  # a name of OVERHEADS_S or seconds for every restart
    # Extra time a preemptive-policy job holds its GPUs: the peers' 1-s tick artifact. None = 1 s on a
    # VC-table cluster (reference semantics), 0 on a datacenter spec or node list.
    end_lag_s: float | None = None
    checkpoint_interval_s: float = 1800.0  # a failed job resumes from its last checkpoint
    failures: object | None = None  # aidc.sim.failures.FailureModel
    maintenance: tuple = ()  # aidc.sim.failures.Maintenance windows
    estimator: str = "oracle"  # what the scheduler is told about durations (aidc.sim.estimators)


class _Part:
    """One partition's incremental state (see the design note)."""

    __slots__ = ("name", "base", "nodes", "free", "up", "index", "pending", "running", "nodes_t", "booked", "stranded", "gpus",
                 "shares", "needs", "node_gpus")

    def __init__(self, name: str | None, nodes: list[NodeState]) -> None:
        self.name, self.base, self.nodes = name, nodes, list(nodes)
        self.free = bytearray(n.free_gpus for n in nodes)  # also the snapshot's free_gpus (as bytes)
        self.up = [True] * len(nodes)
        self.index = {n.name: i for i, n in enumerate(nodes)}
        self.pending: dict[int, PendingJob] = {}
        self.running: dict[int, RunningJob] = {}
        self.nodes_t: tuple[NodeState, ...] | None = tuple(nodes)
        self.booked: set[float] = set()
        self.stranded = 0
        self.gpus = sum(n.gpus for n in nodes)
        self.shares: list[list[list[int]]] = [[] for _ in nodes]  # per node: slots [milli used] of shared GPUs
        self.needs: dict[int, int] = {}  # pending jobs by GPUs needed (for the stranded-GPU metric)
        self.node_gpus = max((n.gpus for n in nodes), default=0)

    def add_pending(self, job: SimJob, p: PendingJob) -> None:
        self.pending[job.jid] = p
        self.needs[p.gpus] = self.needs.get(p.gpus, 0) + 1

    def drop_pending(self, jid: int) -> None:
        g = self.pending.pop(jid).gpus
        self.needs[g] -= 1
        if not self.needs[g]:
            del self.needs[g]

    def stranded_gpus(self) -> int:
        """Free GPUs that no waiting job could use: on nodes with less room than the smallest waiting
        job needs (or, when every waiting job spans nodes, on nodes that are not wholly idle)."""
        if not self.pending:
            return 0
        need = max(min(self.needs), 1)
        if need > self.node_gpus:
            return sum(f for f, n in zip(self.free, self.base) if f < n.gpus)
        return sum(f for f in self.free if f < need) if need > 1 else 0

    def set_free(self, i: int, free: int) -> None:
        self.free[i] = free
        b = self.base[i]
        milli = tuple(1000 - s[0] for s in self.shares[i]) if self.shares[i] and self.up[i] else ()
        self.nodes[i] = NodeState(b.name, b.gpus, free if self.up[i] else 0, b.gpu_model, b.partition, b.nvlink_domain,
                                  b.leaf_group, b.rack, b.feed, b.gpu_power_kw, milli, self.up[i])
        self.nodes_t = None

    def compact(self, i: int) -> None:
        """Drop shared-GPU slots that emptied (their GPU is whole again); only between cycles."""
        if any(s[0] == 0 for s in self.shares[i]):
            self.shares[i] = [s for s in self.shares[i] if s[0] > 0]
            self.set_free(i, self.free[i])


class Engine:
    """One replay of `trace` on `cluster` under `config`. Call `run()` once."""

    def __init__(self, trace: Trace, cluster: ClusterModel, config: SimConfig,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        self.trace, self.cluster, self.cfg = trace, cluster, config
        self.policy = get_policy(config.policy, **config.policy_params)
        self.placer = get_placer(config.placement)
        self.parts = [_Part(p.name, p.nodes) for p in cluster.partitions]
        self.heap: list[tuple] = []
        self.seq = 0
        self.on_progress = on_progress
        self.busy_log, self.queue_log, self.stranded_log = StepLog(), StepLog(), StepLog()
        self.never: list[tuple[int, str]] = []
        lag_s = config.end_lag_s if config.end_lag_s is not None else (1.0 if cluster.reference else 0.0)
        self.lag_s = lag_s if self.policy.preemptive else 0.0
        # The decision grid of interval policies starts at the trace's t=0 (its first submit), also for a
        # window cut from it, as the peers do (they normalize times to the file's first job, then slice).
        self.origin_s = 0.0
        self.done = 0
        self.budget_kw = dict(cluster.power_budgets_kw)  # rack/feed -> kW; headroom = budget - draw
        self.draw_kw: dict[str, float] = {k: 0.0 for k in self.budget_kw}
        from aidc.sim.estimators import get_estimator

        self.estimator = None if config.estimator == "oracle" else get_estimator(config.estimator)

    # ---- events -------------------------------------------------------------------------------
    def push(self, t: float, kind: int, a: object, b: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, kind, self.seq, a, b))

    def book(self, part: _Part, t: float) -> None:
        """Run a cycle of `part` at time t (once, however many ask)."""
        if t not in part.booked:
            part.booked.add(t)
            self.push(t, CYCLE, part)

    def run(self) -> SimResult:
        t0 = time.perf_counter()
        jobs, heap, n = self.trace.jobs, self.heap, len(self.trace.jobs)
        if self.cfg.failures is not None:
            self.cfg.failures.schedule(self)
        for m in self.cfg.maintenance:
            m.schedule(self)
        ai, tick = 0, 0
        while ai < n or heap:
            now = jobs[ai].submit_s if ai < n else heap[0][0]
            if heap and heap[0][0] < now:
                now = heap[0][0]
            touched: list[_Part] = []
            while heap and heap[0][0] == now and heap[0][1] < CYCLE:
                _, kind, _, a, b = heapq.heappop(heap)
                part = self._handle(kind, a, b, now)
                if part is not None:
                    touched.append(part)
            while ai < n and jobs[ai].submit_s == now:
                part = self._submit(jobs[ai], now)
                if part is not None:
                    touched.append(part)
                ai += 1
            while heap and heap[0][0] == now:  # booked cycles
                touched.append(heapq.heappop(heap)[3])
            for part in dict.fromkeys(touched):
                self._cycle(part, now)
            tick += 1
            if self.on_progress is not None and tick % 4096 == 0:
                self.on_progress(self.done, n)
            if ai >= n and self._settled():
                break
        self._finish_never_started()
        if self.on_progress is not None:
            self.on_progress(self.done, n)
        return SimResult(Outcomes.of(jobs), self.cluster.gpus, self.policy.name, self.placer.name, time.perf_counter() - t0,
                         self.busy_log, self.queue_log, self.stranded_log, self.never,
                         gpu_idle_kw=self.cluster.gpu_idle_kw)

    def _settled(self) -> bool:
        """Nothing more can happen to a job: none runs, and none waits for a node to come back."""
        if any(p.running for p in self.parts):
            return False
        if not any(p.pending for p in self.parts):
            return True
        waiting = [p for p in self.parts if p.pending]
        return all(all(p.up) for p in waiting) and not any(e[1] == CYCLE for e in self.heap)

    def _handle(self, kind: int, a: object, b: object, now: float) -> _Part | None:
        if kind == END:
            job: SimJob = a  # type: ignore[assignment]
            if job.version != b:
                return None  # stale: the job was preempted or failed since
            return self._end(job, now)
        return self._node_event(kind, a, now)

    def _node_event(self, kind: int, a: object, now: float) -> _Part | None:
        from aidc.sim.failures import handle_node_event

        return handle_node_event(self, kind, a, now)

    # ---- job transitions ----------------------------------------------------------------------
    def _part_of(self, job: SimJob) -> _Part | None:
        i = self.cluster.partition_of(job.tenant)
        return None if i is None else self.parts[i]

    def _submit(self, job: SimJob, now: float) -> _Part | None:
        part = self._part_of(job)
        if part is None:
            self.never.append((job.jid, f"tenant {job.tenant!r} has no partition in the cluster"))
            return None
        job.part = part
        job.wait_since_s = now
        if self.estimator is not None:
            job.estimate_s = job.est_remaining_s = self.estimator.predict(job, now)
            job.runtime_samples_s = self.estimator.samples(job, now)
        part.add_pending(job, _pending(job))
        self.queue_log.add(now, 1)
        return part

    def _start(self, part: _Part, jid: int, nodes: tuple[tuple[str, int], ...], now: float, shared_gpu: int = -1) -> None:
        job = self.trace.jobs[jid]
        part.drop_pending(jid)
        if job.gpus == 0:
            self._start_share(part, job, nodes[0][0], shared_gpu)
        for name, g in nodes:
            i = part.index[name]
            assert part.free[i] >= g and part.up[i], f"over-allocation of {name}"
            if g:
                part.set_free(i, part.free[i] - g)
        job.placement = nodes
        if self.budget_kw:
            self._draw(part, nodes, +1)
        if job.start_s is None:
            job.start_s = now
        job.queue_s += now - job.wait_since_s
        job.last_start_s = now
        part.running[jid] = RunningJob(jid, job.gpus, job.submit_s, now, nodes, job.tenant, job.priority,
                                       job.est_remaining_s, job.attained_gpu_s, job.gpu_milli, True, job.runtime_samples_s)
        self.push(now + job.remaining_s + self.lag_s, END, job, job.version)
        self.busy_log.add(now, job.gpu_equiv)
        self.queue_log.add(now, -1)

    def _start_share(self, part: _Part, job: SimJob, name: str, k: int) -> None:
        i = part.index[name]
        if k < 0:  # carve a new share out of a free GPU
            assert part.free[i] >= 1 and part.up[i], f"over-allocation of {name}"
            part.shares[i].append([0])
            part.free[i] -= 1
            k = len(part.shares[i]) - 1
        slot = part.shares[i][k]
        assert slot[0] + job.gpu_milli <= 1000, f"over-allocation of a GPU share on {name}"
        slot[0] += job.gpu_milli
        job.share = slot
        part.set_free(i, part.free[i])

    def _release_share(self, part: _Part, job: SimJob, name: str, in_cycle: bool) -> None:
        i = part.index[name]
        job.share[0] -= job.gpu_milli
        if job.share[0] == 0 and part.up[i]:
            part.free[i] += 1
        job.share = None
        if not in_cycle:
            part.compact(i)
        part.set_free(i, part.free[i])

    def _draw(self, part: _Part, nodes: tuple[tuple[str, int], ...], sign: int) -> None:
        for name, g in nodes:
            b = part.base[part.index[name]]
            for key in (b.rack, b.feed):
                if key in self.draw_kw:
                    self.draw_kw[key] += sign * g * b.gpu_power_kw

    def _release(self, part: _Part, job: SimJob, in_cycle: bool = False) -> None:
        del part.running[job.jid]
        if self.budget_kw:
            self._draw(part, job.placement, -1)
        if job.share is not None:
            self._release_share(part, job, job.placement[0][0], in_cycle)
        for name, g in job.placement:
            i = part.index[name]
            if part.up[i] and g:
                part.set_free(i, part.free[i] + g)
        job.placement = ()

    def _end(self, job: SimJob, now: float) -> _Part | None:
        part: _Part = job.part  # type: ignore[assignment]
        self._release(part, job)
        job.end_s = now
        job.remaining_s = 0.0
        self.done += 1
        if self.estimator is not None:
            self.estimator.observe(job, now)
        self.busy_log.add(now, -job.gpu_equiv)
        return part if part.pending else None

    def requeue(self, part: _Part, job: SimJob, now: float, kept_s: float, in_cycle: bool = False) -> None:
        """Stop a running job and queue it again; `kept_s` of the work since its start is kept."""
        ran_s = now - job.last_start_s
        self._release(part, job, in_cycle)
        self.busy_log.add(now, -job.gpu_equiv)
        overhead = self.overhead_s(job)
        job.remaining_s = max(0.0, job.remaining_s - kept_s) + overhead
        job.est_remaining_s = max(0.0, job.est_remaining_s - kept_s) + overhead
        job.lost_s += ran_s - kept_s
        job.attained_gpu_s += job.gpus * ran_s
        job.version += 1
        job.wait_since_s = now
        part.add_pending(job, _pending(job))
        self.queue_log.add(now, 1)

    def overhead_s(self, job: SimJob) -> float:
        o = self.cfg.restart_overhead
        if not isinstance(o, str):
            return float(o)
        one, node, multi = OVERHEADS_S[o]
        return one if job.gpus <= 1 else node if job.gpus <= 8 else multi

    # ---- scheduling cycles --------------------------------------------------------------------
    def snapshot(self, part: _Part, now: float) -> ClusterSnapshot:
        if part.nodes_t is None:
            part.nodes_t = tuple(part.nodes)
        return ClusterSnapshot(now, part.nodes_t, part.pending.values(), part.running.values(),
                               self.cluster.quotas, False, self.origin_s, self._headroom(), bytes(part.free))

    def _headroom(self) -> tuple[tuple[str, float], ...]:
        return tuple((k, b - self.draw_kw[k]) for k, b in self.budget_kw.items()) if self.budget_kw else ()

    def _cycle(self, part: _Part, now: float) -> None:
        part.booked.discard(now)
        if part.pending:
            at = self.policy.next_decision_s(now, self.origin_s)
            if at > now:
                self.book(part, at)
                return
            plan = schedule(self.snapshot(part, now), policy=self.policy, placement=self.placer)
            for jid in plan.to_preempt:
                job = self.trace.jobs[jid]
                job.preemptions += 1
                self.requeue(part, job, now, kept_s=now - job.last_start_s, in_cycle=True)
            for p in plan.to_start:
                self._start(part, p.job_id, p.nodes, now, p.shared_gpu)
            if plan.to_preempt:
                for i in range(len(part.shares)):
                    part.compact(i)
            if plan.impossible:
                self._reject(part, plan, now)
            if plan.recheck_at_s is not None and plan.recheck_at_s > now:
                self.book(part, plan.recheck_at_s)
        stranded = part.stranded_gpus()
        if stranded != part.stranded:
            self.stranded_log.add(now, stranded - part.stranded)
            part.stranded = stranded

    def _reject(self, part: _Part, plan, now: float) -> None:  # noqa: ANN001
        why = dict(plan.unschedulable)
        for jid in plan.impossible:
            if jid in part.pending:
                part.drop_pending(jid)
                self.never.append((jid, why.get(jid, "can never start on this cluster")))
                self.queue_log.add(now, -1)

    def _finish_never_started(self) -> None:
        for part in self.parts:
            for jid, p in part.pending.items():
                why = f"needs {p.gpus} GPUs; the partition has {part.gpus}"
                self.never.append((jid, why))


def _pending(job: SimJob) -> PendingJob:
    return PendingJob(job.jid, job.gpus, job.submit_s, job.tenant, job.priority, job.estimate_s, job.est_remaining_s,
                      job.attained_gpu_s, job.gpu_milli, job.gpu_models, job.preemptions, job.wait_since_s,
                      job.runtime_samples_s)


def simulate(trace: Trace, cluster: ClusterModel, config: SimConfig | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Replay `trace` (reset first, so a trace can be replayed again) on `cluster`."""
    trace.reset()
    return Engine(trace, cluster, config or SimConfig(), on_progress).run()
