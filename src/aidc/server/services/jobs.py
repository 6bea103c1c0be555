"""Jobs: submit (validated against the inventory and quotas), list, show, cancel, requeue, and the one status function."""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aidc.core.errors import did_you_mean
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.core.jobs import JobSpec
from aidc.core.spec_io import format_path
from aidc.core.status import TERMINAL_JOB, InvalidTransition, JobStatus, check_transition
from aidc.server.errors import BadRequest, Conflict, Forbidden, NotFound
from aidc.server.models import JobModel, NodeModel, TenantModel
from aidc.server.security import Principal
from aidc.server.services import events, launch

LIVE = (JobStatus.STARTING.value, JobStatus.RUNNING.value)


def parse_spec(data: Any) -> JobSpec:
    """A job spec from request JSON; every problem named with its field path."""
    if not isinstance(data, dict):
        raise BadRequest("a job spec is a mapping of fields")
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False):
            path = format_path(err["loc"]) or "spec"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown field{did_you_mean(str(err['loc'][-1]), list(JobSpec.model_fields))}"
            parts.append(f"{path}: {msg}")
        raise BadRequest("; ".join(parts), field=format_path(exc.errors()[0]["loc"])) from None


_CAPACITY: dict[str, tuple[int, dict[str | None, tuple[int, int]]]] = {}  # db url -> (inventory version, capacity)
_INVENTORY_VERSION = [0]


def inventory_changed() -> None:
    """Called when nodes are imported or change status: the cached capacity is recomputed."""
    _INVENTORY_VERSION[0] += 1


def capacity(session: Session) -> dict[str | None, tuple[int, int]]:
    """GPU model -> (GPUs in service, most GPUs on one node), over nodes that are not down. Cached per inventory."""
    key = str(session.get_bind().url)
    cached = _CAPACITY.get(key)
    if cached is not None and cached[0] == _INVENTORY_VERSION[0]:
        return cached[1]
    version = _INVENTORY_VERSION[0]
    out: dict[str | None, tuple[int, int]] = {}
    rows = session.execute(select(NodeModel.gpu_model, func.sum(NodeModel.gpus), func.max(NodeModel.gpus))
                           .where(NodeModel.status != "down").group_by(NodeModel.gpu_model))
    for model, total, biggest in rows:
        out[model] = (int(total or 0), int(biggest or 0))
    _CAPACITY[key] = (version, out)
    return out


def check_feasible(session: Session, spec: JobSpec, tenant: TenantModel) -> None:
    """Refuse what could never run here: unknown or absent GPU model, more GPUs than the site, over a hard quota."""
    cap = capacity(session)
    if spec.gpu_model is not None:
        if spec.gpu_model not in DEFAULT_CATALOG:
            raise BadRequest(f"gpu_model: unknown GPU model {spec.gpu_model!r}{did_you_mean(spec.gpu_model, DEFAULT_CATALOG.names())}",
                             field="gpu_model")
        model = DEFAULT_CATALOG.canonical(spec.gpu_model)
        if model not in cap:
            have = ", ".join(f"{m}: {t}" for m, (t, _) in cap.items() if m) or "no GPUs"
            raise BadRequest(f"gpu_model: this site has no {model} GPUs (it has {have})", field="gpu_model")
        total, biggest = cap[model]
    else:
        total = sum(t for m, (t, _) in cap.items() if m)
        biggest = max((b for m, (_, b) in cap.items() if m), default=0)
    if spec.gpus > total:
        raise BadRequest(f"gpus: {spec.gpus} GPUs requested; the site has {total}"
                         + (f" {spec.gpu_model}" if spec.gpu_model else ""), field="gpus")
    if spec.gpus_per_node > biggest:
        raise BadRequest(f"gpus: {spec.gpus_per_node} GPUs per node over {spec.nodes} node(s); the largest node has {biggest}",
                         field="gpus")
    quota = sum(tenant.gpu_quota.values())
    if tenant.gpu_quota and not tenant.allow_borrowing and spec.gpus > quota:
        raise BadRequest(f"gpus: {spec.gpus} GPUs exceed tenant {tenant.name}'s quota of {quota} (borrowing off)",
                         field="gpus")


