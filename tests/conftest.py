"""Fixtures for the whole suite: migrated databases on every storage backend.

Databases are set up from synchronous fixtures through `run_async`, which runs a
coroutine on a private event loop in a worker thread. That keeps session-scoped setup
independent of pytest-asyncio's per-test loops (engines and asyncpg connections must
never cross loops), and it works from sync and async tests alike.

- `db_url`: parametrized over `sqlite` and `postgres`; the session's shared migrated
  database for that backend, emptied before the test.
- `store`: an empty `SqlStore` on `db_url`.
- `sqlite_url`: a fresh migrated SQLite file of the test's own (e.g. for subprocesses).
- `pg_admin_url`, `pg_url`, `pg_database`: PostgreSQL server, shared migrated test
  database, and a factory for fresh databases dropped after the test.

PostgreSQL comes from `COCREATE_TEST_POSTGRES_URL`. If unreachable its tests skip,
except when `CI=true`, where they fail: CI must run them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage import migrate
from storage.db import create_engine
from storage.models import Base
from storage.repository import SqlStore, open_store

T = TypeVar("T")

# app.yaml's parse cache (bot/yaml_cache.py) goes to a directory of this run, never the
# developer's ~/.cache: set before any test loads a config, and inherited by the servers and
# commands the tests start (helpers that drop COCREATE_* keep this one).
os.environ["COCREATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="cocreate-test-cache-")
atexit.register(shutil.rmtree, os.environ["COCREATE_CACHE_DIR"], True)

DEFAULT_PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# Children before parents, for DELETE with foreign keys enforced.
TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def sqlite_file_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def empty_database(url: str) -> None:
    """Delete every row (but keep the schema and alembic_version).

    DELETE beats TRUNCATE by far on tables this small (PostgreSQL TRUNCATE swaps files).
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            # frames <-> problem_statements reference each other: break the cycle first.
            await connection.exec_driver_sql("UPDATE problem_statements SET frame_id = NULL")
            for table in TABLES:
                await connection.exec_driver_sql(f"DELETE FROM {table}")
    finally:
        await engine.dispose()


# -- SQLite ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session through the real `storage.migrate.upgrade`; never used."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    run_async(migrate.upgrade(sqlite_file_url(path)))
    return path


def _copy_sqlite(source: Path, target: Path) -> str:
    # The backup API copies a consistent snapshot, WAL contents included.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return sqlite_file_url(target)


@pytest.fixture(scope="session")
def _sqlite_shared_url(_sqlite_template: Path) -> str:
    return _copy_sqlite(_sqlite_template, _sqlite_template.with_name("shared.db"))


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file of this test's own."""
    return _copy_sqlite(_sqlite_template, tmp_path / "cocreate.db")


# -- PostgreSQL ------------------------------------------------------------------------


async def _admin(admin_url: str, *statements: str) -> None:
    engine = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5}
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def _create_pg_database(admin_url: str, *, migrated: bool) -> tuple[str, str]:
    name = f"cocreate_test_{secrets.token_hex(6)}"
    run_async(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    if migrated:
        try:
            run_async(migrate.upgrade(url))
        except BaseException:
            _drop_pg_database(admin_url, name)
            raise
    return name, url


def _drop_pg_database(admin_url: str, name: str) -> None:
    run_async(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of a PostgreSQL database with rights to create databases (checked reachable)."""
    url = os.environ.get("COCREATE_TEST_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)
    try:
        run_async(_admin(url, "SELECT 1"))
    except Exception as exc:  # refused, timeout, auth...: all mean "no server for us"
        message = f"PostgreSQL unreachable at {make_url(url)!r}: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A migrated database created for this session, dropped at its end."""
    name, url = _create_pg_database(pg_admin_url, migrated=True)
    yield url
    _drop_pg_database(pg_admin_url, name)


@pytest.fixture
def pg_database(pg_admin_url: str) -> Iterator[Callable[..., str]]:
    """Factory: `pg_database(migrated=True)` -> URL of a new database, dropped after the test."""
    created: list[str] = []

    def make(*, migrated: bool = True) -> str:
        name, url = _create_pg_database(pg_admin_url, migrated=migrated)
        created.append(name)
        return url

    yield make
    for name in created:
        _drop_pg_database(pg_admin_url, name)


# -- Both backends ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The session's migrated database for `backend`, emptied for this test."""
    url = request.getfixturevalue("_sqlite_shared_url" if backend == "sqlite" else "pg_url")
    run_async(empty_database(url))
    return url


@pytest.fixture
async def store(db_url: str) -> Any:
    store: SqlStore = open_store(db_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def log_checks() -> tuple[Callable[[str], None], ...]:
    """Further checks of a stopped server's log (a directory's conftest may add its own)."""
    return ()


@pytest.fixture
def servers(tmp_path: Path, log_checks) -> Iterator[Callable[..., Any]]:
    """Start `cocreate serve` processes with `servers(env, name)`; at the end each is stopped
    and its log checked (no traceback, nor what `log_checks` refuses). Ask for it after the
    fakes the servers talk to, so the servers stop first."""
    from tests.support import start_server, stop_server

    started: list[Any] = []

    def start(env: dict[str, str], name: str = "serve") -> Any:
        started.append(start_server(tmp_path, env, name))
        return started[-1]

    yield start
    for server in started:
        stop_server(server)
    for server in started:
        logs = server.logs()
        assert "Traceback" not in logs, logs
        for check in log_checks:
            check(logs)
