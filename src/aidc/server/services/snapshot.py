"""Build the scheduler's `ClusterSnapshot` from the database (the control plane's side of the contract)."""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.scheduling import ClusterSnapshot, NodeState, PendingJob, Quota, RunningJob
from aidc.server.models import JobModel, NodeModel, TenantModel
from aidc.server.services.jobs import LIVE


def used_gpu_indices(live: list[JobModel]) -> dict[str, set[int]]:
    """Node -> GPU indices held by starting/running jobs."""
    used: dict[str, set[int]] = defaultdict(set)
    for job in live:
        for node, indices in job.placement:
            used[node].update(indices)
    return used


@dataclass(frozen=True)
class QueueRow:
    """What a cycle needs of a pending job, read without building ORM objects (queues get long)."""

    id: int
    reason: str
    eta_s: float | None
    max_runtime_s: float | None


PENDING_COLUMNS = (JobModel.id, JobModel.gpus, JobModel.submitted_s, JobModel.tenant_id, JobModel.priority, JobModel.spec,
                   JobModel.attained_gpu_s, JobModel.gpu_model, JobModel.preemptions, JobModel.queued_s, JobModel.reason,
                   JobModel.eta_s)


def build(session: Session, *, now_s: float, isolate_tenants: bool = False
          ) -> tuple[ClusterSnapshot, list[JobModel], dict[int, QueueRow]]:
    """The snapshot, the live job rows (ORM, few) and the pending queue's rows by id (plain)."""
    tenants = list(session.scalars(select(TenantModel)))
    tenant_names = {t.id: t.name for t in tenants}
    nodes = list(session.scalars(select(NodeModel).order_by(NodeModel.id)))
    live = list(session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))))
    pending = pending_rows(session, tenant_names)
    used = used_gpu_indices(live)
    samples = runtime_history(session)
    snapshot = ClusterSnapshot(
        now_s=now_s,
        nodes=tuple(_node_state(n, len(used.get(n.name, ())), isolate_tenants) for n in nodes),
        pending=tuple(_with_samples(job, samples.get((tenant_id, job.gpus), ())) for job, _, tenant_id in pending),
        running=tuple(_running(j, tenant_names, now_s, samples.get((j.tenant_id, j.gpus), ())) for j in live),
        quotas=tuple(_quota(t) for t in tenants if t.gpu_quota),
        isolated_partitions=isolate_tenants,
    )
    queue = {q.id: q for _, q, _ in pending}
    return snapshot, live, queue


# engine -> job id -> (row version, the job as the scheduler sees it, its queue row, tenant id): a long queue
# is read in full once, then only the jobs that are new or changed (their version moved) are read again
_pending_cache: weakref.WeakKeyDictionary[Any, dict[int, tuple[int, PendingJob, QueueRow, int]]] = \
    weakref.WeakKeyDictionary()  # keyed by the engine itself: an id() could be reused by another database


def pending_rows(session: Session, tenant_names: dict[int, str]) -> list[tuple[PendingJob, QueueRow, int]]:
    """The pending queue in submission order: (PendingJob, QueueRow, tenant id) per job."""
    cache = _pending_cache.setdefault(session.get_bind(), {})
    order = session.execute(select(JobModel.id, JobModel.version).where(JobModel.status == "pending")
                            .order_by(JobModel.submitted_s, JobModel.id)).all()
    stale = [job_id for job_id, version in order if job_id not in cache or cache[job_id][0] != version]
    for i in range(0, len(stale), 500):
        for r in session.execute(select(*PENDING_COLUMNS, JobModel.version).where(JobModel.id.in_(stale[i:i + 500]))):
            cache[r.id] = (r.version, _pending(r, tenant_names),
                           QueueRow(r.id, r.reason, r.eta_s, _float(r.spec.get("max_runtime_s"))), r.tenant_id)
    if len(cache) > len(order):  # forget jobs that left the queue
        keep = {job_id for job_id, _ in order}
        for job_id in [j for j in cache if j not in keep]:
            del cache[job_id]
    return [cache[job_id][1:] for job_id, _ in order if job_id in cache]


def note_written(session: Session, column: str, values: dict[int, object]) -> None:
    """The scheduler wrote `reason` or `eta_s` of pending jobs (without bumping their version): keep the
    cached queue rows in step, so the next cycle does not write the same values again."""
    cache = _pending_cache.get(session.get_bind(), {})
    for job_id, value in values.items():
        hit = cache.get(job_id)
        if hit is not None:
            cache[job_id] = (hit[0], hit[1], replace(hit[2], **{column: value}), hit[3])