def check_executor(spec: JobSpec, executor: Any) -> None:
    """Refuse what the configured executor cannot do (its declared capabilities)."""
    if executor is None:
        return
    if spec.nodes > 1 and not executor.capabilities.multi_node:
        raise BadRequest(f"nodes: the {executor.name} executor runs a job on one node only and this job asks for "
                         f"{spec.nodes} (run the server with the agent, slurm or ray executor)", field="nodes")


@dataclass(frozen=True)
class Submission:
    """A validated submission, ready to write: its rows (one per replica), their events' reasons, the tenant."""

    rows: list[JobModel]
    reasons: list[str]
    tenant: str


def prepare(session: Session, *, actor: Principal, data: Any, tenant: str | None = None,
            executor: Any = None, limits: Any = None) -> Submission:
    """Validate a submission (reads only) and build its rows. A serve job with `replicas: N` becomes N jobs
    (see `replica_specs`). `limits` (services/limits.TenantLimits) holds the tenant to its abuse limits,
    checked last so a refused submission spends none of its rate."""
    spec = parse_spec(data)
    tenant_row = _tenant_for_submit(session, actor, tenant)
    check_executor(spec, executor)
    check_feasible(session, spec, tenant_row)
    launch.check(spec, tenant_row, executor)
    if limits is not None:
        limits.check(session, tenant_row.id, tenant_row.name, spec.replicas if spec.kind == "serve" else 1)
    now = time.time()
    gpu_model = DEFAULT_CATALOG.canonical(spec.gpu_model) if spec.gpu_model else None
    rows = [JobModel(name=one.name, tenant_id=tenant_row.id, user_id=actor.user_id, kind=one.kind,
                     spec=one.model_dump(mode="json"), gpus=one.gpus, gpu_model=gpu_model, priority=one.priority,
                     status=JobStatus.PENDING.value, reason="waiting for the next scheduling cycle",
                     submitted_s=now, queued_s=now)
            for one in replica_specs(spec)]
    reasons = ["submitted" if len(rows) == 1 else f"submitted: replica {i + 1} of {len(rows)} of {spec.name}"
               for i in range(len(rows))]
    return Submission(rows, reasons, tenant_row.name)


def submit(session: Session, *, actor: Principal, data: Any, tenant: str | None = None, executor: Any = None,
           limits: Any = None) -> JobModel:
    """Accept a job, all of it or nothing, in this session (the API's hot path goes through services/batch.py
    instead). Returns the first row; `replica_ids` lists every replica's id."""
    sub = prepare(session, actor=actor, data=data, tenant=tenant, executor=executor, limits=limits)
    write_prepared(session, sub, actor.user)
    sub.rows[0].replica_ids = [j.id for j in sub.rows]  # type: ignore[attr-defined] (a response detail, not a column)
    return sub.rows[0]


def write_prepared(session: Session, sub: Submission, actor: str) -> None:
    """Insert a prepared submission's rows and their 'submitted' events in one transaction."""
    add_submitted(session, [(sub.rows, sub.reasons, actor)])
    session.commit()


def add_submitted(session: Session, items: list[tuple[list[JobModel], list[str], str]]) -> None:
    """Add submissions' rows (rows, their reasons, the submitter) and a 'submitted' event each, with one
    flush for all (the group-commit writer passes a whole batch); the caller commits."""
    for rows, _, _ in items:
        session.add_all(rows)
    session.flush()
    for rows, reasons, actor in items:
        for job, why in zip(rows, reasons):
            events.record(session, entity="job", entity_id=job.id, actor=actor, to_status="pending", reason=why,
                          at_s=job.submitted_s)


