"""SQLite's group commit (`storage.sqlite.Writer`): units queued at the same time share one
transaction and one flush to disk, yet each keeps the promise of a transaction of its own:
when its block ends its work is committed (another process sees it), a unit that fails undoes
only its own work, and a COMMIT that fails reaches every unit it would have saved."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.ports import StorageUnavailable
from storage import sqlite
from storage.db import create_engine
from storage.repository import SqlStore


@pytest.fixture
async def store(sqlite_url):
    store = SqlStore(create_engine(sqlite_url))
    yield store
    await store.close()


def seen_by_another_process(sqlite_url: str) -> set[str]:
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as other:
        return {row[0] for row in other.execute("SELECT event_id FROM processed_events")}


async def claim(store: SqlStore, event_id: str, fail: bool = False) -> None:
    async with store.unit() as unit:
        assert await unit.claim_event(event_id)
        await asyncio.sleep(0)  # let the others queue up meanwhile
        if fail:
            raise ValueError(f"{event_id} went wrong")


async def test_a_burst_shares_a_few_flushes_and_each_unit_is_on_disk_when_its_block_ends(store, sqlite_url):
    finished: dict[str, set[str]] = {}

    async def one(n: int) -> None:
        await claim(store, f"e{n}")
        finished[f"e{n}"] = seen_by_another_process(sqlite_url)

    await asyncio.gather(*(one(n) for n in range(60)))
    assert all(event in seen for event, seen in finished.items())
    writer = store._writer()
    assert writer.units == 60
    assert writer.groups <= 3, f"60 queued units took {writer.groups} commits"


async def test_a_failing_unit_undoes_only_its_own_work(store, sqlite_url):
    results = await asyncio.gather(*(claim(store, f"e{n}", fail=n == 7) for n in range(20)), return_exceptions=True)
    assert [type(r).__name__ for r in results if r is not None] == ["ValueError"]
    assert seen_by_another_process(sqlite_url) == {f"e{n}" for n in range(20) if n != 7}
    await claim(store, "e7")  # nothing of it was kept: it can be done again
    assert "e7" in seen_by_another_process(sqlite_url)


async def test_a_commit_that_fails_fails_every_unit_of_its_group(store, sqlite_url, monkeypatch):
    await claim(store, "before")

    async def full_disk(self) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite.Inline, "commit", full_disk)
    results = await asyncio.gather(*(claim(store, f"e{n}") for n in range(10)), return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    monkeypatch.undo()
    assert seen_by_another_process(sqlite_url) == {"before"}
    await claim(store, "after")  # the store works again once the disk does
    assert seen_by_another_process(sqlite_url) == {"before", "after"}


async def test_units_cancelled_while_queued_leave_nothing_open(store, sqlite_url):
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with store.unit() as unit:
            await unit.claim_event("first")
            holding.set()
            await release.wait()

    holder = asyncio.create_task(first())
    await holding.wait()
    queued = [asyncio.create_task(claim(store, f"q{n}")) for n in range(3)]
    await asyncio.sleep(0.01)
    for task in queued:
        task.cancel()  # e.g. a request that timed out while it waited for its turn
    release.set()
    await asyncio.wait_for(holder, 2)  # committed, although units were queued when it ended
    assert seen_by_another_process(sqlite_url) == {"first"}
    await asyncio.wait_for(claim(store, "next"), 2)
    assert seen_by_another_process(sqlite_url) == {"first", "next"}
