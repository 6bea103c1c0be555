"""The health loop: rules on node telemetry, heartbeats and job failures drain a node, open a repair,
and a passed check returns the node to service; every step a status change with an event.

Rules (all configurable through `HealthRules`, from the server settings):
- xid: a GPU reported one of the critical XID codes (bus fall-off, uncorrectable ECC, NVLink, GSP).
- ecc: a GPU's uncorrected ECC error count went above zero.
- temperature: a GPU at or above `max_gpu_temp_c` for `hot_samples` heartbeats in a row.
- failed_jobs: `failed_jobs_in_a_row` different jobs failed on the node with none succeeding between.
- heartbeat: no heartbeat for `heartbeat_misses` intervals: the node is down, its jobs are requeued.
- engine: the executor's engine (Slurm, Ray) reports the node down; it comes back when the engine does.
The first four drain the node (its jobs get SIGTERM to checkpoint, then go back to the queue); once
empty it is in maintenance, and its agent runs the check (`check_command`, or the agent's built-in
GPU check). A pass puts it back to active and closes the repair; a failure retries after
`check_retry_s`, at most `max_checks` times, then waits for a person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.status import NodeStatus
from aidc.server.models import NodeModel, RepairModel
from aidc.server.services import events
from aidc.server.services import nodes as nodes_service

ACTOR = "health"
# XIDs that mean the GPU needs attention (NVIDIA's XID catalog): 48 double-bit ECC, 63/64 row remapping,
# 74 NVLink, 79 fell off the bus, 92 high single-bit ECC rate, 94/95 contained/uncontained ECC, 119/120 GSP
CRITICAL_XIDS = frozenset({48, 63, 64, 74, 79, 92, 94, 95, 119, 120})


@dataclass(frozen=True)
class HealthRules:
    heartbeat_interval_s: float = 5.0
    heartbeat_misses: int = 3
    max_gpu_temp_c: float = 90.0
    hot_samples: int = 3
    xid_codes: frozenset[int] = CRITICAL_XIDS
    drain_on_ecc_uncorrected: bool = True
    failed_jobs_in_a_row: int = 3
    check_command: str | None = None  # None: the agent's built-in check
    check_retry_s: float = 30.0
    check_timeout_s: float = 300.0
    max_checks: int = 5

    @property
    def node_lost_after_s(self) -> float:
        return self.heartbeat_interval_s * self.heartbeat_misses


@dataclass(frozen=True)
class Finding:
    rule: Literal["xid", "ecc", "temperature", "failed_jobs", "heartbeat", "engine"]
    reason: str


def telemetry_findings(gpus: list[dict[str, Any]], hot_streak: int, rules: HealthRules) -> tuple[list[Finding], int]:
    """Findings from one heartbeat's GPU telemetry, and the new count of hot heartbeats in a row (pure)."""
    found: list[Finding] = []
    for gpu in gpus:
        bad = sorted(set(int(x) for x in gpu.get("xids") or ()) & rules.xid_codes)
        if bad:
            found.append(Finding("xid", f"GPU {gpu.get('index')}: XID {', '.join(map(str, bad))}"))
        if rules.drain_on_ecc_uncorrected and int(gpu.get("ecc_uncorrected") or 0) > 0:
            found.append(Finding("ecc", f"GPU {gpu.get('index')}: {int(gpu['ecc_uncorrected'])} uncorrected ECC errors"))
    hot = [g for g in gpus if float(g.get("temp_c") or 0) >= rules.max_gpu_temp_c]
    streak = hot_streak + 1 if hot else 0
    if streak >= rules.hot_samples:
        worst = max(hot, key=lambda g: float(g["temp_c"]))
        found.append(Finding("temperature", f"GPU {worst.get('index')} at {float(worst['temp_c']):.0f} C for "
                                            f"{streak} heartbeats (limit {rules.max_gpu_temp_c:g} C)"))
    return found, streak


