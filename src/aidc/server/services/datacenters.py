"""Import a datacenter spec into the inventory (one node row per node, tenants from the spec), or the nodes
an engine or a node agent reports (a spec is generated for them, so every page and what-if works the same)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.errors import SpecError
from aidc.core.loader import datacenter_from_text
from aidc.server.errors import BadRequest, Conflict, Forbidden, NotFound
from aidc.server.models import DatacenterModel, NodeModel, TenantModel
from aidc.server.security import Principal
from aidc.core.tenancy import TenantSandbox
from aidc.server.services import events, tenants
from aidc.server.services.jobs import inventory_changed


def import_spec(session: Session, *, actor: Principal, yaml_text: str, source: str = "spec.yaml") -> DatacenterModel:
    """Validate and import; all-or-nothing (a bad spec changes nothing)."""
    if not actor.is_staff:
        raise Forbidden("only operators and admins import datacenters")
    try:
        dc = datacenter_from_text(yaml_text, source=source)
    except SpecError as exc:
        raise BadRequest(str(exc)) from None
    if session.scalar(select(DatacenterModel).where(DatacenterModel.name == dc.name)):
        raise Conflict(f"datacenter {dc.name!r} is already imported", field="name")
    clash = session.scalars(select(NodeModel.name).where(NodeModel.name.in_([n.name for n in dc.nodes]))).first()
    if clash:
        raise Conflict(f"node {clash!r} already exists in another datacenter")
    row = DatacenterModel(name=dc.name, spec=dc.spec.model_dump(mode="json"), imported_s=time.time())
    session.add(row)
    session.flush()
    for t in dc.spec.tenants:
        if not session.scalar(select(TenantModel).where(TenantModel.name == t.name)):
            tenants.create(session, actor=actor, name=t.name, description=t.description, gpu_quota=dict(t.gpu_quota),
                           sandbox=TenantSandbox.model_validate(t.model_dump(include={"volumes", "unix_uid", "isolation"})),
                           commit=False)
    for n in dc.nodes:
        session.add(NodeModel(datacenter_id=row.id, name=n.name, rack=n.rack, gpu_model=n.gpu_model, gpus=n.gpus,
                              cpu_cores=n.cpu_cores, ram_gib=n.ram_gib, tenant=n.tenant, nvlink_domain=n.nvlink_domain,
                              leaf_group=n.leaf_group, max_power_kw=n.max_power_kw, status="active"))
    events.record(session, entity="dc", entity_id=row.id, actor=actor.user,
                  reason=f"imported {len(dc.nodes)} nodes, {dc.total_gpus} GPUs")
    session.commit()
    inventory_changed()
    return row


def list_all(session: Session) -> list[DatacenterModel]:
    return list(session.scalars(select(DatacenterModel).order_by(DatacenterModel.id)))


def get(session: Session, *, name: str) -> DatacenterModel:
    row = session.scalar(select(DatacenterModel).where(DatacenterModel.name == name))
    if row is None:
        raise NotFound(f"no datacenter {name!r}")
    return row


NODES_PER_GENERATED_RACK = 32
_IMPORT_LOCK = threading.Lock()  # agents register concurrently; each import regenerates one spec


def spec_from_nodes(name: str, nodes: list[dict[str, Any]], tenants: tuple[str, ...] = ()) -> dict[str, Any]:
    """A datacenter spec holding exactly these named nodes: one rack (or more) per partition.

    Each node is a dict with name, gpus, cpu_cores, ram_gib, and optionally gpu_model and partition.
    A node without a known GPU model gets virtual GPUs (`VGPU`), as engines with fake GPUs report.
    """
    templates: dict[tuple, str] = {}
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in sorted(nodes, key=lambda n: n["name"]):
        by_partition[node.get("partition") or "default"].append(node)
    node_templates: dict[str, dict[str, Any]] = {}
    racks = []
    for partition, members in sorted(by_partition.items()):
        for k in range(0, len(members), NODES_PER_GENERATED_RACK):
            chunk = members[k:k + NODES_PER_GENERATED_RACK]
            entries = []
            for node in chunk:
                key = (node.get("gpu_model") or "VGPU", int(node["gpus"]), int(node["cpu_cores"]), float(node["ram_gib"]))
                if key not in templates:
                    templates[key] = f"t{len(templates) + 1}"
                    node_templates[templates[key]] = {
                        "gpu": key[0] if key[1] else None, "gpus": key[1], "virtual_gpus": key[0] == "VGPU",
                        "cpu_cores": max(1, key[2]), "ram_gib": max(1.0, key[3]), "nics": {"count": 0}, "height_u": 1}
                entries.append({"template": templates[key], "name": node["name"]})
            budget_kw = float(sum(2.0 + 2.0 * int(n["gpus"]) for n in chunk))
            rack_name = partition if len(members) <= NODES_PER_GENERATED_RACK else f"{partition}-{k // NODES_PER_GENERATED_RACK + 1}"
            racks.append({"name": rack_name, "power_budget_kw": budget_kw, "height_u": max(42, len(chunk) + 2),
                          "cooling": {"type": "liquid"}, "nodes": entries})
    for tmpl in node_templates.values():
        if tmpl["gpu"] is None:
            del tmpl["gpu"]
    spec = {"name": name, "description": "nodes reported by an engine or node agents",
            "site": {"name": name, "rooms": [{"name": "discovered", "racks": racks}]},
            "node_templates": node_templates}
    if tenants:
        spec["tenants"] = [{"name": t} for t in tenants]
    return spec


def import_nodes(session: Session, *, actor: Principal, name: str, nodes: list[dict[str, Any]],
                 source: str, agent_joining: bool = False) -> DatacenterModel:
    """Add or update engine-reported nodes (see `_import_nodes`), one import at a time. Operators and
    admins may; an agent-role caller only for its own node joining (`agent_joining`, from register)."""
    if not (actor.runs_agents if agent_joining else actor.is_staff):
        raise Forbidden("only operators and admins import nodes")
    with _IMPORT_LOCK:
        session.rollback()  # read what the previous import committed
        return _import_nodes(session, actor=actor, name=name, nodes=nodes, source=source)


def _import_nodes(session: Session, *, actor: Principal, name: str, nodes: list[dict[str, Any]],
                  source: str) -> DatacenterModel:
    """Add or update engine-reported nodes in datacenter `name` (created when absent); all-or-nothing.

    Nodes already known keep their status and history; their size is updated. A node that belongs
    to another datacenter is refused, so an agent cannot take over a node declared elsewhere.
    """
    if not nodes:
        raise BadRequest(f"{source} reported no nodes")
    row = session.scalar(select(DatacenterModel).where(DatacenterModel.name == name))
    existing = {n.name: n for n in session.scalars(select(NodeModel).where(NodeModel.name.in_([n["name"] for n in nodes])))}
    foreign = [n for n in existing.values() if row is None or n.datacenter_id != row.id]
    if foreign:
        raise Conflict(f"node {foreign[0].name!r} already exists in another datacenter", field="name")
    known: dict[str, dict[str, Any]] = {}
    if row is not None:  # the datacenter's nodes so far, so the regenerated spec still holds them
        for n in session.scalars(select(NodeModel).where(NodeModel.datacenter_id == row.id)):
            known[n.name] = {"name": n.name, "gpus": n.gpus, "cpu_cores": n.cpu_cores, "ram_gib": n.ram_gib,
                             "gpu_model": n.gpu_model, "partition": n.rack}
    known.update({n["name"]: dict(n) for n in nodes})
    spec = spec_from_nodes(name, list(known.values()))
    try:
        dc = datacenter_from_text(json.dumps(spec), source=source)
    except SpecError as exc:
        raise BadRequest(f"{source}: the reported nodes do not form a valid datacenter: {exc}") from None
    stored = dc.spec.model_dump(mode="json")
    if row is None:
        row = DatacenterModel(name=name, spec=stored, imported_s=time.time())
        session.add(row)
        session.flush()
    else:
        row.spec = stored
    reported = {n["name"] for n in nodes}
    for n in dc.nodes:
        if n.name not in reported:
            continue
        node = existing.get(n.name)
        if node is None:
            node = NodeModel(datacenter_id=row.id, name=n.name, rack=n.rack, status="active", tenant=None)
            session.add(node)
        node.rack, node.gpu_model, node.gpus, node.cpu_cores, node.ram_gib = n.rack, n.gpu_model, n.gpus, n.cpu_cores, n.ram_gib
        node.nvlink_domain, node.leaf_group, node.max_power_kw = n.nvlink_domain, n.leaf_group, n.max_power_kw
    events.record(session, entity="dc", entity_id=row.id, actor=actor.user,
                  reason=f"{source}: {len(reported)} nodes reported ({len(reported) - len(existing)} new)")
    session.commit()
    inventory_changed()
    return row
