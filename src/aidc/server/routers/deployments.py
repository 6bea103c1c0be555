"""/api/v1/deployments: serving jobs with their endpoints, and a prompt passed through to one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from aidc.server.deps import PrincipalDep, RowId, SessionDep
from aidc.server.schemas import Body
from aidc.server.services import deployments, jobs

router = APIRouter(prefix="/api/v1", tags=["serving"])


class PromptIn(Body):
    prompt: str = Field(min_length=1, max_length=8192)
    max_tokens: int = Field(default=32, ge=1, le=512)


@router.get("/deployments")
def list_deployments(session: SessionDep, me: PrincipalDep) -> list[dict[str, Any]]:
    rows = jobs.list_visible(session, actor=me, kind="serve", limit=500)
    return [{"id": j.id, "name": j.name, "status": j.status, "replicas": j.spec.get("replicas", 1),
             "deployment": (j.spec.get("env") or {}).get("AIDC_DEPLOYMENT", j.name),
             "replica": int((j.spec.get("env") or {}).get("AIDC_REPLICA", 0)),
             "endpoint": deployments.endpoint_of(j), "started_s": j.started_s} for j in rows]


@router.post("/deployments/{job_id}/prompt")
def prompt(job_id: RowId, body: PromptIn, session: SessionDep, me: PrincipalDep) -> dict[str, Any]:
    return deployments.prompt(session, actor=me, job_id=job_id, text=body.prompt, max_tokens=body.max_tokens)
