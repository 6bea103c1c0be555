"""FastAPI dependencies: a database session per request and the authenticated caller.

Both are `async` on purpose: FastAPI runs a sync dependency on a worker thread, and each hop between
the event loop and a thread costs more than what these do (a Session object connects lazily, on first
use in the endpoint's own thread; a token is resolved from a 5 s in-memory cache, else one indexed read).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from aidc.server.errors import Forbidden
from aidc.server.security import AGENT_PATH_PREFIX, Principal, Role, agent_may_call, job_may_call
from aidc.server.services import auth


async def get_session(request: Request) -> AsyncIterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    me = auth.resolve(session, token.strip() if scheme.lower() == "bearer" else None)
    if me.role == Role.AGENT and not agent_may_call(request.url.path):
        raise Forbidden(f"an agent token only registers node agents and sends heartbeats ({AGENT_PATH_PREFIX}...)")
    if me.role == Role.JOB and not job_may_call(request.method, request.url.path, me.job_id):
        raise Forbidden(f"a job token only reads its own job (GET /api/v1/jobs/{me.job_id}, its events and logs)")
    return me


PrincipalDep = Annotated[Principal, Depends(get_principal)]

MAX_ROW_ID = 2**63 - 1  # a signed 64-bit integer: what SQLite and PostgreSQL store; more is a 422, not a 500
MAX_OFFSET = 2**62  # byte and row offsets: far past any log or table, still an int64 for seek()
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id (1 .. 2^63-1)")]

