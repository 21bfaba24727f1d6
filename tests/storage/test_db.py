"""Engine set-up: the default database, SQLite pragmas, constraints and UTC timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.records import Story
from storage import migrate, sqlite
from storage.db import create_engine, default_database_url
from storage.models import CheckInRow, ProcessedEvent
from storage.repository import SqlStore


def test_default_database_is_a_sqlite_file_under_var(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_database_url() == "sqlite+aiosqlite:///var/cocreate.db"
    assert (tmp_path / "var").is_dir()


def test_database_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot@db.example/cocreate")
    monkeypatch.chdir(tmp_path)
    assert default_database_url() == "postgresql+asyncpg://bot@db.example/cocreate"
    assert not (tmp_path / "var").exists()


async def test_the_default_database_can_be_migrated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    url = default_database_url()
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    assert (tmp_path / "var" / "cocreate.db").is_file()


async def test_sqlite_connections_get_their_pragmas(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}")  # noqa: E731
            assert (await pragma("foreign_keys")).scalar() == 1
            assert (await pragma("journal_mode")).scalar() == "wal"
            # Another process's write lock is waited for on the event loop (test_sqlite_burst);
            # SQLite's own busy wait covers only a WAL reader's rare waits.
            assert (await pragma("busy_timeout")).scalar() == sqlite.BUSY_INSIDE_MS
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(insert(CheckInRow).values(
                    coalition_id="C", member_id="U1", experiment_id=12345, citizen_impact=1,
                    intended_seen="", unintended="", evidence="", decision="",
                    created_at=datetime.now(timezone.utc),
                ))
    finally:
        await engine.dispose()


async def test_timestamps_come_back_as_aware_utc(store: SqlStore) -> None:
    copenhagen_winter = timezone(timedelta(hours=1))
    now = datetime(2026, 1, 5, 23, 30, 0, 1, tzinfo=copenhagen_winter)
    async with store.unit() as unit:
        await unit.add([Story("C", "U1", "t", "b", (1,), ("s",), "share", False)], now)
        await unit.claim_event("E1")
    async with store.unit() as unit:
        [story] = await unit.stories("C", "U1")
        processed = (await unit._db.execute(select(ProcessedEvent.processed_at))).scalar_one()
    assert story.created_at == now
    assert story.created_at.tzinfo == timezone.utc and story.created_at.day == 5
    assert story.created_at.hour == 22 and story.created_at.microsecond == 1
    assert processed.tzinfo == timezone.utc
    assert abs(processed - datetime.now(timezone.utc)) < timedelta(minutes=1)
    [exported] = (await store.export("C"))["stories"]
    assert exported["created_at"] == "2026-01-05T22:30:00.000001+00:00"
