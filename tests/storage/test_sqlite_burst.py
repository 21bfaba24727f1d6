"""A burst of work on SQLite queues in the store instead of failing with "database is
locked" once SQLite's own busy wait runs out (seen in the Slack ack benchmark)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bot.ports import FlowState
from storage import sqlite
from storage.db import create_engine
from storage.repository import SqlStore


async def test_many_concurrent_units_all_commit(sqlite_url):
    engine = create_engine(sqlite_url)

    @event.listens_for(engine.sync_engine, "connect")
    def impatient(dbapi_connection, _record):  # SQLite gives up after 1 ms instead of 5 s
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=1")
        cursor.close()

    store = SqlStore(engine)

    async def work(n: int) -> None:
        async with store.unit() as unit:
            assert await unit.claim_event(f"burst-{n}")
            await unit.save_state(FlowState(f"key-{n}", "m", "c", "reflect", "pick", 1, {"n": n}))
            await asyncio.sleep(0.002)  # hold the write lock while others pile up

    try:
        await asyncio.gather(*(work(n) for n in range(60)))
        async with store.unit() as unit:
            assert all([await unit.load_state(f"key-{n}") for n in range(60)])
    finally:
        await store.close()


async def test_another_process_writing_is_waited_for_without_stopping_the_server(sqlite_url, tmp_path):
    """SQLite runs on the event loop's thread: while another process (here a second
    connection, as the CLI would be) holds the write lock, a unit waits for it on the loop,
    which goes on serving everything else, and then commits."""
    store = SqlStore(create_engine(sqlite_url))
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    try:
        async with store.unit() as unit:  # open the pool's connection before the lock is taken
            await unit.claim_event("warm")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO processed_events (event_id, processed_at) VALUES ('cli', '2026-01-01')")
        clock = asyncio.create_task(ticker())
        waiting = asyncio.create_task(_claim(store, "server"))
        await asyncio.sleep(0.4)
        assert not waiting.done(), "the unit did not wait for the other process's write lock"
        assert ticks >= 20, f"the event loop stalled while waiting: {ticks} ticks in 0.4 s"
        other.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 2) is True
        clock.cancel()
        async with store.unit() as unit:
            assert not await unit.claim_event("cli")  # the other process's row is there
    finally:
        other.close()
        await store.close()


async def test_a_write_lock_held_too_long_is_a_clear_error(sqlite_url, monkeypatch):
    monkeypatch.setattr(sqlite, "BUSY_SECONDS", 0.2)
    store = SqlStore(create_engine(sqlite_url))
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            await _claim(store, "late")
        other.execute("ROLLBACK")
        assert await _claim(store, "late") is True  # nothing half-written: it can go again
    finally:
        other.close()
        await store.close()


async def _claim(store: SqlStore, event_id: str) -> bool:
    async with store.unit() as unit:
        return await unit.claim_event(event_id)