@dataclass
class HealthMonitor:
    """Per-node state the rules need between heartbeats and jobs (kept in memory; rebuilt as they come)."""

    rules: HealthRules = field(default_factory=HealthRules)
    started_s: float = field(default_factory=time.time)
    _hot: dict[str, int] = field(default_factory=dict)
    _failed: dict[str, list[int]] = field(default_factory=dict)  # node -> distinct jobs failed in a row

    # -- telemetry (request threads, one heartbeat at a time per node) ------------------------
    def on_telemetry(self, session: Session, node: NodeModel, gpus: list[dict[str, Any]]) -> list[Finding]:
        found, self._hot[node.name] = telemetry_findings(gpus, self._hot.get(node.name, 0), self.rules)
        for finding in found[:1]:  # one repair per node at a time; the first finding names it
            take_out(session, node, finding, NodeStatus.DRAINING)
        return found

    # -- job ends (scheduler thread) ----------------------------------------------------------
    def on_job_end(self, session: Session, node_names: list[str], job_id: int, succeeded: bool) -> None:
        for name in node_names:
            streak = self._failed.setdefault(name, [])
            if succeeded:
                streak.clear()
                continue
            if job_id not in streak:
                streak.append(job_id)
            if len(streak) >= self.rules.failed_jobs_in_a_row:
                node = session.scalar(select(NodeModel).where(NodeModel.name == name))
                if node is not None:
                    ids = ", ".join(map(str, streak))
                    take_out(session, node, Finding("failed_jobs", f"{len(streak)} jobs failed on it in a row ({ids})"),
                             NodeStatus.DRAINING)
                streak.clear()

    # -- heartbeats (scheduler thread) --------------------------------------------------------
    def check_heartbeats(self, session: Session, now_s: float) -> list[str]:
        """Nodes whose agent went silent: down, with a repair. Returns their names."""
        limit_s = self.rules.node_lost_after_s
        silent_since = now_s - limit_s
        if self.started_s > silent_since:  # give agents a full window after a server (re)start
            return []
        rows = session.scalars(select(NodeModel).where(NodeModel.agent_seen_s.is_not(None),
                                                       NodeModel.agent_seen_s < silent_since,
                                                       NodeModel.status != NodeStatus.DOWN.value))
        lost = []
        for node in rows:
            gap_s = now_s - float(node.agent_seen_s or 0)
            take_out(session, node, Finding("heartbeat", f"no heartbeat for {gap_s:.1f} s "
                                                         f"({self.rules.heartbeat_misses} intervals of "
                                                         f"{self.rules.heartbeat_interval_s:g} s)"), NodeStatus.DOWN)
            lost.append(node.name)
        return lost

    # -- the engine's own view (scheduler thread) ---------------------------------------------
    def on_engine_states(self, session: Session, states: dict[str, str], engine: str) -> list[str]:
        """Nodes the engine (Slurm, Ray) reports down go down in aidc, with a repair; when the engine
        reports one back, a repair opened for that reason passes. Returns the nodes that changed."""
        changed = []
        rows = session.scalars(select(NodeModel).where(NodeModel.name.in_(list(states))))
        for node in rows:
            state = states[node.name]
            if state == "down" and node.status not in (NodeStatus.DOWN.value, NodeStatus.MAINTENANCE.value):
                take_out(session, node, Finding("engine", f"{engine} reports the node down"), NodeStatus.DOWN)
                changed.append(node.name)
            elif state == "active" and node.status == NodeStatus.DOWN.value:
                repair = open_repair(session, node.id)
                if repair is not None and repair.rule == "engine":
                    repair.status, repair.closed_s = "passed", time.time()
                    repair.check_output = f"{engine} reports the node up again"
                    nodes_service.set_status(session, node=node, new=NodeStatus.ACTIVE, actor=ACTOR,
                                             reason=f"{engine} reports it up again (repair {repair.id})")
                    changed.append(node.name)
        return changed

    # -- repair checks (request threads) ------------------------------------------------------
    def due_check(self, session: Session, node: NodeModel, now_s: float) -> dict[str, Any] | None:
        """A check for this node's agent to run now, if its repair waits for one."""
        if node.status not in (NodeStatus.MAINTENANCE.value, NodeStatus.DOWN.value):
            return None
        repair = open_repair(session, node.id)
        if repair is None or repair.next_check_s > now_s:
            return None
        repair.status = "checking"
        repair.checks += 1
        repair.next_check_s = now_s + self.rules.check_timeout_s  # asked again if no result comes back
        return {"repair_id": repair.id, "command": self.rules.check_command, "timeout_s": self.rules.check_timeout_s}

    def on_check_result(self, session: Session, node: NodeModel, repair_id: int, passed: bool, output: str,
                        now_s: float) -> None:
        repair = session.get(RepairModel, repair_id)
        if repair is None or repair.node_id != node.id or repair.status != "checking":
            return
        repair.check_output = output[-4000:]
        if passed:
            repair.status, repair.closed_s = "passed", now_s
            nodes_service.set_status(session, node=node, new=NodeStatus.ACTIVE, actor=ACTOR,
                                     reason=f"passed check {repair.checks} of repair {repair.id} ({repair.rule})")
            return
        if repair.checks >= self.rules.max_checks:
            repair.status = "failed"  # a person takes it from here; the node stays out of service
            events.record(session, entity="node", entity_id=node.id, actor=ACTOR,
                          reason=f"repair {repair.id}: failed {repair.checks} checks, needs a person")
            return
        repair.status, repair.next_check_s = "open", now_s + self.rules.check_retry_s


def open_repair(session: Session, node_id: int) -> RepairModel | None:
    return session.scalar(select(RepairModel).where(RepairModel.node_id == node_id,
                                                    RepairModel.status.in_(("open", "checking"))))


def take_out(session: Session, node: NodeModel, finding: Finding, status: NodeStatus) -> RepairModel:
    """Drain (or mark down) a node for a finding and open a repair for it; one open repair per node."""
    repair = open_repair(session, node.id)
    if repair is None:
        repair = RepairModel(node_id=node.id, rule=finding.rule, reason=finding.reason, status="open",
                             opened_s=time.time(), checks=0, next_check_s=0.0, check_output="")
        session.add(repair)
    if node.status == NodeStatus.DRAINING.value and status == NodeStatus.DRAINING:
        return repair
    if status == NodeStatus.DRAINING and node.status in (NodeStatus.MAINTENANCE.value, NodeStatus.DOWN.value):
        return repair  # already out of service
    nodes_service.set_status(session, node=node, new=status, actor=ACTOR, reason=f"{finding.rule}: {finding.reason}")
    return repair


def close_by_person(session: Session, node: NodeModel, actor: str) -> None:
    """An operator put the node back by hand: its repair is closed with their name."""
    repair = open_repair(session, node.id) or session.scalar(
        select(RepairModel).where(RepairModel.node_id == node.id, RepairModel.status == "failed"))
    if repair is not None:
        repair.status, repair.closed_s = "closed", time.time()
        repair.check_output = (repair.check_output + f"\nclosed by {actor}").strip()


def list_repairs(session: Session, *, open_only: bool = False) -> list[tuple[RepairModel, str]]:
    query = select(RepairModel, NodeModel.name).join(NodeModel, NodeModel.id == RepairModel.node_id)
    if open_only:
        query = query.where(RepairModel.status.in_(("open", "checking", "failed")))
    return [(r, n) for r, n in session.execute(query.order_by(RepairModel.id.desc()))]
