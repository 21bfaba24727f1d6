"""Schema migrations, callable from async code (the CLI, the server, tests).

Alembic is imported only by the functions that migrate: `cocreate serve` merely checks that
the database is at `HEAD`, and importing Alembic for that (with Mako and Pygments) cost every
start ~0.09 s and ~11 MB (bench/startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

# The newest revision in migrations/versions, what `cocreate serve` expects the database at.
# Set it with each new migration: tests/storage/test_migrations.py checks it against Alembic.
HEAD = "0012"

VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config built in code: the migrations ship inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser
    return config


def head_revision() -> str | None:
    """The head as Alembic reads it from the migration scripts (`HEAD` should equal it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`, in one transaction."""
    from alembic import command

    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    from alembic import command

    await _run(url, lambda config: command.downgrade(config, revision))


async def current_revision(url: str) -> str | None:
    """The database's revision, None if it has none (never migrated, or downgraded to base):
    what Alembic's `MigrationContext.get_current_revision` says, read without Alembic."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision)
    finally:
        await engine.dispose()


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # Alembic's own error for a database on several branches
        raise RuntimeError(f"Version table '{VERSION_TABLE}' has more than one head present; "
                           "please use get_current_heads()")
    return rows[0] if rows else None


async def _run(url: str, action) -> None:  # type: ignore[no-untyped-def]
    # Hand env.py our connection (Alembic's async cookbook recipe), so no nested
    # asyncio.run: this works from inside a running event loop.
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:

            def run(sync_connection: Connection) -> None:
                config = alembic_config(url)
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()
