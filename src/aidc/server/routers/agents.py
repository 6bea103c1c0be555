"""/api/v1 node agents (register, heartbeat), repairs, node telemetry, the executor and engine discovery."""

from __future__ import annotations

import dataclasses
import time

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from aidc.core.status import NodeStatus
from aidc.server.deps import PrincipalDep, RowId, SessionDep
from aidc.server.errors import BadRequest, Forbidden
from aidc.server.models import NodeSampleModel
from aidc.server.routers.admin import _dc_out, wake
from aidc.server.schemas import AgentRegister, DatacenterOut, Discover, EventOut, ExecutorOut, Heartbeat, RepairOut
from aidc.server.services import agents, datacenters, events, health, jobs, nodes

router = APIRouter(prefix="/api/v1")


@router.post("/agents/register", tags=["agents"])
def register_agent(body: AgentRegister, request: Request, session: SessionDep, me: PrincipalDep) -> dict[str, object]:
    node = agents.register(session, actor=me, body=body.model_dump(), datacenter=body.datacenter)
    wake(request)
    return {"node": node.name, "status": node.status,
            "heartbeat_interval_s": request.app.state.monitor.rules.heartbeat_interval_s}


@router.post("/agents/{node}/heartbeat", tags=["agents"])
def heartbeat(node: str, body: Heartbeat, request: Request, session: SessionDep, me: PrincipalDep) -> dict[str, object]:
    state = request.app.state
    executor = state.executor if getattr(state.executor, "name", "") == "agent" else None
    reply, status_changed = agents.heartbeat(session, actor=me, node_name=node, body=body.model_dump(),
                                             executor=executor, monitor=state.monitor, metrics=state.metrics)
    if body.finished or status_changed:
        wake(request)  # a job ended or a rule drained the node: decide soon
    return reply


@router.get("/repairs", response_model=list[RepairOut], tags=["agents"])
def list_repairs(session: SessionDep, me: PrincipalDep, open: bool = False) -> list[RepairOut]:  # noqa: A002
    if not me.is_staff:
        raise Forbidden("repairs are for operators and admins")
    return [RepairOut(id=r.id, node=name, rule=r.rule, reason=r.reason, status=r.status, opened_s=r.opened_s,
                      closed_s=r.closed_s, checks=r.checks, check_output=r.check_output)
            for r, name in health.list_repairs(session, open_only=open)]


@router.get("/nodes/{name}/telemetry", tags=["inventory"])
def node_telemetry(name: str, session: SessionDep, me: PrincipalDep,
                   hours: float = Query(6.0, gt=0, le=24 * 30, description="history window")) -> dict[str, object]:
    """The latest sample (per GPU) and the history (node means), for operators and the dashboard."""
    node = nodes.get(session, name=name)
    since = time.time() - max(0.0, min(hours, 24 * 30)) * 3600
    rows = session.scalars(select(NodeSampleModel).where(NodeSampleModel.node_id == node.id,
                                                         NodeSampleModel.at_s >= since).order_by(NodeSampleModel.at_s))
    history = [{"at_s": r.at_s, "gpu_util_pct": r.gpu_util_pct, "power_w": r.power_w, "max_temp_c": r.max_temp_c,
                "gpu_mem_used_gib": r.gpu_mem_used_gib, "cpu_pct": r.cpu_pct, "mem_used_gib": r.mem_used_gib}
               for r in rows]
    return {"node": node.name, "status": node.status, "agent_seen_s": node.agent_seen_s,
            "agent": node.agent_info or {}, "latest": node.telemetry or {}, "history": history}


@router.get("/nodes/{name}/events", response_model=list[EventOut], tags=["inventory"])
def node_events(name: str, session: SessionDep, me: PrincipalDep) -> list[EventOut]:
    """A node's audit trail: drains, health findings, checks, by whom and why."""
    node = nodes.get(session, name=name)
    return [EventOut(at_s=e.at_s, from_status=e.from_status, to_status=e.to_status, actor=e.actor, reason=e.reason)
            for e in events.list_events(session, entity="node", entity_id=node.id)]


@router.get("/jobs/{job_id}/gpus", tags=["jobs"])
def job_gpus(job_id: RowId, session: SessionDep, me: PrincipalDep) -> dict[str, object]:
    """The job's GPUs with their latest telemetry (from node agents; empty values without agents)."""
    return agents.job_gpu_metrics(session, jobs.get_visible(session, actor=me, job_id=job_id))


@router.get("/executor", response_model=ExecutorOut, tags=["meta"])
def executor_info(request: Request, me: PrincipalDep) -> ExecutorOut:
    ex = request.app.state.executor
    return ExecutorOut(name=ex.name, capabilities=dataclasses.asdict(ex.capabilities))


@router.post("/datacenters/discover", status_code=201, response_model=DatacenterOut, tags=["inventory"])
def discover(body: Discover, request: Request, session: SessionDep, me: PrincipalDep) -> DatacenterOut:
    """Import the nodes the executor's engine knows (Slurm partitions and GRES, Ray nodes)."""
    ex = request.app.state.executor
    if not hasattr(ex, "discover"):
        raise BadRequest(f"the {ex.name} executor has no node list of its own: import a datacenter spec instead")
    found = [dataclasses.asdict(n) for n in ex.discover()]
    row = datacenters.import_nodes(session, actor=me, name=body.name, nodes=found, source=f"{ex.name} discovery")
    states = {n["name"]: n.get("state", "active") for n in found}
    for node in nodes.list_all(session):  # what the engine already drains or lost shows in aidc too
        if node.datacenter_id == row.id and states.get(node.name) in ("draining", "down") and node.status == "active":
            nodes.set_status(session, node=node, new=NodeStatus(states[node.name]), actor=f"{ex.name} discovery",
                             reason=f"{states[node.name]} in {ex.name}")
    session.commit()
    wake(request)
    return _dc_out(session, row)
