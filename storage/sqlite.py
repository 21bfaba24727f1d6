"""SQLite on the event loop's own thread.

aiosqlite runs every call on a worker thread: a statement through SQLAlchemy is four trips
there and back (cursor, execute, fetch, close), each about 100 µs of CPU and 120 µs of wall
time on a small machine, while the statements themselves take a few µs (the indexed reads
and writes of a chat turn). So SQLAlchemy's aiosqlite dialect is handed, as its connection,
`Inline`: the same awaitable interface over a plain `sqlite3` connection, whose calls run
where they are awaited. No thread, no event-loop iteration: only SQLAlchemy's greenlet
switches.

What would block the loop, and how it does not:
- Waiting for another process's write lock (the CLI, a second server on the same file):
  every transaction starts with BEGIN IMMEDIATE, tried without SQLite's busy wait and
  retried with `asyncio.sleep` for up to `BUSY_SECONDS`. Within the process
  `SqlStore._turn` queues units, so they never meet the lock held.
- Inside a transaction, the rare waits of a WAL reader (recovery, a truncating checkpoint)
  are SQLite's own busy handler, at most `BUSY_INSIDE_MS`.
- Long reads (a movement's digest, the dashboard, an export) do run on the loop: they are
  rare, asked for by a coordinator, and already held `SqlStore._turn`, which every other
  unit waits for, from start to end.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import await_

BUSY_SECONDS = 5.0  # as long as SQLite's busy_timeout waited for another process before
BUSY_INSIDE_MS = 50


def inline_url(url: URL) -> URL:
    """Any SQLite URL (`sqlite://`, `sqlite+aiosqlite://`) on the dialect `Inline` plugs into."""
    return url.set(drivername="sqlite+aiosqlite") if url.get_backend_name() == "sqlite" else url


def connect_args() -> dict[str, Any]:
    # The aiosqlite dialect calls this instead of `aiosqlite.connect` (its own hook).
    return {"async_creator_fn": _open}


async def _open(database: str, **options: Any) -> Inline:
    # isolation_level=None: we emit BEGIN ourselves (below). check_same_thread: a pool may
    # outlive the loop that opened it (tests set databases up on a loop in another thread);
    # a connection is only ever used by one task at a time.
    options.update(isolation_level=None, check_same_thread=False)
    return Inline(sqlite3.connect(database, **options))


def configure(engine: AsyncEngine) -> None:
    """The pragmas we rely on, and BEGIN IMMEDIATE without blocking the loop."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        raw = dbapi_connection.driver_connection.raw
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", f"busy_timeout={BUSY_INSIDE_MS}"):
            raw.execute(f"PRAGMA {pragma}")  # WAL: readers never block the writer

    # SQLAlchemy's documented recipe for SQLite: we emit BEGIN. IMMEDIATE takes the write
    # lock up front, so a transaction never fails half-way with "database is locked" when
    # its read lock would have to be upgraded.
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        begin_immediate(connection)


def begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE; while another process writes, wait on the event loop, not in SQLite."""
    inline = connection.connection.driver_connection
    raw = inline.raw
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.001
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:  # through SQLAlchemy, so its handle_error hook sees a full or read-only disk
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                inline.changes_at_begin = raw.total_changes
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() + pause > deadline:
                    raise
            await_(asyncio.sleep(pause))
            pause = min(pause * 2, 0.05)
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_INSIDE_MS}")


class Inline:
    """aiosqlite's `Connection` interface, as SQLAlchemy's dialect uses it, run in place."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self._connection: sqlite3.Connection | None = raw  # the dialect checks it is open
        self.changes_at_begin = 0

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> _Cursor:
        return _Cursor(self.raw.cursor())

    async def commit(self) -> None:
        if self.raw.total_changes == self.changes_at_begin:
            self.raw.commit()  # nothing written: nothing to flush
        else:  # the flush to disk takes milliseconds: the loop goes on meanwhile
            await asyncio.get_running_loop().run_in_executor(_flushes, self.raw.commit)

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self.raw.close()

    def stop(self) -> None:  # the dialect's forced close
        if self._connection is not None:
            self._connection = None
            self.raw.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.raw.create_function(*args, **kwargs)


