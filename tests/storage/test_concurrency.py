"""Concurrent units on one database, on every backend: the races the engine relies on."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.ports import FlowState, StaleState
from bot.records import Reflection
from storage.repository import SqlStore

C = "T-coalition"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
KEY = "slack:T1:C1:U1"


async def _outcome(awaitable) -> str:
    try:
        await awaitable
    except StaleState:
        return "stale"
    return "saved"


async def test_racing_saves_from_the_same_version_have_one_winner(store: SqlStore) -> None:
    async with store.unit() as unit:
        await unit.save_state(FlowState(KEY, "U1", C, "join", "name", 1, {"n": 0}))

    async def save(answer: int) -> None:
        async with store.unit() as unit:
            await unit.save_state(FlowState(KEY, "U1", C, "join", "sector", 2, {"n": answer}))
            await asyncio.sleep(0.05)  # hold the transaction open while the other one tries

    outcomes = await asyncio.gather(*(_outcome(save(n)) for n in (1, 2)))
    assert sorted(outcomes) == ["saved", "stale"]
    winner = outcomes.index("saved") + 1
    async with store.unit() as unit:
        saved = await unit.load_state(KEY)
    assert saved == FlowState(KEY, "U1", C, "join", "sector", 2, {"n": winner})


async def test_racing_first_saves_have_one_winner(store: SqlStore) -> None:
    async def save(answer: int) -> None:
        async with store.unit() as unit:
            await unit.save_state(FlowState(KEY, "U1", C, "join", "name", 1, {"n": answer}))
            await asyncio.sleep(0.02)

    outcomes = await asyncio.gather(*(_outcome(save(n)) for n in range(4)))
    assert sorted(outcomes) == ["saved"] + ["stale"] * 3
    async with store.unit() as unit:
        state = await unit.load_state(KEY)
    assert state is not None and state.data == {"n": outcomes.index("saved")}


async def test_concurrent_claims_of_one_event_have_one_winner(store: SqlStore) -> None:
    async def claim() -> bool:
        async with store.unit() as unit:
            claimed = await unit.claim_event("Ev-retried")
            await asyncio.sleep(0.01)
            return claimed

    results = await asyncio.gather(*(claim() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_concurrent_read_then_write_units_all_commit(store: SqlStore) -> None:
    # Each unit reads before it writes. On SQLite, deferred transactions would deadlock
    # upgrading their read locks ("database is locked"); BEGIN IMMEDIATE makes them queue.
    async def handle(n: int) -> None:
        async with store.unit() as unit:
            assert await unit.load_state(f"{KEY}:{n}") is None
            assert await unit.claim_event(f"Ev{n}")
            await asyncio.sleep(0)
            await unit.save_state(FlowState(f"{KEY}:{n}", "U1", C, "reflect", "done"))
            await unit.add([Reflection(C, "U1", 1, f"note {n}")], NOW)

    await asyncio.gather(*(handle(n) for n in range(8)))
    reflections = (await store.export(C))["reflections"]
    assert sorted(r["text"] for r in reflections) == [f"note {n}" for n in range(8)]
