"""/api/v1 read-only views the dashboard draws (overview, floor) and its planner and what-if forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from aidc.server.deps import PrincipalDep, SessionDep
from aidc.server.services import floor, overview, planform, whatif
from aidc.server.web.schemas import PlanRequest, WhatIfRequest

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/overview")
def get_overview(session: SessionDep, me: PrincipalDep,
                 hours: float = Query(6.0, gt=0, le=24 * 14, description="history window")) -> dict[str, Any]:
    """GPUs by state and model, utilization and estimated power now and over `hours`, queues and recent events."""
    return overview.overview(session, actor=me, hours=hours)


@router.get("/predictor")
def get_predictor(request: Request, me: PrincipalDep) -> dict[str, Any]:
    """The run-time predictor: whether it is on, and its error on this cluster's own held-out finished jobs."""
    live = getattr(request.app.state, "predictor", None)
    if live is None:
        return {"enabled": False}
    return {"enabled": True, **live.status()}


@router.get("/datacenters/{name}/racks")
def get_racks(name: str, session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    """Racks in floor order with power, GPU use and health; GPU holders of other tenants are hidden from members."""
    return floor.racks(session, actor=me, name=name)


@router.get("/whatif/options")
def whatif_options(session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    return whatif.options(session)


@router.post("/whatif")
def run_whatif(body: WhatIfRequest, session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    """Replay the history (a member's: its tenant's jobs only) or an example trace under 2-6 scenarios."""
    return whatif.compare(session, actor=me, source=body.source, datacenter=body.datacenter,
                          scenarios=[s.model_dump() for s in body.scenarios])


@router.get("/plan/options")
def plan_options(me: PrincipalDep) -> dict[str, Any]:
    return planform.options()


@router.post("/plan")
def run_plan(body: PlanRequest, session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    """The planner's breakdown for a training or serving spec, and whether and where it fits the datacenter."""
    return planform.plan(session, kind=body.kind, spec=body.spec, datacenter=body.datacenter)
