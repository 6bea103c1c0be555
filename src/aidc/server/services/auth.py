"""Users and tokens: bootstrap the first admin, mint, resolve, list and revoke tokens."""

from __future__ import annotations

import hmac
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aidc.server.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from aidc.server.models import JobModel, TenantModel, TokenModel, UserModel
from aidc.server.security import Principal, Role, hash_token, job_token_id, new_token
from aidc.server.services import events

DAY_S = 86_400.0
CACHE_TTL_S = 5.0  # a token resolved in the last seconds is not looked up again (revocation clears it at once)
_cache: dict[tuple[str, str], tuple[float, float | None, Principal]] = {}  # (db, sha) -> (cached at, expires, who)


def forget_cached_tokens() -> None:
    """Drop every cached resolution (after a revocation or a user change)."""
    _cache.clear()


def resolve(session: Session, token: str | None, *, now_s: float | None = None) -> Principal:
    """The caller behind a bearer token; Unauthorized when missing, unknown, expired or revoked."""
    if not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    now_s = time.time() if now_s is None else now_s
    if (job_id := job_token_id(token)) is not None:
        return _resolve_job_token(session, job_id, token)
    key = (str(session.get_bind().url), hash_token(token))
    hit = _cache.get(key)
    if hit is not None and now_s - hit[0] < CACHE_TTL_S:
        if hit[1] is not None and hit[1] <= now_s:
            raise Unauthorized("token expired")
        return hit[2]
    stmt = (select(TokenModel, UserModel, TenantModel.name)
            .join(UserModel, UserModel.id == TokenModel.user_id)
            .outerjoin(TenantModel, TenantModel.id == UserModel.tenant_id)
            .where(TokenModel.token_sha256 == key[1]))
    found = session.execute(stmt).first()
    if found is None:
        raise Unauthorized("unknown token")
    row, user, tenant_name = found
    if row.revoked_s is not None:
        raise Unauthorized("token revoked")
    if row.expires_s is not None and row.expires_s <= now_s:
        raise Unauthorized("token expired")
    who = Principal(user_id=user.id, user=user.name, role=Role(user.role), tenant_id=user.tenant_id,
                    tenant=tenant_name, token_id=row.id)
    _cache[key] = (now_s, row.expires_s, who)
    return who


def _resolve_job_token(session: Session, job_id: int, token: str) -> Principal:
    """A job's own token: valid while that attempt is live (never cached: it dies the moment the job ends)."""
    found = session.execute(select(JobModel, TenantModel.name).join(TenantModel, TenantModel.id == JobModel.tenant_id)
                            .where(JobModel.id == job_id)).first()
    if found is None or found[0].token_sha256 is None or \
            not hmac.compare_digest(found[0].token_sha256, hash_token(token)):
        raise Unauthorized("unknown token")
    job, tenant_name = found
    if job.status not in ("starting", "running"):
        raise Unauthorized(f"job token expired: job {job_id} is {job.status}")
    return Principal(user_id=job.user_id, user=f"job-{job_id}", role=Role.JOB, tenant_id=job.tenant_id,
                     tenant=tenant_name, token_id=0, job_id=job_id)


def bootstrap(session: Session, *, token: str | None = None) -> str | None:
    """On an empty database, create the 'admin' user and return its token (the given one, or a new one)."""
    if session.scalar(select(func.count()).select_from(UserModel)):
        return None
    admin = UserModel(name="admin", role=Role.ADMIN.value, tenant_id=None, created_s=time.time())
    session.add(admin)
    session.flush()
    plain = token or new_token()
    _store_token(session, user_id=admin.id, token=plain, ttl_days=None, description="bootstrap")
    session.commit()
    return plain


def _store_token(session: Session, *, user_id: int, token: str, ttl_days: float | None, description: str) -> TokenModel:
    now = time.time()
    row = TokenModel(user_id=user_id, token_sha256=hash_token(token), prefix=token[:12], description=description,
                     created_s=now, expires_s=None if ttl_days is None else now + ttl_days * DAY_S)
    session.add(row)
    session.flush()
    return row


