"""The Alembic migrations build exactly the schema the SQLAlchemy models describe."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import aidc.server.models  # noqa: F401 (registers the tables)
    from aidc.server.db import Base, create_schema

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    create_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
