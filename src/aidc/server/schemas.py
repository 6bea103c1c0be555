"""Request bodies and response models of the REST API (kept apart from ORM and domain models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aidc.server.security import Role


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(Body):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = Field(default="", max_length=4096)
    gpu_quota: dict[str, int] = Field(default_factory=dict)
    allow_borrowing: bool = True


class QuotaUpdate(Body):
    gpu_quota: dict[str, int]
    allow_borrowing: bool | None = None


class UserCreate(Body):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Role
    tenant: str | None = None


class TokenCreate(Body):
    user: str | None = None
    ttl_days: float = Field(default=90, gt=0, le=3650)
    description: str = Field(default="", max_length=1024)


class DatacenterImport(Body):
    yaml: str = Field(min_length=1, max_length=1_000_000, description="the datacenter spec as YAML text")
    source: str = Field(default="spec.yaml", max_length=512)


class JobSubmit(Body):
    spec: dict[str, Any] = Field(description="the job spec (see `aidc.core.jobs.JobSpec`)")
    tenant: str | None = Field(default=None, description="default: the caller's tenant")


class Reason(Body):
    reason: str = Field(default="", max_length=1024)


class TenantOut(BaseModel):
    name: str
    description: str
    gpu_quota: dict[str, int]
    allow_borrowing: bool


class UserOut(BaseModel):
    name: str
    role: str
    tenant: str | None


class TokenOut(BaseModel):
    id: int
    user: str
    prefix: str
    description: str
    created_s: float
    expires_s: float | None
    revoked_s: float | None
    token: str | None = Field(default=None, description="only in the response that creates it")


class NodeOut(BaseModel):
    name: str
    rack: str
    gpu_model: str | None
    gpus: int
    gpus_used: int
    tenant: str | None
    status: str
    status_reason: str


class DatacenterOut(BaseModel):
    name: str
    nodes: int
    gpus: int
    imported_s: float


class JobOut(BaseModel):
    id: int
    name: str
    tenant: str
    user: str
    kind: str
    status: str
    reason: str
    gpus: int
    gpu_model: str | None
    priority: int
    submitted_s: float
    started_s: float | None
    finished_s: float | None
    eta_s: float | None
    placement: list[Any]
    attempts: int
    preemptions: int
    exit_code: int | None
    spec: dict[str, Any]


class EventOut(BaseModel):
    at_s: float
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str


class UsageOut(BaseModel):
    tenant: str
    jobs: int
    gpu_hours: float
    energy_kwh: float
    cost_usd: float
