"""Engine creation: `DATABASE_URL` picks SQLite (default, embedded) or PostgreSQL; and
the small helpers every storage module shares."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.ports import StorageUnavailable
from storage import sqlite

DEFAULT_SQLITE_PATH = Path("var") / "cocreate.db"
POOL = 32  # PostgreSQL connections a process keeps open: one per event worked on (adapters.backlog)


def default_database_url() -> str:
    """`DATABASE_URL` if set, else a SQLite file under ./var (created if missing)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH.as_posix()}"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite connections get the pragmas and locking we rely on, and a
    database that cannot be written or reached raises `StorageUnavailable`."""
    parsed = sqlite.inline_url(make_url(url))
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), **sqlite.connect_args()}
    elif "poolclass" not in kwargs:
        # Kept open for the events worked on at once (adapters.backlog.RUNNING): a connection
        # past the pool is closed when returned, and opening one costs a round trip per setting
        # and a server process (a burst opened and closed hundreds a second, bench/engine.py).
        kwargs.setdefault("pool_size", POOL)
        kwargs.setdefault("max_overflow", POOL // 4)
    engine = create_async_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        sqlite.configure(engine)
    event.listen(engine.sync_engine, "handle_error", _unavailable)
    event.listen(engine.sync_engine, "do_connect", _connect)
    return engine


# What the driver says when the database cannot be used at all (not a bug of ours), and how
# we say it in one log line.
_UNAVAILABLE = (
    ("database or disk is full", "the disk is full"),
    ("readonly database", "the database is read-only"),
    ("unable to open database file", "the database file cannot be opened"),
    ("disk i/o error", "disk I/O error"),
    ("starting up", "the database server is starting up"),
    ("shutting down", "the database server is shutting down"),
    ("administrator command", "the database server closed the connection"),
    ("connection refused", "the database server refuses connections"),
    ("connection was closed", "the database connection was lost"),
    ("connection is closed", "the database connection was lost"),
    ("connection reset", "the database connection was lost"),
)


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a connection; one the server refuses (down, restarting) is `StorageUnavailable`
    (SQLAlchemy's handle_error does not see errors of the driver's own connect)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except StorageUnavailable:
        raise
    except Exception as error:
        said = f"{type(error).__name__}: {error}".lower()
        reason = next((why for text, why in _UNAVAILABLE if text in said), None)
        if reason is None and isinstance(error, OSError):
            reason = "the database server refuses connections"
        if reason is None:
            raise
        raise StorageUnavailable(reason) from error


def _unavailable(context: Any) -> None:
    """SQLAlchemy's handle_error hook: a full or read-only disk, or a database server that is
    away, becomes `StorageUnavailable` (handled: one log line, the member asked to send again)."""
    error = context.original_exception
    said = f"{type(error).__name__}: {error}".lower()
    reason = next((why for text, why in _UNAVAILABLE if text in said), None)
    if reason is None and (context.is_disconnect or isinstance(error, (ConnectionError, OSError))):
        reason = "the database connection was lost"
    if reason is not None:
        raise StorageUnavailable(reason) from error


def dialect_insert(on: AsyncConnection | str, model: Any) -> Insert:
    """The dialect's INSERT, for ON CONFLICT: a plain INSERT that hits a unique
    constraint would abort the whole PostgreSQL transaction. `on`: a connection, or the
    dialect's name (for statements built once)."""
    name = on if isinstance(on, str) else on.dialect.name
    return (postgresql if name == "postgresql" else sqlite_dialect).insert(model)


def jsonable(value: Any) -> Any:
    """A column's value as JSON has it (dates as ISO 8601)."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def aware(*times: datetime) -> None:
    """Raise ValueError for a naive datetime (UTCDateTime would, wrapped, only on write)."""
    for value in times:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
