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
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aidc.core.status import JobStatus, NodeStatus
from aidc.executors.base import Executor, LaunchRequest
from aidc.scheduling import SchedulingPlan, schedule
from aidc.server.models import JobModel, NodeModel
from aidc.server.services import jobs as jobs_service
from aidc.server.services import nodes as nodes_service
from aidc.server.services import snapshot as snapshot_service
from aidc.server.services.jobs import LIVE

log = logging.getLogger("aidc.scheduler")
ACTOR = "scheduler"


@dataclass
class CycleStats:
    started: int = 0
    preempted: int = 0
    finished: int = 0
    pending: int = 0
    duration_s: float = 0.0
    recheck_at_s: float | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Scheduler:
    """Holds the executor and the policy names; `cycle(session)` does one observe-decide-act round."""

    executor: Executor
    jobs_dir: Path
    policy: str = "fifo"
    placement: str = "consolidate"
    isolate_tenants: bool = False

    def cycle(self, session: Session) -> CycleStats:
        t0 = time.perf_counter()
        stats = CycleStats()
        try:
            self.fold_events(session, stats)
            self.stop_orphans(session)
            self.drain_nodes(session)
            session.commit()
            plan, snap_pending = self.decide(session, stats)
            session.commit()
        except StaleDataError:
            session.rollback()
            stats.errors.append("a job changed under the cycle; retrying next cycle")
        stats.duration_s = time.perf_counter() - t0
        return stats

    # -- observe ------------------------------------------------------------------------------
    def fold_events(self, session: Session, stats: CycleStats) -> None:
        for ev in self.executor.poll():
            job = session.get(JobModel, ev.job_id)
            if job is None or job.status not in LIVE:
                continue
            job.exit_code = ev.exit_code
            if ev.kind == "lost":
                jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR, reason=f"requeued: {ev.reason}")
            else:
                if job.status == JobStatus.STARTING.value:
                    jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason="launched")
                new = JobStatus.SUCCEEDED if ev.kind == "succeeded" else JobStatus.FAILED
                jobs_service.set_status(session, job=job, new=new, actor=ACTOR, reason=ev.reason or "exit code 0")
            stats.finished += 1

    def stop_orphans(self, session: Session) -> None:
        """Processes whose job was cancelled or requeued through the API are stopped here."""
        watched = set(getattr(self.executor, "watched", lambda: [])())
        if not watched:
            return
        live = set(session.scalars(select(JobModel.id).where(JobModel.id.in_(watched), JobModel.status.in_(LIVE))))
        for job_id in watched - live:
            job = session.get(JobModel, job_id)
            self.executor.cancel(job_id, dict(job.handle) if job else {}, grace_s=5.0)

    def drain_nodes(self, session: Session) -> None:
        draining = list(session.scalars(select(NodeModel).where(NodeModel.status == NodeStatus.DRAINING.value)))
        if not draining:
            return
        live = list(session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))))
        for node in draining:
            on_node = [j for j in live if any(n == node.name for n, _ in j.placement)]
            for job in on_node:
                self.executor.cancel(job.id, dict(job.handle), grace_s=5.0)
                jobs_service.set_status(session, job=job, new=JobStatus.PENDING, actor=ACTOR,
                                        reason=f"requeued: node {node.name} is draining ({node.status_reason})")
            if not on_node:
                nodes_service.set_status(session, node=node, new=NodeStatus.MAINTENANCE, actor=ACTOR,
                                         reason="drained: no jobs left")

    # -- decide and act -----------------------------------------------------------------------
    def decide(self, session: Session, stats: CycleStats) -> tuple[SchedulingPlan, int]:
        now = time.time()
        snap, rows = snapshot_service.build(session, now_s=now, isolate_tenants=self.isolate_tenants)
        plan = schedule(snap, policy=self.policy, placement=self.placement)
        stats.recheck_at_s = plan.recheck_at_s
        self.preempt(session, plan, rows, stats)
        used = snapshot_service.used_gpu_indices([j for j in rows.values() if j.status in LIVE])
        started = set()
        for placement in plan.to_start:
            job = rows[placement.job_id]
            if self.start(session, job, placement.nodes, used):
                started.add(job.id)
                stats.started += 1
        for job_id, why in plan.reasons(snap).items():
            job = rows.get(job_id)
            if job is not None and job.id not in started and job.status == "pending" and job.reason != why:
                job.reason = why
        stats.pending = len(snap.pending) - len(started)
        return plan, len(snap.pending)

    def preempt(self, session: Session, plan: SchedulingPlan, rows: dict[int, JobModel], stats: CycleStats) -> None:
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

    def start(self, session: Session, job: JobModel, nodes: tuple[tuple[str, int], ...], used: dict[str, set[int]]) -> bool:
        gpus_by_node = {n.name: n.gpus for n in session.scalars(select(NodeModel).where(NodeModel.name.in_([n for n, _ in nodes])))}
        placement = []
        for node, count in nodes:
            free = [i for i in range(gpus_by_node.get(node, 0)) if i not in used[node]]
            if len(free) < count:
                log.error("plan places job %s on %s GPUs of %s but only %s are free", job.id, count, node, len(free))
                return False
            used[node].update(free[:count])
            placement.append([node, free[:count]])
        job.attempts += 1
        workdir = (self.jobs_dir / str(job.id) / f"attempt-{job.attempts}").resolve()
        job.placement = placement
        job.handle = {"workdir": str(workdir)}
        jobs_service.set_status(session, job=job, new=JobStatus.STARTING, actor=ACTOR,
                                reason="placed on " + ", ".join(f"{n}:{','.join(map(str, i))}" for n, i in placement))
        session.commit()  # committed before the launch: a crash in between is recovered, never started twice
        try:
            handle = self.executor.launch(self._request(job, workdir, placement))
        except Exception as exc:  # noqa: BLE001 (a launch failure is the job's, not the loop's)
            jobs_service.set_status(session, job=job, new=JobStatus.FAILED, actor=ACTOR, reason=f"launch failed: {exc}")
            session.commit()
            return False
        job.handle = handle
        jobs_service.set_status(session, job=job, new=JobStatus.RUNNING, actor=ACTOR, reason=f"launched by {self.executor.name}")
        session.commit()
        return True

    def _request(self, job: JobModel, workdir: Path, placement: list) -> LaunchRequest:
        spec = job.spec
        command = spec.get("command") or "aidc " + shlex.quote(spec["workload"])
        env = dict(spec.get("env") or {})
        if spec.get("checkpoint_dir"):
            env["AIDC_CHECKPOINT_DIR"] = spec["checkpoint_dir"]
        return LaunchRequest(job_id=job.id, name=job.name, command=command, workdir=workdir,
                             placement=tuple((n, tuple(i)) for n, i in placement), env=env,
                             max_runtime_s=spec.get("max_runtime_s"))

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