def forget_pending(session: Session) -> None:
    """A cycle rolled back: what `note_written` recorded may not be in the database; read it all again."""
    _pending_cache.pop(session.get_bind(), None)


def _with_samples(job: PendingJob, samples: tuple[float, ...]) -> PendingJob:
    return replace(job, runtime_samples_s=samples) if samples else job


def _float(value: object) -> float | None:
    return float(value) if value is not None else None  # type: ignore[arg-type]


def _node_state(node: NodeModel, used: int, isolate: bool) -> NodeState:
    schedulable = node.status == "active"
    return NodeState(name=node.name, gpus=node.gpus, free_gpus=max(0, node.gpus - used) if schedulable else 0,
                     gpu_model=node.gpu_model, partition=node.tenant if isolate else None,
                     nvlink_domain=node.nvlink_domain, leaf_group=node.leaf_group, rack=node.rack,
                     gpu_power_kw=node.max_power_kw / node.gpus if node.gpus else 0.0, schedulable=schedulable)


HISTORY_PER_KIND = 200  # run times kept per (tenant, GPU count): the evidence of history-based policies
HISTORY_REFRESH_S = 30.0
_history: weakref.WeakKeyDictionary[Any, tuple[float, dict[tuple[int, int], tuple[float, ...]]]] = \
    weakref.WeakKeyDictionary()  # engine -> (read at, history)


def runtime_history(session: Session) -> dict[tuple[int, int], tuple[float, ...]]:
    """(tenant id, GPUs) -> run times of the latest succeeded jobs like that (for `gittins`), cached 30 s."""
    import time

    key = session.get_bind()
    now = time.monotonic()
    cached = _history.get(key)
    if cached is not None and now - cached[0] < HISTORY_REFRESH_S:
        return cached[1]
    rows = session.execute(select(JobModel.tenant_id, JobModel.gpus, JobModel.started_s, JobModel.finished_s)
                           .where(JobModel.status == "succeeded", JobModel.started_s.is_not(None))
                           .order_by(JobModel.finished_s.desc()).limit(50_000))
    out: dict[tuple[int, int], list[float]] = defaultdict(list)
    for tenant_id, gpus, started, finished in rows:
        runs = out[(tenant_id, gpus)]
        if len(runs) < HISTORY_PER_KIND and finished is not None:
            runs.append(max(0.0, finished - started))
    frozen = {k: tuple(v) for k, v in out.items()}
    _history[key] = (now, frozen)
    return frozen


def _pending(row, tenants: dict[int, str], samples: tuple[float, ...] = ()) -> PendingJob:  # noqa: ANN001 (a Row)
    estimate = _float(row.spec.get("estimated_runtime_s"))
    return PendingJob(job_id=row.id, gpus=row.gpus, submit_s=row.submitted_s, tenant=tenants.get(row.tenant_id),
                      priority=row.priority, duration_estimate_s=estimate, remaining_estimate_s=estimate,
                      attained_gpu_s=row.attained_gpu_s, gpu_models=(row.gpu_model,) if row.gpu_model else (),
                      preemptions=row.preemptions, wait_since_s=row.queued_s, runtime_samples_s=samples)


def _running(job: JobModel, tenants: dict[int, str], now_s: float, samples: tuple[float, ...] = ()) -> RunningJob:
    started = job.started_s if job.started_s is not None else now_s
    estimate = _float(job.spec.get("estimated_runtime_s"))
    return RunningJob(job_id=job.id, gpus=job.gpus, submit_s=job.submitted_s, started_s=started,
                      placement=tuple((node, len(idx)) for node, idx in job.placement), tenant=tenants.get(job.tenant_id),
                      priority=job.priority, remaining_at_start_s=estimate, attained_at_start_gpu_s=job.attained_gpu_s,
                      preemptible=bool(job.spec.get("preemptible", True)), runtime_samples_s=samples)


def _quota(tenant: TenantModel) -> Quota:
    gpus = sum(tenant.gpu_quota.values())
    return Quota(tenant=tenant.name, gpus=gpus, max_gpus=None if tenant.allow_borrowing else gpus)