def replica_specs(spec: JobSpec) -> list[JobSpec]:
    """A deployment's replicas: `<name>-r<i>`, each told its index (AIDC_REPLICA, AIDC_REPLICAS, AIDC_DEPLOYMENT)
    and, when the workload serves on `workload_config.port`, listening on port + i (so replicas on one host
    do not collide)."""
    if spec.kind != "serve" or spec.replicas == 1:
        return [spec]
    if spec.env.get("AIDC_ENDPOINT"):
        raise BadRequest("replicas: with several replicas give workload_config.port (replica i listens on port + i), "
                         "not one env.AIDC_ENDPOINT for all", field="replicas")
    out = []
    for i in range(spec.replicas):
        config = dict(spec.workload_config)
        if config.get("port"):
            config["port"] = int(config["port"]) + i
        env = {**spec.env, "AIDC_REPLICA": str(i), "AIDC_REPLICAS": str(spec.replicas), "AIDC_DEPLOYMENT": spec.name}
        out.append(spec.model_copy(update={"name": f"{spec.name}-r{i}"[:128], "workload_config": config, "env": env}))
    return out


TENANT_CACHE_S = 5.0
# engine -> (caller's tenant id, asked tenant) -> (expires, row); keyed by the engine object itself (weakly):
# an id() could be reused by a later engine and hand it another database's rows
_tenant_cache: weakref.WeakKeyDictionary[Any, dict[tuple[int | None, str | None], tuple[float, TenantModel]]] = \
    weakref.WeakKeyDictionary()


def tenants_changed() -> None:
    """A tenant was created or its quota changed: submissions read it afresh."""
    _tenant_cache.clear()


def _tenant_for_submit(session: Session, actor: Principal, tenant: str | None) -> TenantModel:
    """The tenant a submission is for (a detached row, cached 5 s: every submit needs it)."""
    cache = _tenant_cache.setdefault(session.get_bind(), {})
    key = (actor.tenant_id, tenant)
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now and (tenant is None or actor.can_see_tenant(hit[1].id)):
        return hit[1]
    row = _load_tenant_for_submit(session, actor, tenant)
    session.expunge(row)
    cache[key] = (now + TENANT_CACHE_S, row)
    return row


def _load_tenant_for_submit(session: Session, actor: Principal, tenant: str | None) -> TenantModel:
    if tenant is None and actor.tenant_id is None:
        default = session.scalar(select(TenantModel).where(TenantModel.name == "default"))
        if default is None:
            raise BadRequest("tenant: give the tenant to submit for (your user belongs to none)", field="tenant")
        row = default
    elif tenant is None:
        row = session.get(TenantModel, actor.tenant_id)
    else:
        row = session.scalar(select(TenantModel).where(TenantModel.name == tenant))
        if row is None or not actor.can_see_tenant(row.id):
            raise BadRequest(f"tenant: unknown tenant {tenant!r}", field="tenant")
    assert row is not None
    return row


def get_visible(session: Session, *, actor: Principal, job_id: int) -> JobModel:
    job = session.get(JobModel, job_id)
    if job is None or not actor.can_see_tenant(job.tenant_id):
        raise NotFound(f"no job {job_id}")  # the same answer for another tenant's job: no existence leak
    return job


def list_visible(session: Session, *, actor: Principal, tenant: str | None = None, status: str | None = None,
                 kind: str | None = None, limit: int = 100, offset: int = 0) -> list[JobModel]:
    stmt = select(JobModel).order_by(JobModel.id.desc()).limit(limit).offset(offset)
    if not actor.is_staff:
        stmt = stmt.where(JobModel.tenant_id == actor.tenant_id)
    if tenant is not None:
        known = session.scalar(select(TenantModel.id).where(TenantModel.name == tenant))
        if known is None or (not actor.is_staff and known != actor.tenant_id):  # a member learns nothing of others
            raise NotFound(f"tenant: no tenant {tenant[:40]!r}" + ("" if actor.is_staff else " of yours"), field="tenant")
        stmt = stmt.where(JobModel.tenant_id == known)
    if status is not None:
        stmt = stmt.where(JobModel.status == status)
    if kind is not None:
        stmt = stmt.where(JobModel.kind == kind)
    return list(session.scalars(stmt))


