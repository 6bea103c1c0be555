"""Request bodies and response models of the REST API (kept apart from ORM and domain models)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aidc.core.strict import StrictValuesModel
from aidc.core.tenancy import TenantSandbox
from aidc.server.deps import MAX_ROW_ID
from aidc.server.security import Role

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]  # a database id in a body (deps.RowId is the path's)
GpuCount = Annotated[int, Field(ge=0, le=1_000_000)]


class Body(StrictValuesModel):
    """A request body: unknown keys are errors, numbers and booleans are not coerced, floats are finite."""


class TenantCreate(Body):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = Field(default="", max_length=4096)
    gpu_quota: dict[str, GpuCount] = Field(default_factory=dict, max_length=256)
    allow_borrowing: bool = True
    sandbox: TenantSandbox = Field(default_factory=TenantSandbox,
                                   description="volumes, unix_uid and isolation of the tenant's jobs")


class QuotaUpdate(Body):
    gpu_quota: dict[str, GpuCount] = Field(max_length=256)
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
    source: str = Field(default="spec.yaml", max_length=512, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$",
                        description="a file name for messages (printable)")


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
    sandbox: TenantSandbox


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
    replica_ids: list[int] = Field(default_factory=list, description="on submit of a serve job with replicas: all of them")


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


# -- node agents ---------------------------------------------------------------------------------
NODE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class AgentRegister(Body):
    node: str = Field(min_length=1, max_length=128, pattern=NODE_NAME)
    gpus: int = Field(ge=0, le=1024)
    cpu_cores: int = Field(ge=1, le=100_000)
    ram_gib: float = Field(gt=0)
    gpu_model: str | None = Field(default=None, max_length=64, description="catalog name, for a node new to aidc")
    gpu_names: list[str] = Field(default_factory=list, max_length=1024)
    virtual_gpus: bool = False
    hostname: str = Field(default="", max_length=256)
    address: str = Field(default="127.0.0.1", max_length=256, description="where the node's jobs reach each other")
    datacenter: str = Field(default="agents", max_length=128, pattern=NODE_NAME)
    partition: str = Field(default="agents", max_length=128, pattern=NODE_NAME)
    disks: list[dict[str, Any]] = Field(default_factory=list, max_length=64)
    agent_version: str = Field(default="", max_length=32)


class PartRef(Body):
    job_id: RowId
    attempt: int = Field(ge=1, le=1_000_000)
    rank: int = Field(default=0, ge=0, le=100_000)


class PartFinished(PartRef):
    kind: str = Field(pattern=r"^(succeeded|failed|lost)$")
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    reason: str = Field(default="", max_length=4096)


class LogChunk(PartRef):
    offset: int = Field(ge=0, le=2**62)
    text: str = Field(max_length=1_000_000)


class CheckResult(Body):
    repair_id: RowId
    passed: bool
    output: str = Field(default="", max_length=100_000)


class _Telemetry(StrictValuesModel):
    """Known figures checked by their fields; keys a newer agent adds are kept if they are plain
    (a finite number, a boolean, a short text or null): nothing a JSON column or a metric cannot hold."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    @model_validator(mode="after")
    def _plain_extras(self) -> "_Telemetry":
        extra = self.model_extra or {}
        if len(extra) > 64:
            raise ValueError(f"{len(extra)} unknown keys; at most 64")
        for key, value in extra.items():
            plain = value is None or isinstance(value, bool) or (isinstance(value, str) and len(value) <= 256) or \
                (isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= 2**63)
            if not plain or len(key) > 64:
                raise ValueError(f"{key[:64]!r}: expected a finite number, a boolean or a short text")
        return self


class GpuSample(_Telemetry):
    """One GPU in a heartbeat, as the agent's telemetry reports it (other keys are kept, for newer agents)."""

    index: int = Field(ge=0, le=1023)
    name: str = Field(default="", max_length=128)
    util_pct: float | None = Field(default=None, ge=0, le=100)
    mem_used_gib: float | None = Field(default=None, ge=0, le=1e6)
    mem_total_gib: float | None = Field(default=None, ge=0, le=1e6)
    power_w: float | None = Field(default=None, ge=0, le=1e5)
    temp_c: float | None = Field(default=None, ge=-100, le=300)
    ecc_uncorrected: int | None = Field(default=None, ge=0, le=2**53)
    xids: list[Annotated[int, Field(ge=0, le=100_000)]] = Field(default_factory=list, max_length=1000)


class HostSample(_Telemetry):
    """The node's host figures in a heartbeat (other keys kept)."""

    cpu_pct: float | None = Field(default=None, ge=0, le=100_000)
    load1: float | None = Field(default=None, ge=0, le=1e6)
    mem_total_gib: float | None = Field(default=None, ge=0, le=1e7)
    mem_used_gib: float | None = Field(default=None, ge=0, le=1e7)
    disk_used_pct: float | None = Field(default=None, ge=0, le=100)


class Heartbeat(Body):
    gpus: list[GpuSample] = Field(default_factory=list, max_length=1024)
    host: HostSample = Field(default_factory=HostSample)
    virtual: bool = False
    running: list[PartRef] = Field(default_factory=list, max_length=10_000)
    finished: list[PartFinished] = Field(default_factory=list, max_length=10_000)
    logs: list[LogChunk] = Field(default_factory=list, max_length=1000)
    check_result: CheckResult | None = None


class RepairOut(BaseModel):
    id: int
    node: str
    rule: str
    reason: str
    status: str
    opened_s: float
    closed_s: float | None
    checks: int
    check_output: str


class ExecutorOut(BaseModel):
    name: str
    capabilities: dict[str, bool]


class Discover(Body):
    name: str = Field(min_length=1, max_length=128, pattern=NODE_NAME, description="datacenter to put the nodes in")
