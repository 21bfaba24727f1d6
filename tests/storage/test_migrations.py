"""Alembic migrations on every backend, on a blank database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import create_engine
from storage.models import Base


@pytest.fixture
def blank_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}"
    return request.getfixturevalue("pg_database")(migrated=False)


async def _schema(url: str) -> tuple[set[str], list]:
    """Table names, and how the database differs from the models (empty: no difference)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def inspect_sync(sync):
                context = MigrationContext.configure(sync, opts={"compare_type": True})
                tables = set(inspect(sync).get_table_names())
                return tables, compare_metadata(context, Base.metadata)

            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


async def test_upgrade_reaches_head_and_matches_the_models(blank_url: str) -> None:
    assert migrate.head_revision() == "0012"
    assert await migrate.current_revision(blank_url) is None
    await migrate.upgrade(blank_url)  # from inside this running event loop
    assert await migrate.current_revision(blank_url) == migrate.head_revision()
    tables, diff = await _schema(blank_url)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert diff == []
    await migrate.upgrade(blank_url)  # at head already: a no-op
    assert await migrate.current_revision(blank_url) == migrate.head_revision()


async def test_downgrade_to_base_and_back(blank_url: str) -> None:
    await migrate.upgrade(blank_url)
    await migrate.downgrade(blank_url, "base")
    assert await migrate.current_revision(blank_url) is None
    assert (await _schema(blank_url))[0] == {"alembic_version"}
    await migrate.upgrade(blank_url)
    assert await migrate.current_revision(blank_url) == migrate.head_revision()


async def test_an_existing_database_keeps_its_rows_when_migrated(blank_url: str) -> None:
    """A coalition already running on 0001 upgrades without losing what members shared."""
    await migrate.upgrade(blank_url, "0001")
    engine = create_engine(blank_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO reflections (coalition_id, member_id, principle, text, created_at) "
                "VALUES ('c', 'm', 3, 'kept æøå', '2026-01-01 00:00:00')")
        await migrate.upgrade(blank_url)
        async with engine.connect() as connection:
            rows = (await connection.exec_driver_sql("SELECT text FROM reflections")).all()
    finally:
        await engine.dispose()
    assert [r[0] for r in rows] == ["kept æøå"]
    assert await migrate.current_revision(blank_url) == "0012"
