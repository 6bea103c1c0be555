"""SQLAlchemy models: tenants, users, tokens, datacenters, nodes, jobs, events. Times are epoch seconds (UTC)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aidc.core.tenancy import TenantSandbox
from aidc.server.db import Base


class TenantModel(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # GPU model -> GPUs guaranteed; "*" applies to any model
    gpu_quota: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    allow_borrowing: Mapped[bool] = mapped_column(Boolean, default=True)
    # isolation (core/tenancy.py): volumes its jobs may mount, the uid they run as, how strict
    volumes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    unix_uid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    isolation: Mapped[str] = mapped_column(String(16), default="best_effort")
    created_s: Mapped[float] = mapped_column(Float)

    @property
    def sandbox(self) -> TenantSandbox:
        return TenantSandbox(volumes=self.volumes or [], unix_uid=self.unix_uid, isolation=self.isolation or "best_effort")


class UserModel(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | operator | member | agent
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    created_s: Mapped[float] = mapped_column(Float)


class TokenModel(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # never the token itself
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart in listings
    description: Mapped[str] = mapped_column(Text, default="")
    created_s: Mapped[float] = mapped_column(Float)
    expires_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class DatacenterModel(Base):
    __tablename__ = "datacenters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_s: Mapped[float] = mapped_column(Float)


class NodeModel(Base):
    __tablename__ = "nodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datacenter_id: Mapped[int] = mapped_column(ForeignKey("datacenters.id"))
    name: Mapped[str] = mapped_column(String(128), unique=True)
    rack: Mapped[str] = mapped_column(String(128))
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    gpus: Mapped[int] = mapped_column(Integer)
    cpu_cores: Mapped[int] = mapped_column(Integer)
    ram_gib: Mapped[float] = mapped_column(Float)
    tenant: Mapped[str | None] = mapped_column(String(128), nullable=True)  # owner (virtual cluster)
    nvlink_domain: Mapped[str] = mapped_column(String(128), default="")
    leaf_group: Mapped[int] = mapped_column(Integer, default=0)
    max_power_kw: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # node agent: last heartbeat, what it registered (host, CPUs, disks, GPUs), the latest telemetry
    agent_seen_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    telemetry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobModel(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    gpus: Mapped[int] = mapped_column(Integer)
    gpu_model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")  # why pending / why it ended
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # expected start, epoch s
    submitted_s: Mapped[float] = mapped_column(Float)
    queued_s: Mapped[float] = mapped_column(Float)  # last time it became pending
    started_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    placement: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[node, [gpu indices]], ...]
    handle: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # executor's record of the launch
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    preemptions: Mapped[int] = mapped_column(Integer, default=0)
    attained_gpu_s: Mapped[float] = mapped_column(Float, default=0.0)  # service before the current run
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the current attempt's job token (AIDC_JOB_TOKEN), hashed; it works only while the job is live
    token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # optimistic locking: the loop and the API never overwrite each other's status change
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (Index("ix_jobs_status", "status"), Index("ix_jobs_tenant_status", "tenant_id", "status"))
    __mapper_args__ = {"version_id_col": version}


class EventModel(Base):
    """The audit trail: one row per status change (and per notable action) of a job or node."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))  # job | node | tenant | token
    entity_id: Mapped[int] = mapped_column(Integer)
    at_s: Mapped[float] = mapped_column(Float)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_events_entity", "entity", "entity_id"),)


class NodeSampleModel(Base):
    """Telemetry history: one row per node every `sample_every_s` (the latest sample is on the node row)."""

    __tablename__ = "node_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    at_s: Mapped[float] = mapped_column(Float)
    gpu_util_pct: Mapped[float] = mapped_column(Float, default=0.0)  # mean over the node's GPUs
    gpu_mem_used_gib: Mapped[float] = mapped_column(Float, default=0.0)
    power_w: Mapped[float] = mapped_column(Float, default=0.0)  # GPUs' draw
    max_temp_c: Mapped[float] = mapped_column(Float, default=0.0)
    cpu_pct: Mapped[float] = mapped_column(Float, default=0.0)
    mem_used_gib: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (Index("ix_node_samples_node_at", "node_id", "at_s"),)


class RepairModel(Base):
    """A node taken out of service by a health rule: open -> checking -> passed (back in service) | failed."""

    __tablename__ = "repairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    rule: Mapped[str] = mapped_column(String(32))  # xid | ecc | temperature | heartbeat | failed_jobs | manual
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_s: Mapped[float] = mapped_column(Float)
    closed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)  # checks run so far
    next_check_s: Mapped[float] = mapped_column(Float, default=0.0)
    check_output: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_repairs_node_status", "node_id", "status"),)
