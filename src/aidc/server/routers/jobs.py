"""/api/v1/jobs: submit, list, show, events, logs, cancel, requeue; and /api/v1/export."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from aidc.core.jobs import JobKind
from aidc.core.status import JobStatus
from aidc.server.deps import MAX_OFFSET, PrincipalDep, RowId, SessionDep
from aidc.server.errors import NotFound
from aidc.server.routers.admin import wake
from aidc.server.routers.convert import job_out, job_out_known
from aidc.server.schemas import EventOut, JobOut, JobSubmit, Reason
from aidc.server.services import events, jobs, usage

router = APIRouter(prefix="/api/v1", tags=["jobs"])
MAX_LOG_BYTES = 1_048_576


@router.post("/jobs", status_code=201, response_model=JobOut)
async def submit(body: JobSubmit, request: Request, session: SessionDep, me: PrincipalDep) -> JobOut:
    """On the event loop, no thread hop: validation reads cached tenants and capacity, and the rows are
    written by the group-commit thread (services/batch.py) while this request awaits it."""
    state = request.app.state
    sub = jobs.prepare(session, actor=me, data=body.spec, tenant=body.tenant, executor=getattr(state, "executor", None),
                       limits=getattr(state, "limits", None))
    batcher = getattr(state, "batcher", None)
    if batcher is not None:
        await batcher.submit_async(sub.rows, actor=me.user, reasons=sub.reasons)
    else:  # an app run without its lifespan (a tool): same result, written in this session
        jobs.write_prepared(session, sub, me.user)
    wake(request)
    return job_out_known(sub.rows[0], tenant=sub.tenant, user=me.user, replica_ids=[j.id for j in sub.rows])


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(session: SessionDep, me: PrincipalDep, tenant: str | None = Query(None, max_length=128),
              status: JobStatus | None = None, kind: JobKind | None = None, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[JobOut]:
    rows = jobs.list_visible(session, actor=me, tenant=tenant, status=status.value if status else None, kind=kind,
                             limit=limit, offset=offset)
    return [job_out(session, j) for j in rows]


@router.get("/jobs/{job_id}", response_model=JobOut)
def show(job_id: RowId, session: SessionDep, me: PrincipalDep) -> JobOut:
    return job_out(session, jobs.get_visible(session, actor=me, job_id=job_id))


@router.get("/jobs/{job_id}/events", response_model=list[EventOut])
def job_events(job_id: RowId, session: SessionDep, me: PrincipalDep) -> list[EventOut]:
    jobs.get_visible(session, actor=me, job_id=job_id)
    return [EventOut(at_s=e.at_s, from_status=e.from_status, to_status=e.to_status, actor=e.actor, reason=e.reason)
            for e in events.list_events(session, entity="job", entity_id=job_id)]


@router.get("/jobs/{job_id}/logs", response_class=PlainTextResponse)
def logs(job_id: RowId, request: Request, session: SessionDep, me: PrincipalDep,
         offset: int = Query(0, ge=0, le=MAX_OFFSET, description="byte offset, for following")) -> PlainTextResponse:
    job = jobs.get_visible(session, actor=me, job_id=job_id)
    path = request.app.state.executor.log_path(job.handle) if job.handle.get("log") else None
    if path is None or not path.exists():
        if job.status in ("pending", "starting"):
            return PlainTextResponse("", headers={"X-Log-Offset": "0"})
        raise NotFound(f"job {job_id} has no log")
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(MAX_LOG_BYTES)
    return PlainTextResponse(data.decode(errors="replace"), headers={"X-Log-Offset": str(offset + len(data))})


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel(job_id: RowId, body: Reason, request: Request, session: SessionDep, me: PrincipalDep) -> JobOut:
    job = jobs.cancel(session, actor=me, job_id=job_id, reason=body.reason)
    wake(request)
    return job_out(session, job)


@router.post("/jobs/{job_id}/requeue", response_model=JobOut)
def requeue(job_id: RowId, body: Reason, request: Request, session: SessionDep, me: PrincipalDep) -> JobOut:
    job = jobs.requeue(session, actor=me, job_id=job_id, reason=body.reason)
    wake(request)
    return job_out(session, job)


@router.get("/export/trace.csv", response_class=PlainTextResponse, tags=["usage"])
def export(session: SessionDep, me: PrincipalDep) -> PlainTextResponse:
    return PlainTextResponse(usage.export_trace(session, actor=me), media_type="text/csv")