class _Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Any) -> _Cursor:
        self._cursor.executemany(operation, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


# -- One writer, group commit -----------------------------------------------------------
#
# SQLite has one writer at a time, and with `synchronous=FULL` (its default, which we keep:
# a power cut must not undo what a member was told was saved) each COMMIT waits for the disk
# to flush the WAL: 4-5 ms on a cloud disk, 20-50 times the CPU of a whole chat turn. One
# transaction per unit capped a burst at ~200 units a second. So units take turns on one
# connection and share its transaction: each unit is a SAVEPOINT (its failure undoes only its
# own work), and the transaction commits when no unit is waiting any more (or after
# `GROUP_UNITS`). A unit's caller goes on only once that COMMIT is on disk: the same promise
# as a transaction of its own, for one flush per group instead of one per unit.

GROUP_UNITS = 200
_flushes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")


class Writer:
    """This event loop's turn at the database: a queue (FIFO) of units, the connection they
    use, and the group transaction they share."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._lock = asyncio.Lock()
        self._waiting = 0  # units queued for the lock
        self._connection: AsyncConnection | None = None  # kept between groups
        self._group: _Group | None = None
        self._flusher: asyncio.Task | None = None
        self.groups = self.units = 0  # committed, for the curious (benchmarks)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncConnection]:
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        failure: BaseException | None = None
        try:
            group = self._group or await self._open()
            # The savepoint goes straight to sqlite3: SQLAlchemy's own would cost ten times
            # the unit's statements, and it only needs to know of the outer transaction.
            group.raw.execute("SAVEPOINT unit")
            try:
                yield group.connection
            except BaseException as error:
                failure = error
                self._undo(group)
            else:
                self._keep(group)
            if self._group is group:
                group.units += 1
                if not self._waiting or group.units >= GROUP_UNITS:
                    await _uninterrupted(self._commit(group))
                elif self._flusher is None:
                    # Units are queued: the last of them commits. One that is cancelled
                    # before its turn must not leave the group open, so a flusher queues
                    # behind them (the lock is FIFO) and commits what is still open.
                    self._flusher = asyncio.ensure_future(self._flush())
            else:
                await self._drop()
        finally:
            self._lock.release()
        if failure is not None:
            raise failure
        await asyncio.shield(group.done)  # raises what the COMMIT raised

    async def close(self) -> None:
        """Commit what is open and let the connection go (at shutdown)."""
        async with self._lock:
            if self._group is not None:
                await self._commit(self._group)
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    async def _open(self) -> _Group:
        if self._connection is None:
            self._connection = await self.engine.connect()
        try:
            self._group = _Group(self._connection, await self._connection.begin())
        except BaseException:
            await self._drop()
            raise
        return self._group

    async def _flush(self) -> None:
        try:
            async with self._lock:
                if self._group is not None:
                    await _uninterrupted(self._commit(self._group))
        finally:
            self._flusher = None

    async def _commit(self, group: _Group) -> None:
        self._group = None
        try:
            await group.transaction.commit()
        except BaseException as error:
            group.fail(error)
            await self._drop()
            return
        self.groups += 1
        self.units += group.units
        group.done.set_result(None)

    def _undo(self, group: _Group) -> None:
        try:
            group.raw.execute("ROLLBACK TO unit")
            group.raw.execute("RELEASE unit")
        except sqlite3.Error as error:
            self._abandon(group, error)
            return
        if not group.raw.in_transaction:
            # Some errors (a full disk, I/O) make SQLite roll the whole transaction back:
            # the units before this one are lost, and must hear so.
            self._abandon(group, RuntimeError("the transaction was rolled back"))

    def _keep(self, group: _Group) -> None:
        try:
            group.raw.execute("RELEASE unit")
        except sqlite3.Error as error:
            self._abandon(group, error)  # the unit hears it from `group.done`

    def _abandon(self, group: _Group, error: BaseException) -> None:
        self._group = None
        group.fail(error)  # the connection goes too (`_drop`, by the unit that saw it)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            raw = connection.sync_connection.connection.driver_connection.raw
            if raw.in_transaction:  # SQLAlchemy need not know (a COMMIT that failed)
                raw.rollback()
            await connection.close()
        except Exception:
            await connection.invalidate()


class _Group:
    def __init__(self, connection: AsyncConnection, transaction: Any) -> None:
        self.connection, self.transaction = connection, transaction
        self.raw: sqlite3.Connection = connection.sync_connection.connection.driver_connection.raw
        self.units = 0
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    def fail(self, error: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(error)
            self.done.exception()  # retrieved: a group nobody waits for must not log "never retrieved"


async def _uninterrupted(work: Awaitable[None]) -> None:
    """Run `work` to its end even if the caller is cancelled meanwhile (a COMMIT abandoned
    half-way would leave the connection in an unknown state); then re-raise the cancel."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                pass
        raise
