"""One scheduling cycle of the control plane: observe, decide with the shared scheduler, act.

Design note. The cycle is the only writer of job statuses other than the API's explicit
cancel/requeue, and it runs on one thread, so executors are driven from one place. Order:
(1) fold executor events into the database (jobs that ended or were lost); (2) stop processes of
jobs that left starting/running through the API, and requeue the jobs of draining nodes;
(3) build a `ClusterSnapshot` and call `aidc.scheduling.schedule` (the same function the simulator
calls); (4) carry the plan out: preempt first, then start, then write each pending job's reason.
A start is committed as `starting` with its working directory before the executor launches it, so
a crash between the two is found again on restart (`recover`) and never started twice. Job rows
carry a version column: a cycle that lost a race with the API rolls back and tries next time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aidc.core.status import JobStatus, NodeStatus
from aidc.executors.base import Executor, LaunchRequest
from aidc.scheduling import SchedulingPlan, schedule
from aidc.server.models import JobModel, NodeModel, TenantModel
from aidc.server.security import hash_token, new_job_token
from aidc.server.services import jobs as jobs_service
from aidc.server.services import launch as launch_service
from aidc.server.services import nodes as nodes_service
from aidc.server.services import snapshot as snapshot_service
from aidc.server.services.agents import assignments_changed
from aidc.server.services.health import HealthMonitor
from aidc.server.services.jobs import LIVE
from aidc.server.services.predictor import LivePredictor

log = logging.getLogger("aidc.scheduler")
ACTOR = "scheduler"
DUTY_FACTOR = 3.0  # after a decision that took t seconds, the next waits at least 3t (the loop's CPU share <= 25%)


@dataclass
class CycleStats:
    started: int = 0
    preempted: int = 0
    finished: int = 0
    pending: int = 0
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class Scheduler:
    """Holds the executor and the policy names; `cycle(session)` does one observe-decide-act round."""

    executor: Executor
    jobs_dir: Path
    policy: str = "fifo"
    placement: str = "consolidate"
    isolate_tenants: bool = False
    eta_interval_s: float = 5.0  # forward-simulate the queue at most this often
    idle_decide_s: float = 2.0  # with no change seen, still decide this often (time-based policies)
    health: HealthMonitor | None = None  # heartbeat loss and failed-job rules (services/health.py)
    server_url: str | None = None  # given to jobs as AIDC_SERVER (with their AIDC_JOB_TOKEN)
    predictor: LivePredictor | None = None  # predicted run times on the snapshot (services/predictor.py)
    _engine_node_states: dict[str, str] = field(default_factory=dict, repr=False)  # mirrored into the engine
    _tokens: dict[int, str] = field(default_factory=dict, repr=False)  # job id -> its new token, until launched
    engine_poll_s: float = 5.0  # ask an engine with its own node list (Slurm, Ray) which nodes are down
    _next_engine_poll_s: float = field(default=0.0, repr=False)
    _last_eta_s: float = field(default=0.0, repr=False)
    _dirty: bool = field(default=True, repr=False)
    _next_decide_s: float = field(default=0.0, repr=False)
    _quiet_until_s: float = field(default=0.0, repr=False)

    def mark_dirty(self) -> None:
        """The queue or the inventory changed through the API; thread-safe (a bool store)."""
        self._dirty = True

    def cycle(self, session: Session) -> CycleStats:
        t0 = time.perf_counter()
        stats = CycleStats()
        try:
            changed = self.fold_events(session, stats)
            if self.health is not None:
                changed |= bool(self.health.check_heartbeats(session, time.time()))
                changed |= self.engine_health(session)
            self.stop_orphans(session)
            changed |= self.drain_nodes(session)
            self.mirror_node_states(session)
            session.commit()
            now = time.time()
            due = changed or self._dirty or now >= self._next_decide_s
            if due and now >= self._quiet_until_s:
                self._dirty = False
                t_decide = time.perf_counter()
                plan = self.decide(session, stats)
                session.commit()
                spent_s = time.perf_counter() - t_decide
                # a long queue makes a decision slow: leave the API at least DUTY_FACTOR times that
                self._quiet_until_s = time.time() + DUTY_FACTOR * spent_s
                recheck = plan.recheck_at_s if plan.recheck_at_s is not None else now + self.idle_decide_s
                self._next_decide_s = min(recheck, now + self.idle_decide_s)
        except StaleDataError:
            session.rollback()
            snapshot_service.forget_pending(session)
            stats.errors.append("a job changed under the cycle; retrying next cycle")
        stats.duration_s = time.perf_counter() - t0
        return stats

    # -- observe ------------------------------------------------------------------------------
    def fold_events(self, session: Session, stats: CycleStats) -> bool:
        """Executor events into job statuses; True when any job ended or was lost."""
        before = stats.finished
        for ev in self.executor.poll():
            job = session.get(JobModel, ev.job_id)
            if job is None or job.status not in LIVE or (ev.attempt is not None and ev.attempt != job.attempts):
                continue
            if ev.kind == "running":  # the engine confirmed the start (and may say where it put the job)
                self._confirm_running(session, job, ev)
                continue
            job.exit_code = ev.exit_code
            if ev.kind == "lost":
                self._next_engine_poll_s = 0.0  # a lost job often means a lost node: ask the engine now
                jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR, reason=f"requeued: {ev.reason}")
            else:
                if job.status == JobStatus.STARTING.value:
                    jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason="launched")
                new = JobStatus.SUCCEEDED if ev.kind == "succeeded" else JobStatus.FAILED
                jobs_service.set_status(session, job=job, new=new, actor=ACTOR, reason=ev.reason or "exit code 0")
                if self.health is not None and (new == JobStatus.SUCCEEDED or ev.exit_code not in (None, 0)):
                    self.health.on_job_end(session, [n for n, _ in job.placement], job.id, new == JobStatus.SUCCEEDED)
            stats.finished += 1
        return stats.finished > before

    def _confirm_running(self, session: Session, job: JobModel, ev) -> None:  # ev: ExecutorEvent
        if ev.nodes and sorted(ev.nodes) != sorted(n for n, _ in job.placement):
            per_node = max(1, job.gpus // len(ev.nodes))
            job.placement = [[n, list(range(per_node))] for n in ev.nodes]
        if job.status == JobStatus.STARTING.value:
            jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason=ev.reason or "running")

    def stop_orphans(self, session: Session) -> None:
        """Processes whose job was cancelled or requeued through the API are stopped here."""
        watched = set(getattr(self.executor, "watched", lambda: [])())
        if not watched:
            return
        live = set(session.scalars(select(JobModel.id).where(JobModel.id.in_(watched), JobModel.status.in_(LIVE))))
        for job_id in watched - live:
            job = session.get(JobModel, job_id)
            self.executor.cancel(job_id, dict(job.handle) if job else {}, grace_s=5.0)

    def drain_nodes(self, session: Session) -> bool:
        """Requeue the jobs of draining and down nodes; an empty draining node goes to maintenance.

        A draining node's jobs get SIGTERM first (a job that checkpoints on it resumes from there); a
        down node's jobs are requeued at once (their node is gone; they resume from their last checkpoint).
        True if any node was handled.
        """
        out = list(session.scalars(select(NodeModel).where(
            NodeModel.status.in_((NodeStatus.DRAINING.value, NodeStatus.DOWN.value)))))
        if not out:
            return False
        live = list(session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))))
        changed = False
        for node in out:
            on_node = [j for j in live if j.status in LIVE and any(n == node.name for n, _ in j.placement)]
            verb = "is draining" if node.status == NodeStatus.DRAINING.value else "is down"
            for job in on_node:
                self.executor.cancel(job.id, dict(job.handle), grace_s=5.0)
                jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR,
                                        reason=f"requeued: node {node.name} {verb} ({node.status_reason})")
                changed = True
            if not on_node and node.status == NodeStatus.DRAINING.value:
                nodes_service.set_status(session, node=node, new=NodeStatus.MAINTENANCE, actor=ACTOR,
                                         reason="drained: no jobs left")
                changed = True
        return changed

    def engine_health(self, session: Session) -> bool:
        """Every engine_poll_s (at once after a job was lost): nodes the engine reports down go down here."""
        discover = getattr(self.executor, "discover", None)
        now = time.monotonic()
        if discover is None or self.health is None or now < self._next_engine_poll_s:
            return False
        self._next_engine_poll_s = now + self.engine_poll_s
        try:
            states = {n.name: n.state for n in discover()}
        except Exception:  # noqa: BLE001 (the engine may be briefly away; asked again next time)
            log.warning("could not ask %s for its nodes", self.executor.name, exc_info=True)
            return False
        return bool(self.health.on_engine_states(session, states, self.executor.name))

    def mirror_node_states(self, session: Session) -> None:
        """Drain or resume nodes in the executor's engine (Slurm) when aidc takes them out or puts them back."""
        set_state = getattr(self.executor, "set_node_state", None)
        if set_state is None:
            return
        for name, status, reason in session.execute(select(NodeModel.name, NodeModel.status, NodeModel.status_reason)):
            before = self._engine_node_states.get(name, "active")
            if (status == "active") == (before == "active"):
                self._engine_node_states[name] = status
                continue
            try:
                set_state(name, "resume" if status == "active" else "drain", f"aidc: {status}: {reason}"[:200])
                self._engine_node_states[name] = status
            except Exception:  # noqa: BLE001 (tried again next cycle; logged)
                log.exception("could not mirror node %s as %s into %s", name, status, self.executor.name)

    # -- decide and act -----------------------------------------------------------------------
    def decide(self, session: Session, stats: CycleStats) -> SchedulingPlan:
        now = time.time()
        snap, live, queue = snapshot_service.build(session, now_s=now, isolate_tenants=self.isolate_tenants)
        if self.predictor is not None:
            snap = self.predictor.apply(session, snap)
        plan = schedule(snap, policy=self.policy, placement=self.placement)
        self.preempt(session, plan, {j.id: j for j in live}, stats)
        used = snapshot_service.used_gpu_indices([j for j in live if j.status in LIVE])
        placed = {p.job_id for p in plan.to_start}
        # reasons first: they are committed with the starts, so no reader sees a start without them
        reasons = {job_id: why for job_id, why in plan.reasons(snap).items()
                   if job_id in queue and job_id not in placed and queue[job_id].reason != why}
        write_grouped(session, "reason", reasons)
        by_id = {j.id: j for j in _load_jobs(session, list(placed))}
        to_start = [(by_id[p.job_id], p.nodes) for p in plan.to_start if p.job_id in by_id]
        started = self.start_all(session, [(j, n) for j, n in to_start if j.status == "pending"], used)
        stats.started += len(started)
        stats.pending = len(snap.pending) - len(started)
        # a newcomer gets its ETA in its first cycle, unless the queue is long (then every eta_interval_s)
        unknown = len(queue) <= 200 and any(q.eta_s is None and q.id not in started for q in queue.values())
        if snap.pending and (unknown or now - self._last_eta_s >= self.eta_interval_s):
            self._last_eta_s = now
            self.update_etas(session, snap, queue, started)
        return plan

    def update_etas(self, session: Session, snap, queue: dict, started: set[int]) -> None:  # snap: ClusterSnapshot
        """Expected starts from the digital twin (see services/eta.py); a failure leaves old ETAs."""
        from aidc.server.services.eta import estimate_starts

        limits = {q.id: q.max_runtime_s for q in queue.values() if q.max_runtime_s}
        try:
            etas = estimate_starts(snap, policy=self.policy, placement=self.placement, max_runtime_s=limits)
        except Exception:  # noqa: BLE001 (an ETA is advice; the cycle goes on without it)
            log.exception("ETA simulation failed")
            return
        changed = {job_id: round(eta, 1) for job_id, eta in etas.items()
                   if job_id in queue and job_id not in started and queue[job_id].eta_s != round(eta, 1)}
        write_grouped(session, "eta_s", changed)

    def preempt(self, session: Session, plan: SchedulingPlan, rows: dict[int, JobModel], stats: CycleStats) -> None:
        """Stop what the plan preempts (SIGTERM, grace, SIGKILL) and put it back in the queue."""
        for job_id in plan.to_preempt:
            job = rows.get(job_id)
            if job is None or job.status not in LIVE:
                continue
            # SIGTERM first: a job that checkpoints on SIGTERM resumes from there
            self.executor.cancel(job.id, dict(job.handle), grace_s=10.0)
            job.preemptions += 1
            jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR,
                                    reason=f"preempted by policy {self.policy}")
            stats.preempted += 1
        session.commit()

    def start_all(self, session: Session, placements: list[tuple[JobModel, tuple[tuple[str, int], ...]]],
                  used: dict[str, set[int]]) -> set[int]:
        """Start a plan's jobs: all marked `starting` in one commit, launched, then marked `running` in one."""
        if not placements:
            return set()
        names = {n for _, nodes in placements for n, _ in nodes}
        gpus_by_node = {n.name: n.gpus for n in session.scalars(select(NodeModel).where(NodeModel.name.in_(names)))}
        ready = []
        for job, nodes in placements:
            indices = self._pick_gpus(job, nodes, used, gpus_by_node)
            if indices is not None:
                self._mark_starting(session, job, indices)
                ready.append(job)
        session.commit()  # committed before the launches: a crash in between is recovered, never started twice
        started = set()
        for job in ready:
            try:
                handle = self.executor.launch(self._request(session, job, Path(job.handle["workdir"])))
            except Exception as exc:  # noqa: BLE001 (a launch failure is the job's, not the loop's)
                jobs_service.set_status(session, job=job, new=JobStatus.FAILED, actor=ACTOR, reason=f"launch failed: {exc}")
                continue
            job.handle = handle
            jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason=f"launched by {self.executor.name}")
            started.add(job.id)
        session.commit()
        if started:
            assignments_changed()  # node agents pick these up
        return started

    def _pick_gpus(self, job: JobModel, nodes: tuple[tuple[str, int], ...], used: dict[str, set[int]],
                   gpus_by_node: dict[str, int]) -> list[list] | None:
        """Concrete GPU indices for a placement (the plan says how many per node, not which)."""
        placement = []
        for node, count in nodes:
            free = [i for i in range(gpus_by_node.get(node, 0)) if i not in used[node]]
            if len(free) < count:
                log.error("plan places job %s on %s GPUs of %s but only %s are free", job.id, count, node, len(free))
                return None
            used[node].update(free[:count])
            placement.append([node, free[:count]])
        return placement

    def _mark_starting(self, session: Session, job: JobModel, placement: list[list]) -> None:
        job.attempts += 1
        workdir = (self.jobs_dir / str(job.id) / f"attempt-{job.attempts}").resolve()
        job.placement = placement
        job.handle = {"workdir": str(workdir)}
        token = new_job_token(job.id)  # this attempt's; committed (hashed) before the job can use it
        job.token_sha256 = hash_token(token)
        self._tokens[job.id] = token
        jobs_service.set_status(session, job=job, new=JobStatus.STARTING, actor=ACTOR,
                                reason="placed on " + ", ".join(f"{n}:{','.join(map(str, i))}" for n, i in placement))

    def _request(self, session: Session, job: JobModel, workdir: Path) -> LaunchRequest:
        tenant = session.get(TenantModel, job.tenant_id)  # identity map: one query per tenant per cycle
        assert tenant is not None
        token = self._tokens.pop(job.id, None)
        return launch_service.request(job, tenant, workdir=workdir, token=token, server_url=self.server_url)

    # -- restart ------------------------------------------------------------------------------
    def recover(self, session: Session) -> dict[str, int]:
        """After a (re)start: re-attach to jobs still running, requeue the rest. Idempotent."""
        counts = {"reattached": 0, "requeued": 0}
        for job in session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))):
            if self.executor.reattach(job.id, dict(job.handle), job.spec.get("max_runtime_s")):
                if job.status == JobStatus.STARTING.value:
                    jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason="re-attached")
                counts["reattached"] += 1
            else:
                jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR,
                                        reason="requeued: lost across a server restart")
                counts["requeued"] += 1
        session.commit()
        return counts


def _load_jobs(session: Session, ids: list[int]) -> list[JobModel]:
    """ORM rows for many ids in a few queries (not one query per job)."""
    out: list[JobModel] = []
    for i in range(0, len(ids), 500):
        out.extend(session.scalars(select(JobModel).where(JobModel.id.in_(ids[i:i + 500]))))
    return out


def write_grouped(session: Session, column: str, values: dict[int, object]) -> None:
    """Set one advisory column (reason, ETA) of many pending jobs: one UPDATE per distinct value.

    A plain UPDATE, not the ORM: it does not bump the row version, so it never makes an API status
    change fail, and `status = 'pending'` keeps it from touching a job that just left the queue.
    """
    from collections import defaultdict

    from sqlalchemy import update

    snapshot_service.note_written(session, column, values)
    by_value: dict[object, list[int]] = defaultdict(list)
    for job_id, value in values.items():
        by_value[value].append(job_id)
    for value, ids in by_value.items():
        for i in range(0, len(ids), 500):
            session.execute(update(JobModel).where(JobModel.id.in_(ids[i:i + 500]), JobModel.status == "pending")
                            .values({column: value}).execution_options(synchronize_session=False))
