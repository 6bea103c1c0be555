"""Import a datacenter spec into the inventory: one node row per node, tenants created from the spec."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.errors import SpecError
from aidc.core.loader import datacenter_from_text
from aidc.server.errors import BadRequest, Conflict, Forbidden, NotFound
from aidc.server.models import DatacenterModel, NodeModel, TenantModel
from aidc.server.security import Principal
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
