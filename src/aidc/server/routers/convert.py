"""ORM rows -> response models (shared by the routers)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aidc.server.models import JobModel, TenantModel, TokenModel, UserModel
from aidc.server.schemas import JobOut, TenantOut, TokenOut


def job_out(session: Session, job: JobModel, *, user: str | None = None) -> JobOut:
    """The response for a job; `user` saves a lookup when the caller is the submitter."""
    tenant = session.get(TenantModel, job.tenant_id)  # usually in the session already
    if user is None:
        row = session.get(UserModel, job.user_id)
        user = row.name if row else ""
    return JobOut(id=job.id, name=job.name, tenant=tenant.name if tenant else "", user=user,
                  kind=job.kind, status=job.status, reason=job.reason, gpus=job.gpus, gpu_model=job.gpu_model,
                  priority=job.priority, submitted_s=job.submitted_s, started_s=job.started_s, finished_s=job.finished_s,
                  eta_s=job.eta_s, placement=job.placement, attempts=job.attempts, preemptions=job.preemptions,
                  exit_code=job.exit_code, spec=job.spec, replica_ids=getattr(job, "replica_ids", []))


def job_out_known(job: JobModel, *, tenant: str, user: str, replica_ids: list[int]) -> JobOut:
    """The response for a job just written, whose tenant and user the caller knows (no lookups)."""
    return JobOut(id=job.id, name=job.name, tenant=tenant, user=user, kind=job.kind, status=job.status, reason=job.reason,
                  gpus=job.gpus, gpu_model=job.gpu_model, priority=job.priority, submitted_s=job.submitted_s,
                  started_s=None, finished_s=None, eta_s=None, placement=[], attempts=0, preemptions=0, exit_code=None,
                  spec=job.spec, replica_ids=replica_ids)


def tenant_out(row: TenantModel) -> TenantOut:
    return TenantOut(name=row.name, description=row.description, gpu_quota=row.gpu_quota, allow_borrowing=row.allow_borrowing,
                     sandbox=row.sandbox)


def token_out(row: TokenModel, user: str, plain: str | None = None) -> TokenOut:
    return TokenOut(id=row.id, user=user, prefix=row.prefix, description=row.description, created_s=row.created_s,
                    expires_s=row.expires_s, revoked_s=row.revoked_s, token=plain)
