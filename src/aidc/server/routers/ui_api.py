"""/api/v1 read-only views the dashboard draws (overview, floor) and its planner and what-if forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from aidc.server.deps import PrincipalDep, SessionDep
from aidc.server.services import floor, overview

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/overview")
def get_overview(session: SessionDep, me: PrincipalDep,
                 hours: float = Query(6.0, gt=0, le=24 * 14, description="history window")) -> dict[str, Any]:
    """GPUs by state and model, utilization and estimated power now and over `hours`, queues and recent events."""
    return overview.overview(session, actor=me, hours=hours)


@router.get("/datacenters/{name}/racks")
def get_racks(name: str, session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    """Racks in floor order with power, GPU use and health; GPU holders of other tenants are hidden from members."""
    return floor.racks(session, actor=me, name=name)
