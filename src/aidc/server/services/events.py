"""The audit trail: every status change and notable action becomes an event row."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.server.models import EventModel


def record(session: Session, *, entity: str, entity_id: int, actor: str, reason: str = "",
           from_status: str | None = None, to_status: str | None = None, at_s: float | None = None) -> EventModel:
    event = EventModel(entity=entity, entity_id=entity_id, at_s=at_s if at_s is not None else time.time(),
                       from_status=from_status, to_status=to_status, actor=actor, reason=reason)
    session.add(event)
    return event


def list_events(session: Session, *, entity: str, entity_id: int, limit: int = 1000) -> list[EventModel]:
    stmt = (select(EventModel).where(EventModel.entity == entity, EventModel.entity_id == entity_id)
            .order_by(EventModel.id).limit(limit))
    return list(session.scalars(stmt))


def recent_events(session: Session, *, limit: int = 50) -> list[EventModel]:
    return list(session.scalars(select(EventModel).order_by(EventModel.id.desc()).limit(limit)))
