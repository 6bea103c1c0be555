"""Nodes: list, and every status change (cordon, drain, uncordon, maintenance, down) through one function."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.status import InvalidTransition, NodeStatus, check_transition
from aidc.server.errors import Conflict, Forbidden, NotFound
from aidc.server.models import NodeModel
from aidc.server.security import Principal
from aidc.server.services import events
from aidc.server.services.jobs import inventory_changed

# the verbs of the API and the status each leads to
ACTIONS: dict[str, NodeStatus] = {
    "cordon": NodeStatus.CORDONED,
    "drain": NodeStatus.DRAINING,
    "uncordon": NodeStatus.ACTIVE,
    "maintenance": NodeStatus.MAINTENANCE,
}


def list_all(session: Session) -> list[NodeModel]:
    return list(session.scalars(select(NodeModel).order_by(NodeModel.id)))


def get(session: Session, *, name: str) -> NodeModel:
    row = session.scalar(select(NodeModel).where(NodeModel.name == name))
    if row is None:
        raise NotFound(f"no node {name!r}")
    return row


def set_status(session: Session, *, node: NodeModel, new: NodeStatus, actor: str, reason: str = "") -> None:
    """The one place a node's status changes: checked against the table, recorded as an event."""
    if node.status == new.value:
        return
    try:
        check_transition("node", node.status, new.value)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    events.record(session, entity="node", entity_id=node.id, actor=actor, reason=reason,
                  from_status=node.status, to_status=new.value)
    node.status = new.value
    inventory_changed()
    node.status_reason = reason


def act(session: Session, *, actor: Principal, name: str, action: str, reason: str = "") -> NodeModel:
    """cordon | drain | uncordon | maintenance, by an operator. A drain's jobs are requeued by the loop."""
    if not actor.is_staff:
        raise Forbidden("only operators and admins change nodes")
    if action not in ACTIONS:
        raise NotFound(f"unknown node action {action!r} (use {', '.join(ACTIONS)})")
    node = get(session, name=name)
    set_status(session, node=node, new=ACTIONS[action], actor=actor.user, reason=reason or action)
    if ACTIONS[action] == NodeStatus.ACTIVE:
        from aidc.server.services.health import close_by_person  # health builds on this module

        close_by_person(session, node, actor.user)
    session.commit()
    inventory_changed()  # again after the commit, so no request caches the old inventory meanwhile
    return node
