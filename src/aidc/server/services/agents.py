"""Node agents: registration, and the heartbeat that carries telemetry, job reports and logs in, and
the node's desired state (job parts to run, to stop, a repair check to do) back out.

See executors/agent.py for the reconciling design. Reports are idempotent: an agent re-sends a
finished job part until the reply acknowledges it, and a log chunk says at which byte it starts.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aidc.core.errors import UnknownNameError
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.core.status import JobStatus, NodeStatus
from aidc.executors.agent import AgentExecutor
from aidc.server.errors import BadRequest, Forbidden
from aidc.server.models import JobModel, NodeModel, NodeSampleModel
from aidc.server.security import Principal
from aidc.server.services import datacenters
from aidc.server.services import nodes as nodes_service
from aidc.server.services.health import HealthMonitor
from aidc.server.services.jobs import LIVE
from aidc.server.services.overview import gpu_totals

SAMPLE_EVERY_S = 30.0  # telemetry history resolution (the latest sample is always on the node row)
MAX_LOG_CHUNK_BYTES = 256 * 1024
# engine -> node id -> when its last history row was written (per database, like the other caches)
_last_sample_s: weakref.WeakKeyDictionary[Any, dict[int, float]] = weakref.WeakKeyDictionary()


def register(session: Session, *, actor: Principal, body: dict[str, Any], datacenter: str) -> NodeModel:
    """Bind an agent to its node: a node already in the inventory, or a new one in `datacenter`."""
    _may_run_agents(actor)
    name = body["node"]
    if body.get("gpu_model") is not None:
        try:
            DEFAULT_CATALOG.get(body["gpu_model"])  # the catalog's own message, with close names
        except UnknownNameError as exc:
            raise BadRequest(f"gpu_model: {exc}", field="gpu_model") from None
    node = session.scalar(select(NodeModel).where(NodeModel.name == name))
    if node is None:
        datacenters.import_nodes(session, actor=actor, name=datacenter, source=f"agent on {name}", nodes=[{
            "name": name, "gpus": body["gpus"], "cpu_cores": body["cpu_cores"], "ram_gib": body["ram_gib"],
            "gpu_model": body.get("gpu_model"), "partition": body.get("partition") or "agents"}], agent_joining=True)
        node = nodes_service.get(session, name=name)
    elif body["gpus"] != node.gpus:
        raise BadRequest(f"node {name!r} has {node.gpus} GPUs in the inventory but its agent found {body['gpus']}",
                         field="gpus")
    node.agent_info = {k: body.get(k) for k in ("hostname", "address", "cpu_cores", "ram_gib", "disks", "gpu_names",
                                                "virtual_gpus", "agent_version", "gpu_model")}
    node.agent_seen_s = time.time()
    session.commit()
    return node


def heartbeat(session: Session, *, actor: Principal, node_name: str, body: dict[str, Any],
              executor: AgentExecutor | None, monitor: HealthMonitor,
              metrics: Any = None) -> tuple[dict[str, Any], bool]:
    """Fold one heartbeat in; the reply (the node's desired state) and whether the node's status changed."""
    _may_run_agents(actor)
    now = time.time()
    node = nodes_service.get(session, name=node_name)
    status_before = node.status
    if not node.agent_info:
        raise BadRequest(f"node {node_name!r} has no registered agent: register first", field="node")
    _store_telemetry(session, node, body, now)
    jobs = _jobs_on(session, node.name)
    if metrics is not None:
        metrics.observe_node(node.name, body.get("gpus") or [], body.get("host") or {})
        for job_id, util in job_gpu_util(jobs, node.name, body.get("gpus") or []).items():
            metrics.observe_job(job_id, node.name, util)
    _store_logs(session, body.get("logs") or [])
    ack = _fold_finished(session, node, body.get("finished") or [], executor)
    if node.status in (NodeStatus.ACTIVE.value, NodeStatus.CORDONED.value):
        monitor.on_telemetry(session, node, body.get("gpus") or [])
    check = body.get("check_result")
    if check:
        monitor.on_check_result(session, node, int(check["repair_id"]), bool(check["passed"]),
                                str(check.get("output", "")), now)
    running = {(int(r["job_id"]), int(r["attempt"]), int(r.get("rank", 0))) for r in body.get("running") or []}
    finished = {(int(r["job_id"]), int(r["attempt"]), int(r.get("rank", 0))) for r in body.get("finished") or []}
    desired = {} if node.status == NodeStatus.DOWN.value else _desired(session, node, jobs, executor)
    assign = [spec for key, spec in desired.items() if key not in running and key not in finished]
    cancel = [{"job_id": j, "attempt": a, "rank": r, "grace_s": executor.grace_for(j) if executor else 10.0}
              for (j, a, r) in running if (j, a, r) not in desired]
    reply = {"assign": assign, "cancel": cancel, "ack": ack, "status": node.status,
             "check": monitor.due_check(session, node, now) if not desired else None,
             "heartbeat_interval_s": monitor.rules.heartbeat_interval_s,
             "log_offsets": _log_offsets(session, running | finished)}
    session.commit()
    return reply, node.status != status_before


def _may_run_agents(actor: Principal) -> None:
    if not actor.runs_agents:
        raise Forbidden("node agents authenticate with an agent or operator token")


def _store_telemetry(session: Session, node: NodeModel, body: dict[str, Any], now: float) -> None:
    gpus, host = body.get("gpus") or [], body.get("host") or {}
    latest = {"at_s": now, "gpus": gpus, "host": host, "virtual": bool(body.get("virtual"))}
    # a plain UPDATE of these columns: never overwrites a status the scheduler or an operator just set
    session.execute(update(NodeModel).where(NodeModel.id == node.id)
                    .values(agent_seen_s=now, telemetry=latest).execution_options(synchronize_session=False))
    last_sample_s = _last_sample_s.setdefault(session.get_bind(), {})
    if now - last_sample_s.get(node.id, 0.0) >= SAMPLE_EVERY_S:
        last_sample_s[node.id] = now
        sums = gpu_totals(gpus)
        session.add(NodeSampleModel(
            node_id=node.id, at_s=now, gpu_util_pct=sums["gpu_util_pct"], gpu_mem_used_gib=sums["gpu_mem_used_gib"],
            power_w=sums["gpu_power_w"], max_temp_c=sums["max_temp_c"],
            cpu_pct=float(host.get("cpu_pct") or 0), mem_used_gib=float(host.get("mem_used_gib") or 0)))


# node -> ids of live agent-run jobs placed there, shared by every heartbeat and rebuilt when the scheduler
# started jobs (or every REBUILD_S): one scan of the live jobs per change, not per heartbeat
REBUILD_S = 5.0
_placements: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()  # engine -> index
_PLACEMENT_VERSION = [0]


def assignments_changed() -> None:
    """The scheduler committed new starts: heartbeats look at the placements again."""
    _PLACEMENT_VERSION[0] += 1


def _job_ids_on(session: Session, node_name: str) -> list[int]:
    now = time.monotonic()
    version = _PLACEMENT_VERSION[0]
    index = _placements.setdefault(session.get_bind(), {"built": -1, "at": 0.0, "by_node": {}})
    if index["built"] != version or now - index["at"] > REBUILD_S:
        by_node: dict[str, list[int]] = {}
        for job_id, placement, handle in session.execute(select(JobModel.id, JobModel.placement, JobModel.handle)
                                                         .where(JobModel.status.in_(LIVE))):
            if handle.get("agent"):
                for name, _ in placement:
                    by_node.setdefault(name, []).append(job_id)
        index.update(built=version, at=now, by_node=by_node)
    return list(index["by_node"].get(node_name, ()))


def _jobs_on(session: Session, node_name: str) -> list[JobModel]:
    """Live agent-run jobs placed on this node, read fresh (the shared index only says which to read)."""
    ids = _job_ids_on(session, node_name)
    if not ids:
        return []
    rows = session.scalars(select(JobModel).where(JobModel.id.in_(ids), JobModel.status.in_(LIVE)))
    return [j for j in rows if j.handle.get("agent") and any(n == node_name for n, _ in j.placement)]


def _desired(session: Session, node: NodeModel, jobs: list[JobModel],
             executor: AgentExecutor | None) -> dict[tuple[int, int, int], dict[str, Any]]:
    """The job parts this node should run now: (job, attempt, rank) -> what the agent needs to start it."""
    out = {}
    masters: dict[str, str] = {}
    for job in jobs:
        if job.status != JobStatus.RUNNING.value:
            continue
        names = [n for n, _ in job.placement]
        rank = names.index(node.name)
        first = names[0]
        if first not in masters:
            row = session.scalar(select(NodeModel).where(NodeModel.name == first))
            masters[first] = (row.agent_info or {}).get("address") or "127.0.0.1" if row else "127.0.0.1"
        h = job.handle
        token = executor.token_for(job.id, job.attempts) if executor is not None else None
        out[(job.id, job.attempts, rank)] = {
            "job_id": job.id, "attempt": job.attempts, "rank": rank, "ranks": len(names), "name": job.name,
            "command": h.get("command", ""), "env": h.get("env") or {}, "sandbox": h.get("sandbox"), "job_token": token,
            "gpus": list(job.placement[rank][1]),
            "max_runtime_s": h.get("max_runtime_s"), "master_addr": masters[first],
            "master_port": 20000 + job.id % 20000, "nodes": names}
    return out


def _fold_finished(session: Session, node: NodeModel, reports: list[dict[str, Any]],
                   executor: AgentExecutor | None) -> list[dict[str, int]]:
    """Pass finished parts to the executor; acknowledge those the database already shows as ended."""
    ack = []
    for r in reports:
        job_id, attempt, rank = int(r["job_id"]), int(r["attempt"]), int(r.get("rank", 0))
        job = session.get(JobModel, job_id)
        if job is None or job.status not in LIVE or job.attempts != attempt or executor is None:
            ack.append({"job_id": job_id, "attempt": attempt, "rank": rank})
            if executor is not None:
                executor.forget(job_id, attempt)
            continue
        executor.report(job_id=job_id, attempt=attempt, rank=rank, ranks=max(1, len(job.placement)),
                        kind=str(r.get("kind", "failed")), exit_code=r.get("exit_code"),
                        reason=str(r.get("reason", "")), node=node.name)
    return ack


def _log_path(job: JobModel, rank: int) -> Path:
    return Path(job.handle["workdir"]) / ("output.log" if rank == 0 else f"output-rank{rank}.log")


def _store_logs(session: Session, chunks: list[dict[str, Any]]) -> None:
    """Append shipped log bytes to the server's copy; a chunk is written only at the offset it names."""
    for chunk in chunks:
        job = session.get(JobModel, int(chunk["job_id"]))
        if job is None or job.attempts != int(chunk["attempt"]) or not job.handle.get("workdir"):
            continue
        path = _log_path(job, int(chunk.get("rank", 0)))
        data = str(chunk.get("text", "")).encode()[:MAX_LOG_CHUNK_BYTES]
        size = path.stat().st_size if path.exists() else 0
        if int(chunk.get("offset", 0)) != size:
            continue  # a resend of bytes we already have, or a gap: the reply tells the agent our size
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as out:
            out.write(data)


def _log_offsets(session: Session, parts: set[tuple[int, int, int]]) -> dict[str, int]:
    """Bytes of each part's log the server holds ("job:attempt:rank" -> size), where the agent resumes."""
    out = {}
    for job_id, attempt, rank in parts:
        job = session.get(JobModel, job_id)
        if job is not None and job.attempts == attempt and job.handle.get("workdir"):
            path = _log_path(job, rank)
            out[f"{job_id}:{attempt}:{rank}"] = path.stat().st_size if path.exists() else 0
    return out


def job_gpu_util(jobs: list[JobModel], node_name: str, gpus: list[dict[str, Any]]) -> dict[int, float]:
    """Mean utilization of each job's GPUs on this node, from one heartbeat."""
    by_index = {int(g.get("index", -1)): float(g.get("util_pct") or 0) for g in gpus}
    out = {}
    for job in jobs:
        mine = [i for n, idx in job.placement if n == node_name for i in idx]
        if mine:
            out[job.id] = sum(by_index.get(i, 0.0) for i in mine) / len(mine)
    return out


def job_gpu_metrics(session: Session, job: JobModel) -> dict[str, Any]:
    """A job's GPUs with their latest telemetry from the agents of the nodes it runs on."""
    out = []
    for node_name, indices in job.placement:
        node = session.scalar(select(NodeModel).where(NodeModel.name == node_name))
        latest = (node.telemetry or {}) if node is not None else {}
        gpus = {int(g.get("index", -1)): g for g in latest.get("gpus", [])}
        for i in indices:
            g = gpus.get(int(i), {})
            out.append({"node": node_name, "gpu": int(i), "util_pct": g.get("util_pct"), "power_w": g.get("power_w"),
                        "temp_c": g.get("temp_c"), "mem_used_gib": g.get("mem_used_gib"), "at_s": latest.get("at_s")})
    known = [g for g in out if g["util_pct"] is not None]
    return {"job": job.id, "status": job.status, "gpus": out,
            "mean_util_pct": sum(g["util_pct"] for g in known) / len(known) if known else None,
            "power_w": sum(g["power_w"] or 0 for g in known) if known else None}
