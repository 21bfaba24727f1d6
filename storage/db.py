"""Engine creation: `DATABASE_URL` picks SQLite (default, embedded) or PostgreSQL; and
the small helpers every storage module shares."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

DEFAULT_SQLITE_PATH = Path("var") / "cocreate.db"


def default_database_url() -> str:
    """`DATABASE_URL` if set, else a SQLite file under ./var (created if missing)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH.as_posix()}"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite connections get the pragmas and locking we rely on."""
    engine = create_async_engine(make_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def dialect_insert(connection: AsyncConnection, model: Any) -> Insert:
    """The dialect's INSERT, for ON CONFLICT: a plain INSERT that hits a unique
    constraint would abort the whole PostgreSQL transaction."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def jsonable(value: Any) -> Any:
    """A column's value as JSON has it (dates as ISO 8601)."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def aware(*times: datetime) -> None:
    """Raise ValueError for a naive datetime (UTCDateTime would, wrapped, only on write)."""
    for value in times:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLAlchemy's documented recipe: take transaction control away from sqlite3 and
    # emit BEGIN ourselves. IMMEDIATE takes the write lock up front, so concurrent
    # writers wait (busy_timeout) instead of failing with "database is locked" when a
    # deferred read lock would have to be upgraded mid-transaction.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA busy_timeout=5000")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
