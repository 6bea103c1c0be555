"""The dashboard's overview: GPUs by state and model, utilization and power now and over time, queues, events."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aidc.server.models import EventModel, JobModel, NodeModel, TenantModel
from aidc.server.security import Principal
from aidc.server.services.jobs import allocated_gpus, live, queue_depth
from aidc.server.services.snapshot import used_gpu_indices

IDLE_POWER_FRACTION = 0.3  # share of a node's max power it draws with every GPU idle (no telemetry yet)
HISTORY_POINTS = 60


TELEMETRY_FRESH_S = 120.0  # an agent's sample older than this is not shown as "now"


def gpu_totals(gpus: list[dict[str, Any]]) -> dict[str, float]:
    """One heartbeat's GPUs summed up: mean utilization, watts, memory in use, the hottest (zeros when none)."""
    def total(key: str) -> float:
        return sum(float(g.get(key) or 0) for g in gpus)

    return {"gpu_util_pct": total("util_pct") / len(gpus) if gpus else 0.0, "gpu_power_w": total("power_w"),
            "gpu_mem_used_gib": total("mem_used_gib"),
            "max_temp_c": max((float(g.get("temp_c") or 0) for g in gpus), default=0.0)}


def measured(node: NodeModel, now_s: float | None = None) -> dict[str, Any] | None:
    """The node agent's latest sample summarised (mean GPU utilization, GPU watts, hottest GPU), if fresh."""
    t = node.telemetry or {}
    gpus = t.get("gpus") or []
    if not gpus or (now_s if now_s is not None else time.time()) - float(t.get("at_s") or 0) > TELEMETRY_FRESH_S:
        return None
    sums = gpu_totals(gpus)
    return {"at_s": t["at_s"], "gpu_util_pct": sums["gpu_util_pct"], "gpu_power_w": sums["gpu_power_w"],
            "max_temp_c": sums["max_temp_c"], "virtual": bool(t.get("virtual")),
            "gpus": {int(g.get("index", i)): g for i, g in enumerate(gpus)}}


def node_power_kw(node: NodeModel, gpus_used: int) -> float:
    """The agent's measured GPU draw when there is one; else estimated from allocation (idle floor plus the
    busy share of max power). 0 when down or in maintenance."""
    if node.status in ("down", "maintenance"):
        return 0.0
    m = measured(node)
    if m is not None:
        return m["gpu_power_w"] / 1000.0
    busy = gpus_used / node.gpus if node.gpus else 0.0
    return node.max_power_kw * (IDLE_POWER_FRACTION + (1 - IDLE_POWER_FRACTION) * busy)


def gpu_state_counts(nodes: list[NodeModel], used: dict[str, set[int]]) -> dict[str, dict[str, int]]:
    """GPU model -> {allocated, idle, draining, down}. Cordoned counts as draining (takes nothing new)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"allocated": 0, "idle": 0, "draining": 0, "down": 0})
    for n in nodes:
        if not n.gpus:
            continue
        row = out[n.gpu_model or "any"]
        busy = len(used.get(n.name, ()))
        row["allocated"] += busy
        if n.status == "active":
            row["idle"] += n.gpus - busy
        elif n.status in ("draining", "cordoned"):
            row["draining"] += n.gpus - busy
        else:
            row["down"] += n.gpus - busy
    return dict(out)


def history(session: Session, nodes: list[NodeModel], *, now_s: float, hours: float) -> dict[str, list[float]]:
    """Busy GPUs and estimated power at HISTORY_POINTS times over the last `hours`, from jobs' run intervals."""
    t0 = now_s - hours * 3600
    rows = session.execute(select(JobModel.started_s, JobModel.finished_s, JobModel.gpus).where(
        JobModel.started_s.is_not(None), or_(JobModel.finished_s.is_(None), JobModel.finished_s >= t0)))
    intervals = [(s, f if f is not None else now_s, g) for s, f, g in rows]
    total_gpus = sum(n.gpus for n in nodes)
    max_kw = sum(n.max_power_kw for n in nodes if n.gpus)
    other_kw = sum(n.max_power_kw for n in nodes if not n.gpus) * IDLE_POWER_FRACTION
    step = (now_s - t0) / (HISTORY_POINTS - 1)
    times, busy, power = [], [], []
    for i in range(HISTORY_POINTS):
        t = t0 + i * step
        b = sum(g for s, f, g in intervals if s <= t <= f)
        share = b / total_gpus if total_gpus else 0.0
        times.append(t)
        busy.append(b)
        power.append(round(max_kw * (IDLE_POWER_FRACTION + (1 - IDLE_POWER_FRACTION) * share) + other_kw, 3))
    return {"t_s": times, "gpus_busy": busy, "power_kw": power}


def recent_events(session: Session, *, actor: Principal, limit: int = 20) -> list[dict[str, Any]]:
    """The newest events; a member sees only its tenant's jobs' events."""
    stmt = select(EventModel).order_by(EventModel.id.desc()).limit(limit)
    if not actor.is_staff:
        mine = select(JobModel.id).where(JobModel.tenant_id == actor.tenant_id)
        stmt = stmt.where(EventModel.entity == "job", EventModel.entity_id.in_(mine))
    return [{"at_s": e.at_s, "entity": e.entity, "entity_id": e.entity_id, "from_status": e.from_status,
             "to_status": e.to_status, "actor": e.actor, "reason": e.reason} for e in session.scalars(stmt)]


def overview(session: Session, *, actor: Principal, hours: float = 6.0, now_s: float | None = None) -> dict[str, Any]:
    """Everything the overview page draws, in one call. Fleet totals are public to members (as /nodes is);
    queues, allocations and events are cut to the tenants the caller may see."""
    now = time.time() if now_s is None else now_s
    nodes = list(session.scalars(select(NodeModel).order_by(NodeModel.id)))
    used = used_gpu_indices(live(session))
    visible = {t.name for t in session.scalars(select(TenantModel)) if actor.can_see_tenant(t.id)}
    states = gpu_state_counts(nodes, used)
    total = sum(sum(v.values()) for v in states.values())
    allocated = sum(v["allocated"] for v in states.values())
    return {
        "now_s": now,
        "gpus_by_state": states,
        "gpus_total": total,
        "gpus_allocated": allocated,
        "utilization": allocated / total if total else 0.0,
        "power_kw": round(sum(node_power_kw(n, len(used.get(n.name, ()))) for n in nodes), 3),
        "telemetry": telemetry_summary(nodes, now),
        "power_max_kw": round(sum(n.max_power_kw for n in nodes), 3),
        "history": history(session, nodes, now_s=now, hours=hours),
        "queue_depth": {t: n for t, n in queue_depth(session).items() if t in visible},
        "allocated": [{"tenant": t, "gpu_model": m, "gpus": g} for (t, m), g in allocated_gpus(session).items()
                      if t in visible],
        "events": recent_events(session, actor=actor),
    }


def telemetry_summary(nodes: list[NodeModel], now_s: float) -> dict[str, Any]:
    """Fleet figures from node agents: how many nodes report, their mean GPU utilization and GPU power."""
    samples = [m for m in (measured(n, now_s) for n in nodes) if m is not None]
    return {"nodes_reporting": len(samples),
            "gpu_util_pct": sum(m["gpu_util_pct"] for m in samples) / len(samples) if samples else None,
            "gpu_power_kw": round(sum(m["gpu_power_w"] for m in samples) / 1000.0, 3) if samples else None,
            "max_temp_c": max((m["max_temp_c"] for m in samples), default=None)}
