"""API tokens (random, stored as SHA-256 only) and roles: who may do what."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PREFIX = "aidc_"


class Role(StrEnum):
    ADMIN = "admin"  # everything, including users, tokens and tenants
    OPERATOR = "operator"  # all tenants' jobs, nodes, datacenters; not users or tokens of others
    MEMBER = "member"  # own tenant's jobs only
    AGENT = "agent"  # a node agent: register and heartbeat (/api/v1/agents/...), nothing else
    JOB = "job"  # a running job's own token: read that job, its events and its log, nothing else


AGENT_PATH_PREFIX = "/api/v1/agents/"  # the routes an agent token may call (and /api/v1/whoami)


def agent_may_call(path: str) -> bool:
    """Whether an agent-role token may call this URL path: register, heartbeat, whoami."""
    return path.startswith(AGENT_PATH_PREFIX) or path == "/api/v1/whoami"


JOB_TOKEN_PREFIX = "aidcjob_"  # aidcjob_<job id>_<43 random characters>


def job_may_call(method: str, path: str, job_id: int | None) -> bool:
    """Whether a job token may call this route: GET its own job, events and log, and whoami."""
    if method != "GET" or job_id is None:
        return False
    own = f"/api/v1/jobs/{job_id}"
    return path in (own, own + "/events", own + "/logs", "/api/v1/whoami")


def new_job_token(job_id: int) -> str:
    """A token for one attempt of one job: given to it in AIDC_JOB_TOKEN, dead when the attempt ends."""
    return f"{JOB_TOKEN_PREFIX}{job_id}_{secrets.token_urlsafe(32)}"


def job_token_id(token: str) -> int | None:
    """The job id a job token names (None: not a well-formed job token)."""
    head, _, rest = token[len(JOB_TOKEN_PREFIX):].partition("_")
    return int(head) if token.startswith(JOB_TOKEN_PREFIX) and head.isdigit() and len(head) < 19 and rest else None


def new_token() -> str:
    """A fresh bearer token: 'aidc_' + 43 URL-safe characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored and looked up. Tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller of a request, resolved from its token."""

    user_id: int
    user: str
    role: Role
    tenant_id: int | None
    tenant: str | None
    token_id: int
    job_id: int | None = None  # a job token's job

    @property
    def runs_agents(self) -> bool:
        """May register node agents and send their heartbeats."""
        return self.role in (Role.ADMIN, Role.OPERATOR, Role.AGENT)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.OPERATOR)

    def can_see_tenant(self, tenant_id: int | None) -> bool:
        return self.is_staff or (tenant_id is not None and tenant_id == self.tenant_id)
