"""The outbox (`bot.ports.Outbox`), against every backend via `store`: idempotent
enqueueing, claims under leases, and workers that never claim the same row twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from bot.ports import FAILED, QUEUED, RETRY, SENDING, SENT, SKIPPED, Outgoing
from storage.repository import SqlStore, open_store
from tests.conftest import empty_database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)
HOUR = timedelta(hours=1)
LATER = NOW + timedelta(seconds=1)  # every row of `many` is due


def message(target: str = "member:U1", occurrence: str = "2026-03-02", *, due: datetime = NOW,
            source: str = "schedule:checkin", **payload) -> Outgoing:
    return Outgoing(source, occurrence, target, "C1", "prompt", payload or {"n": 1}, due)


def many(count: int, source: str = "schedule:bulk") -> list[Outgoing]:
    return [message(f"member:U{n:04}", due=NOW + timedelta(microseconds=n), source=source)
            for n in range(count)]


# -- enqueue ---------------------------------------------------------------------------


async def test_enqueueing_the_same_message_again_is_a_no_op(store: SqlStore) -> None:
    first = [message("member:U1", text="hi ✨"), message("member:U2")]
    assert await store.enqueue(first, NOW) == 2
    assert await store.enqueue([*first, message("member:U3")], NOW + LEASE) == 1
    rows = await store.outbox()
    assert [r.target for r in rows] == ["member:U1", "member:U2", "member:U3"]
    assert {(r.state, r.attempts, r.due_at) for r in rows} == {(QUEUED, 0, NOW)}
    assert rows[0].payload == {"text": "hi ✨"}
    assert (rows[0].platform, rows[0].message_id, rows[0].error, rows[0].sent_at) == (None,) * 4


async def test_thousands_enqueue_in_one_call(store: SqlStore) -> None:
    batch = many(2_500)
    assert await store.enqueue(batch + batch[:10], NOW) == 2_500  # repeats inside count once
    assert await store.enqueue(batch, NOW) == 0
    assert await store.enqueue([], NOW) == 0
    assert len(await store.outbox(source="schedule:bulk")) == 2_500


async def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError):
        await store.enqueue([message(due=naive)], NOW)
    with pytest.raises(ValueError):
        await store.claim("w1", naive, 10, LEASE)
    assert await store.outbox() == []


# -- claims and leases -----------------------------------------------------------------


async def test_claims_take_due_rows_oldest_first_up_to_the_limit(store: SqlStore) -> None:
    await store.enqueue([
        message("member:late", due=NOW + timedelta(minutes=5)),
        message("member:b", due=NOW - timedelta(minutes=1)),
        message("member:a", due=NOW - timedelta(minutes=1)),  # same due time: by id
        message("member:old", due=NOW - timedelta(hours=1)),
    ], NOW)
    claimed = await store.claim("w1", NOW, 2, HOUR)
    assert [c.target for c in claimed] == ["member:old", "member:b"]
    assert {(c.attempts, c.claimed_at, c.interrupted_at) for c in claimed} == {(1, NOW, None)}
    assert claimed[0].payload == {"n": 1} and claimed[0].kind == "prompt"

    assert [c.target for c in await store.claim("w2", NOW, 10, HOUR)] == ["member:a"]
    assert await store.claim("w3", NOW, 10, HOUR) == []  # "late" is not due yet
    later = NOW + timedelta(minutes=5)
    assert [c.target for c in await store.claim("w3", later, 10, HOUR)] == ["member:late"]
    assert {r.state for r in await store.outbox()} == {SENDING}


async def test_an_expired_lease_is_taken_over_and_the_first_worker_loses_the_row(
    store: SqlStore,
) -> None:
    await store.enqueue([message()], NOW)
    [first] = await store.claim("w1", NOW, 10, LEASE)
    assert await store.claim("w2", NOW + LEASE - timedelta(seconds=1), 10, LEASE) == []

    took_over = NOW + LEASE
    [second] = await store.claim("w2", took_over, 10, LEASE)
    assert second.id == first.id
    assert (second.attempts, second.claimed_at, second.interrupted_at) == (2, took_over, NOW)
    # w1 woke up late: the row is w2's now.
    assert not await store.sent(first.id, "w1", "slack", "D1", "1.1", took_over)
    assert await store.retry(first.id, "w2", took_over + LEASE, "429")

    # Claimed again from the queue: still marked interrupted (w1 may have sent).
    [third] = await store.claim("w3", took_over + LEASE, 10, LEASE)
    assert (third.attempts, third.interrupted_at) == (3, NOW)
    # Taken over once more: the first interruption is kept (the earliest a copy can date from).
    [fourth] = await store.claim("w4", took_over + 2 * LEASE, 10, LEASE)
    assert (fourth.attempts, fourth.interrupted_at) == (4, NOW)


async def test_state_transitions(store: SqlStore) -> None:
    targets = ["member:sent", "member:retry", "member:failed", "member:skipped"]
    await store.enqueue([message(t) for t in targets], NOW)
    ids = {c.target: c.id for c in await store.claim("w1", NOW, 10, LEASE)}
    at = NOW + timedelta(minutes=10)

    assert await store.sent(ids["member:sent"], "w1", "teams", "a:1", "m-1", NOW)
    assert await store.retry(ids["member:retry"], "w1", at, "503 from Slack")
    assert await store.failed(ids["member:failed"], "w1", "blocked", NOW)
    assert await store.skipped(ids["member:skipped"], "w1", "answered already", NOW)
    # Done: nothing more applies, by anyone.
    for id_ in ids.values():
        assert not await store.sent(id_, "w1", "teams", None, None, NOW)
        assert not await store.failed(id_, "w2", "late", NOW)

    rows = {r.target: r for r in await store.outbox()}
    sent = rows["member:sent"]
    assert (sent.state, sent.platform, sent.conversation, sent.message_id, sent.sent_at, sent.error) == (
        SENT, "teams", "a:1", "m-1", NOW, None)
    assert (rows["member:retry"].state, rows["member:retry"].due_at) == (RETRY, at)
    assert rows["member:retry"].error == "503 from Slack"
    assert (rows["member:failed"].state, rows["member:failed"].error) == (FAILED, "blocked")
    assert (rows["member:skipped"].state, rows["member:skipped"].error) == (SKIPPED, "answered already")

    # Only the retry comes back, once it is due; failed, skipped and sent never do.
    assert await store.claim("w2", at - timedelta(seconds=1), 10, LEASE) == []
    [again] = await store.claim("w2", at + timedelta(days=30), 10, LEASE)
    assert (again.target, again.attempts) == ("member:retry", 2)
    assert await store.sent(again.id, "w2", "slack", "D1", None, at)
    assert (await store.outbox_message("schedule:checkin", "2026-03-02", "member:retry")).error is None


async def test_listing_by_source_and_target(store: SqlStore) -> None:
    await store.enqueue([
        message("member:U1", source="round:1", occurrence="invite"),
        message("member:U2", source="round:1", occurrence="invite"),
        message("member:U1", source="round:1", occurrence="reminder-1"),
        message("member:U1", source="round:2", occurrence="invite"),
    ], NOW)
    assert [(r.source, r.occurrence) for r in await store.outbox(target="member:U1")] == [
        ("round:1", "invite"), ("round:1", "reminder-1"), ("round:2", "invite")]
    assert len(await store.outbox(source="round:1")) == 3
    assert len(await store.outbox(source="round:1", target="member:U2")) == 1
    found = await store.outbox_message("round:1", "reminder-1", "member:U1")
    assert found is not None and found.occurrence == "reminder-1"
    assert await store.outbox_message("round:1", "reminder-2", "member:U1") is None


async def test_heartbeats_count_the_workers_seen_lately(store: SqlStore) -> None:
    within = timedelta(seconds=60)
    assert await store.heartbeat("w1", NOW, within) == 1
    assert await store.heartbeat("w2", NOW + timedelta(seconds=30), within) == 2
    assert await store.heartbeat("w1", NOW + timedelta(seconds=40), within) == 2  # no double count
    assert await store.heartbeat("w2", NOW + timedelta(seconds=101), within) == 1  # w1 went quiet


# -- concurrent workers ----------------------------------------------------------------


async def _drain(stores: list[SqlStore], rows: int) -> Counter[int]:
    """Workers (one per store) claim and send until the outbox is empty; how often each
    row was claimed."""
    await stores[0].enqueue(many(rows), NOW)
    claims: Counter[int] = Counter()
    lost: list[int] = []  # sends refused: the row was not the worker's (any is a bug)
    busy: set[str] = set()

    async def work(store: SqlStore, worker: str) -> None:
        while batch := await store.claim(worker, LATER, 7, LEASE):
            busy.add(worker)
            claims.update(c.id for c in batch)
            for claimed in batch:
                if not await store.sent(claimed.id, worker, "slack", "D", str(claimed.id), LATER):
                    lost.append(claimed.id)

    await asyncio.gather(*(work(store, f"w{n}") for n, store in enumerate(stores)))
    assert lost == []
    assert len(busy) > 1  # they did run side by side
    return claims


async def test_concurrent_workers_claim_every_row_exactly_once(store: SqlStore) -> None:
    claims = await _drain([store] * 8, 500)
    assert len(claims) == 500 and set(claims.values()) == {1}
    assert {r.state for r in await store.outbox()} == {SENT}


@pytest.mark.postgres
async def test_workers_on_separate_engines_claim_every_row_exactly_once(pg_url: str) -> None:
    await empty_database(pg_url)
    stores = [open_store(pg_url) for _ in range(8)]
    try:
        claims = await _drain(stores, 500)
        assert len(claims) == 500 and set(claims.values()) == {1}
        rows = await stores[0].outbox()
        assert [r.message_id for r in rows] == [str(r.id) for r in rows]
    finally:
        await asyncio.gather(*(s.close() for s in stores))