def set_status(session: Session, *, job: JobModel, new: JobStatus, actor: str, reason: str = "",
               now_s: float | None = None) -> None:
    """The one place a job's status changes: checked, time-stamped, its service accounted, an event written."""
    now = time.time() if now_s is None else now_s
    try:
        check_transition("job", job.status, new.value)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    if job.status == JobStatus.RUNNING.value and job.started_s is not None:
        job.attained_gpu_s += job.gpus * max(0.0, now - job.started_s)
    events.record(session, entity="job", entity_id=job.id, actor=actor, reason=reason, from_status=job.status,
                  to_status=new.value, at_s=now)
    job.status = new.value
    job.reason = reason
    if new == JobStatus.PENDING:
        job.queued_s, job.started_s, job.finished_s, job.placement = now, None, None, []
    elif new == JobStatus.RUNNING:
        job.started_s = now
    elif new in TERMINAL_JOB:
        job.finished_s = now


def _retrying(session: Session, change: Any, tries: int = 5) -> JobModel:
    """Run a status change; when the scheduler changed the same job in between (its row version moved),
    read it again and retry, so a racing cancel or requeue never fails with a server error."""
    from sqlalchemy.orm.exc import StaleDataError

    for attempt in range(tries):
        try:
            return change()
        except StaleDataError:
            session.rollback()
            if attempt == tries - 1:
                raise Conflict("the job kept changing under this request; try again") from None
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def cancel(session: Session, *, actor: Principal, job_id: int, reason: str = "") -> JobModel:
    """End a job; the scheduling loop stops its process (executors are driven from one thread)."""
    return _retrying(session, lambda: _cancel(session, actor=actor, job_id=job_id, reason=reason))


def _cancel(session: Session, *, actor: Principal, job_id: int, reason: str) -> JobModel:
    job = get_visible(session, actor=actor, job_id=job_id)  # after a rollback: read afresh
    if job.status in {s.value for s in TERMINAL_JOB}:
        raise Conflict(f"job {job_id} already ended ({job.status})")
    set_status(session, job=job, new=JobStatus.CANCELLED, actor=actor.user, reason=reason or f"cancelled by {actor.user}")
    session.commit()
    return job


def requeue(session: Session, *, actor: Principal, job_id: int, reason: str = "") -> JobModel:
    """Put a job back in the queue (an ended one, or a running one: its process is stopped by the loop)."""
    return _retrying(session, lambda: _requeue(session, actor=actor, job_id=job_id, reason=reason))


def _requeue(session: Session, *, actor: Principal, job_id: int, reason: str) -> JobModel:
    job = get_visible(session, actor=actor, job_id=job_id)
    if job.status == JobStatus.PENDING.value:
        raise Conflict(f"job {job_id} is already pending")
    if job.status in LIVE and not actor.is_staff and job.user_id != actor.user_id:
        raise Forbidden("only the submitter or an operator requeues a running job")
    set_status(session, job=job, new=JobStatus.PENDING, actor=actor.user, reason=reason or f"requeued by {actor.user}")
    session.commit()
    return job


def queue_depth(session: Session) -> dict[str, int]:
    rows = session.execute(select(TenantModel.name, func.count(JobModel.id)).join(JobModel, JobModel.tenant_id == TenantModel.id)
                           .where(JobModel.status == "pending").group_by(TenantModel.name))
    return {name: int(n) for name, n in rows}


def allocated_gpus(session: Session) -> dict[tuple[str, str], int]:
    """(tenant, GPU model) -> GPUs held by starting/running jobs."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    rows = session.execute(select(TenantModel.name, JobModel.gpu_model, func.sum(JobModel.gpus))
                           .join(JobModel, JobModel.tenant_id == TenantModel.id)
                           .where(JobModel.status.in_(LIVE)).group_by(TenantModel.name, JobModel.gpu_model))
    for tenant, model, gpus in rows:
        out[(tenant, model or "any")] += int(gpus or 0)
    return dict(out)


def live_count(session: Session) -> int:
    return int(session.scalar(select(func.count(JobModel.id)).where(JobModel.status.in_(LIVE))) or 0)


def live(session: Session) -> list[JobModel]:
    """Jobs holding GPUs (starting or running)."""
    return list(session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))))
