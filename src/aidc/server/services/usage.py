"""Accounting per tenant (GPU-hours, energy, cost) and export of finished jobs as an aidc trace."""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.server.models import DatacenterModel, JobModel, NodeModel, TenantModel, UserModel
from aidc.server.security import Principal
from aidc.server.services.jobs import LIVE

GPU_HOUR_USD = 2.0  # amortised capex + opex of one GPU-hour, before energy (a list price; settable later)
TRACE_COLUMNS = ("job_id", "name", "tenant", "user", "submit_s", "duration_s", "gpus", "gpu_milli", "gpu_models",
                 "priority", "estimate_s")


def gpu_seconds(job: JobModel, now_s: float) -> float:
    """Service received: finished runs plus the current one."""
    running = job.gpus * (now_s - job.started_s) if job.status in LIVE and job.started_s else 0.0
    return job.attained_gpu_s + max(0.0, running)


def _site_factors(session: Session) -> tuple[float, float, dict[str, float]]:
    """(PUE, $/kWh, GPU model -> kW per GPU at node max) from the imported datacenters."""
    pue, price = 1.3, 0.08
    for dc in session.scalars(select(DatacenterModel)):
        pue = dc.spec.get("site", {}).get("pue", pue)
        price = dc.spec.get("site", {}).get("electricity_usd_per_kwh", price)
    per_gpu: dict[str, float] = {}
    for node in session.scalars(select(NodeModel).where(NodeModel.gpus > 0)):
        per_gpu[node.gpu_model or "any"] = node.max_power_kw / node.gpus
    return pue, price, per_gpu


def usage(session: Session, *, actor: Principal, now_s: float | None = None) -> list[dict[str, float | str | int]]:
    now = time.time() if now_s is None else now_s
    pue, price, per_gpu = _site_factors(session)
    names = {t.id: t.name for t in session.scalars(select(TenantModel))}
    acc: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "gpu_s": 0.0, "kwh": 0.0})
    stmt = select(JobModel)
    if not actor.is_staff:
        stmt = stmt.where(JobModel.tenant_id == actor.tenant_id)
    for job in session.scalars(stmt):
        gpu_s = gpu_seconds(job, now)
        row = acc[names[job.tenant_id]]
        row["jobs"] += 1
        row["gpu_s"] += gpu_s
        kw = per_gpu.get(job.gpu_model or "any") or (max(per_gpu.values()) if per_gpu else 0.0)
        row["kwh"] += gpu_s / 3600 * kw * pue
    return [{"tenant": t, "jobs": int(v["jobs"]), "gpu_hours": round(v["gpu_s"] / 3600, 4),
             "energy_kwh": round(v["kwh"], 4), "cost_usd": round(v["gpu_s"] / 3600 * GPU_HOUR_USD + v["kwh"] * price, 4)}
            for t, v in sorted(acc.items())]


def export_trace(session: Session, *, actor: Principal) -> str:
    """Finished GPU jobs as aidc-format CSV (what `aidc sim run --format aidc` reads); CPU-only jobs are left out."""
    names = {t.id: t.name for t in session.scalars(select(TenantModel))}
    users = {u.id: u.name for u in session.scalars(select(UserModel))}
    stmt = select(JobModel).where(JobModel.status.in_(("succeeded", "failed", "cancelled")),
                                  JobModel.finished_s.is_not(None), JobModel.gpus > 0).order_by(JobModel.submitted_s, JobModel.id)
    if not actor.is_staff:
        stmt = stmt.where(JobModel.tenant_id == actor.tenant_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TRACE_COLUMNS)
    writer.writeheader()
    for job in session.scalars(stmt):
        ran_s = job.attained_gpu_s / job.gpus if job.gpus else (job.finished_s - (job.started_s or job.finished_s))
        writer.writerow({"job_id": job.id, "name": job.name, "tenant": names[job.tenant_id], "user": users.get(job.user_id, ""),
                         "submit_s": f"{job.submitted_s:.3f}", "duration_s": f"{max(ran_s, 0.0):.3f}",
                         "gpus": job.gpus, "gpu_milli": 1000, "gpu_models": job.gpu_model or "",
                         "priority": job.priority, "estimate_s": job.spec.get("estimated_runtime_s") or ""})
    return out.getvalue()
