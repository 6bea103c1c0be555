"""Tenants (teams, virtual clusters) and their GPU quotas per model."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.tenancy import TenantSandbox
from aidc.server.errors import BadRequest, Conflict, Forbidden, NotFound
from aidc.server.models import TenantModel
from aidc.server.security import Principal, Role
from aidc.server.services import events
from aidc.server.services.jobs import tenants_changed


def create(session: Session, *, actor: Principal, name: str, description: str = "",
           gpu_quota: dict[str, int] | None = None, allow_borrowing: bool = True, sandbox: TenantSandbox | None = None,
           commit: bool = True) -> TenantModel:
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins create tenants")
    if session.scalar(select(TenantModel).where(TenantModel.name == name)):
        raise Conflict(f"tenant {name!r} exists", field="name")
    row = TenantModel(name=name, description=description, gpu_quota=dict(gpu_quota or {}),
                      allow_borrowing=allow_borrowing, created_s=time.time())
    _apply_sandbox(session, row, sandbox or TenantSandbox())
    session.add(row)
    session.flush()
    events.record(session, entity="tenant", entity_id=row.id, actor=actor.user, reason=f"created, quota {row.gpu_quota}")
    if commit:
        session.commit()
    tenants_changed()
    return row


def get_by_name(session: Session, *, actor: Principal, name: str) -> TenantModel:
    row = session.scalar(select(TenantModel).where(TenantModel.name == name))
    if row is None or not actor.can_see_tenant(row.id):
        raise NotFound(f"no tenant {name!r}")
    return row


def list_visible(session: Session, *, actor: Principal) -> list[TenantModel]:
    stmt = select(TenantModel).order_by(TenantModel.name)
    if not actor.is_staff:
        stmt = stmt.where(TenantModel.id == actor.tenant_id)
    return list(session.scalars(stmt))


def set_quota(session: Session, *, actor: Principal, name: str, gpu_quota: dict[str, int],
              allow_borrowing: bool | None = None) -> TenantModel:
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins change quotas")
    row = get_by_name(session, actor=actor, name=name)
    row.gpu_quota = dict(gpu_quota)
    if allow_borrowing is not None:
        row.allow_borrowing = allow_borrowing
    events.record(session, entity="tenant", entity_id=row.id, actor=actor.user, reason=f"quota set to {gpu_quota}")
    session.commit()
    tenants_changed()
    return row


def set_sandbox(session: Session, *, actor: Principal, name: str, sandbox: TenantSandbox) -> TenantModel:
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins change a tenant's volumes, uid or isolation")
    row = get_by_name(session, actor=actor, name=name)
    _apply_sandbox(session, row, sandbox)
    events.record(session, entity="tenant", entity_id=row.id, actor=actor.user,
                  reason=f"sandbox set: {len(sandbox.volumes)} volumes, uid {sandbox.unix_uid}, {sandbox.isolation}")
    session.commit()
    tenants_changed()
    return row


def _apply_sandbox(session: Session, row: TenantModel, sandbox: TenantSandbox) -> None:
    """Store a tenant's sandbox; a uid is one tenant's only (two tenants sharing it could read each other)."""
    if sandbox.unix_uid is not None:
        clash = session.scalar(select(TenantModel).where(TenantModel.unix_uid == sandbox.unix_uid,
                                                         TenantModel.name != row.name))
        if clash is not None:
            raise BadRequest(f"unix_uid {sandbox.unix_uid} is tenant {clash.name!r}'s", field="sandbox.unix_uid")
    row.volumes = [v.model_dump(mode="json") for v in sandbox.volumes]
    row.unix_uid = sandbox.unix_uid
    row.isolation = sandbox.isolation
