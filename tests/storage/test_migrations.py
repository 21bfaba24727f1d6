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


def test_head_is_the_newest_migration() -> None:
    # `cocreate serve` compares the database with HEAD, not with Alembic's scripts (that import
    # costs every start ~0.09 s): a new migration must move HEAD too.
    head = migrate.head_revision()
    assert migrate.HEAD == head, f"a migration was added: set HEAD = {head!r} in storage/migrate.py"


async def _on(url: str, read):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def _alembic_revision(sync) -> str | None:  # type: ignore[no-untyped-def]
    return MigrationContext.configure(sync).get_current_revision()


async def test_the_revision_is_read_as_alembic_reads_it(blank_url: str) -> None:
    """No table (never migrated), a revision, the head, an empty table (downgraded to base)."""
    seen = [(await migrate.current_revision(blank_url), await _on(blank_url, _alembic_revision))]
    for step in (lambda: migrate.upgrade(blank_url, "0001"), lambda: migrate.upgrade(blank_url),
                 lambda: migrate.downgrade(blank_url, "base")):
        await step()
        seen.append((await migrate.current_revision(blank_url), await _on(blank_url, _alembic_revision)))
    head = migrate.head_revision()
    assert seen == [(None, None), ("0001", "0001"), (head, head), (None, None)]


async def test_two_revisions_at_once_are_an_error_as_in_alembic(blank_url: str) -> None:
    await migrate.upgrade(blank_url, "0001")
    engine = create_engine(blank_url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('0002')")
    finally:
        await engine.dispose()
    with pytest.raises(Exception) as alembic:
        await _on(blank_url, _alembic_revision)
    with pytest.raises(RuntimeError) as ours:
        await migrate.current_revision(blank_url)
    assert str(ours.value) == str(alembic.value)


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
