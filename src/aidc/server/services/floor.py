"""The floor plan: racks of an imported datacenter with positions, power and per-node GPU use (read-only)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.loader import datacenter_from_text
from aidc.server.models import JobModel, NodeModel
from aidc.server.security import Principal
from aidc.server.services import datacenters
from aidc.server.services.jobs import LIVE
from aidc.server.services.overview import measured, node_power_kw


def gpu_holders(session: Session, *, actor: Principal) -> dict[str, dict[int, int | None]]:
    """Node -> GPU index -> job id holding it; None where the job belongs to a tenant the caller may not see."""
    out: dict[str, dict[int, int | None]] = {}
    for job in session.scalars(select(JobModel).where(JobModel.status.in_(LIVE))):
        shown = job.id if actor.can_see_tenant(job.tenant_id) else None
        for node, indices in job.placement:
            for i in indices:
                out.setdefault(node, {})[int(i)] = shown
    return out


def _node(row: NodeModel, holders: dict[int, int | None], slot_u: int, height_u: int) -> dict[str, Any]:
    used = len(holders)
    m = measured(row)
    gpus = (m or {}).get("gpus", {})
    return {"name": row.name, "gpu_model": row.gpu_model, "gpus": row.gpus, "gpus_used": used,
            "status": row.status, "status_reason": row.status_reason, "tenant": row.tenant,
            "slot_u": slot_u, "height_u": height_u, "max_power_kw": row.max_power_kw,
            "power_kw": round(node_power_kw(row, used), 3), "power_measured": m is not None,
            "telemetry": None if m is None else {k: m[k] for k in ("at_s", "gpu_util_pct", "gpu_power_w", "max_temp_c",
                                                                     "virtual")},
            "gpu_jobs": [{"index": i, "busy": i in holders, "job_id": holders.get(i),
                          **({"util_pct": gpus[i].get("util_pct"), "temp_c": gpus[i].get("temp_c"),
                              "power_w": gpus[i].get("power_w")} if i in gpus else {})} for i in range(row.gpus)]}


def racks(session: Session, *, actor: Principal, name: str) -> dict[str, Any]:
    """The datacenter's racks in floor order (room, row, position), each with its nodes' live state.

    Positions come from the stored spec (rebuilt with `aidc.core`); status and use from the inventory."""
    dc_row = datacenters.get(session, name=name)
    dc = datacenter_from_text(json.dumps(dc_row.spec), source=f"datacenter {name}")
    rows = {n.name: n for n in session.scalars(select(NodeModel).where(NodeModel.datacenter_id == dc_row.id))}
    holders = gpu_holders(session, actor=actor)
    out = []
    for rack in dc.racks:
        nodes = [_node(rows[n.name], holders.get(n.name, {}), n.slot_u, n.height_u) for n in rack.nodes if n.name in rows]
        gpus = sum(n["gpus"] for n in nodes)
        used = sum(n["gpus_used"] for n in nodes)
        health = "ok" if all(n["status"] == "active" for n in nodes) else (
            "down" if any(n["status"] == "down" for n in nodes) else "degraded")
        out.append({"name": rack.name, "room": rack.room, "row": rack.row, "position": rack.position,
                    "height_u": rack.height_u, "power_budget_kw": rack.power_budget_kw, "cooling": rack.cooling_type,
                    "power_kw": round(sum(n["power_kw"] for n in nodes), 3), "gpus": gpus, "gpus_used": used,
                    "utilization": used / gpus if gpus else 0.0, "health": health, "nodes": nodes})
    return {"datacenter": dc.name, "site": dc.spec.site.name, "racks": out}
