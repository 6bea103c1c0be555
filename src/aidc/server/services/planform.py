"""The dashboard's plan form: a training or serving spec through `aidc.planning`, placed on an imported datacenter."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aidc.core.errors import AidcError
from aidc.core.gpus import DEFAULT_CATALOG
from aidc.core.loader import datacenter_from_text
from aidc.core.spec_io import format_path
from aidc.planning.models import PRESETS
from aidc.planning.planner import plan_serving, plan_training
from aidc.planning.report import serve_dict, train_dict
from aidc.planning.specs import ServeSpec, TrainSpec
from aidc.server.errors import BadRequest
from aidc.server.models import JobModel, NodeModel
from aidc.server.services import datacenters
from aidc.server.services.jobs import LIVE
from aidc.server.services.snapshot import used_gpu_indices


def options() -> dict[str, Any]:
    return {"models": sorted(PRESETS), "gpus": DEFAULT_CATALOG.names()}


def _validated(model: type[TrainSpec] | type[ServeSpec], spec: dict[str, Any]) -> TrainSpec | ServeSpec:
    try:
        return model.model_validate(spec)
    except ValidationError as exc:
        problems = [f"{format_path(e['loc']) or 'spec'}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors(include_url=False)]
        raise BadRequest("; ".join(problems), field=format_path(exc.errors()[0]["loc"])) from None


def free_now(session: Session, nodes: list[str]) -> int:
    """GPUs free right now on these nodes (active ones only): whether the plan could start today."""
    rows = session.scalars(select(NodeModel).where(NodeModel.name.in_(nodes), NodeModel.status == "active"))
    used = used_gpu_indices(list(session.scalars(select(JobModel).where(JobModel.status.in_(LIVE)))))
    return sum(n.gpus - len(used.get(n.name, ())) for n in rows)


def plan(session: Session, *, kind: str, spec: dict[str, Any], datacenter: str | None = None) -> dict[str, Any]:
    """The planner's breakdown (as `aidc plan train|serve --json`), plus GPUs free now where it would be placed."""
    dc = None
    if datacenter:
        row = datacenters.get(session, name=datacenter)
        dc = datacenter_from_text(json.dumps(row.spec), source=f"datacenter {row.name}")
    try:
        if kind == "train":
            out = train_dict(plan_training(_validated(TrainSpec, spec), dc))
        else:
            out = serve_dict(plan_serving(_validated(ServeSpec, spec), dc))
    except AidcError as exc:
        raise BadRequest(str(exc)) from None
    placement = out.get("placement")
    if placement and placement.get("nodes"):
        placement["gpus_free_now"] = free_now(session, placement["nodes"])
    return {"kind": kind, **out}