def create_user(session: Session, *, actor: Principal, name: str, role: Role, tenant: str | None) -> UserModel:
    if actor.role != Role.ADMIN:
        raise Forbidden("only admins create users")
    if role == Role.JOB:
        raise BadRequest("role 'job' is not a user's: each running job gets its own token", field="role")
    if session.scalar(select(UserModel).where(UserModel.name == name)):
        raise Conflict(f"user {name!r} exists", field="name")
    tenant_id = None
    if tenant is not None:
        row = session.scalar(select(TenantModel).where(TenantModel.name == tenant))
        if row is None:
            raise BadRequest(f"unknown tenant {tenant!r}", field="tenant")
        tenant_id = row.id
    if role == Role.MEMBER and tenant_id is None:
        raise BadRequest("a member belongs to a tenant: give 'tenant'", field="tenant")
    if role == Role.AGENT and tenant_id is not None:
        raise BadRequest("an agent user belongs to no tenant: leave 'tenant' out", field="tenant")
    user = UserModel(name=name, role=role.value, tenant_id=tenant_id, created_s=time.time())
    session.add(user)
    session.flush()
    events.record(session, entity="user", entity_id=user.id, actor=actor.user, reason=f"created as {role.value}")
    session.commit()
    return user


def create_token(session: Session, *, actor: Principal, user: str | None, ttl_days: float,
                 description: str = "") -> tuple[TokenModel, str]:
    """Mint a token for `user` (default: the caller). Only admins mint for others. Returns (row, plaintext)."""
    target = session.scalar(select(UserModel).where(UserModel.name == (user or actor.user)))
    if target is None:
        raise NotFound(f"unknown user {user!r}")
    if target.id != actor.user_id and actor.role != Role.ADMIN:
        raise Forbidden("only admins create tokens for other users")
    plain = new_token()
    row = _store_token(session, user_id=target.id, token=plain, ttl_days=ttl_days, description=description)
    events.record(session, entity="token", entity_id=row.id, actor=actor.user, reason=f"created for {target.name}")
    session.commit()
    return row, plain


def list_tokens(session: Session, *, actor: Principal) -> list[tuple[TokenModel, str]]:
    stmt = select(TokenModel, UserModel.name).join(UserModel, UserModel.id == TokenModel.user_id).order_by(TokenModel.id)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(TokenModel.user_id == actor.user_id)
    return [(t, u) for t, u in session.execute(stmt)]


def _working_admin_tokens(session: Session, now_s: float) -> list[int]:
    """Ids of the tokens that still let an admin in (not revoked, not expired)."""
    stmt = (select(TokenModel.id).join(UserModel, UserModel.id == TokenModel.user_id)
            .where(UserModel.role == Role.ADMIN.value, TokenModel.revoked_s.is_(None))
            .where((TokenModel.expires_s.is_(None)) | (TokenModel.expires_s > now_s)))
    return list(session.scalars(stmt))


def revoke_token(session: Session, *, actor: Principal, token_id: int) -> TokenModel:
    """Revoke a token (its owner's or, for an admin, anyone's); the last working admin token is kept, so
    no revoke can lock every admin out of the server."""
    row = session.get(TokenModel, token_id)
    if row is None or (row.user_id != actor.user_id and actor.role != Role.ADMIN):
        raise NotFound(f"no token {token_id}")
    if row.revoked_s is None:
        if _working_admin_tokens(session, time.time()) == [row.id]:
            raise Conflict(f"token {token_id} is the last working admin token: revoking it would lock every admin "
                           "out; create another admin token first (POST /api/v1/tokens, or `aidc tokens create`)")
        row.revoked_s = time.time()
        events.record(session, entity="token", entity_id=row.id, actor=actor.user, reason="revoked")
    session.commit()
    forget_cached_tokens()
    return row


def list_users(session: Session, *, actor: Principal) -> list[UserModel]:
    if not actor.is_staff:
        raise Forbidden("only operators and admins list users")
    return list(session.scalars(select(UserModel).order_by(UserModel.id)))
