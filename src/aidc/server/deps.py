"""FastAPI dependencies: a database session per request and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aidc.server.security import Principal
from aidc.server.services import auth


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return auth.resolve(session, token.strip() if scheme.lower() == "bearer" else None)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
