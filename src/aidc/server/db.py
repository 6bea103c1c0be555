"""Engine and session factory; SQLite gets WAL, a busy timeout and foreign keys."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Base of all ORM models."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # More connections than request threads (anyio's 40) plus the loop: a request holds its
        # connection across FastAPI's thread hand-offs (dependency, endpoint, response, teardown), so
        # a thread must never wait for a connection, or holders and waiters can starve each other.
        # and keep them all open: an overflow connection is closed when returned, and opening one (file,
        # WAL, pragmas) cost more than the request it served under load
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=48,
                               max_overflow=16)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)  # >= threads + loop, as above


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic migrations under server/migrations)."""
    from aidc.server.migrate import upgrade

    upgrade(engine)
