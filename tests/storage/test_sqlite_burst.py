"""A burst of work on SQLite queues in the store instead of failing with "database is
locked" once SQLite's own busy wait runs out (seen in the Slack ack benchmark)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from bot.ports import FlowState
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
