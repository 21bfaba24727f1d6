"""`bot.ports.Outbox` on the `outbox` table: messages to send, claimed by delivery workers
under a lease.

A claimed row is "sending" until its lease ends; a worker's later writes apply only while
the row is still its own. A row whose lease ran out is claimed again, with `interrupted_at`
set: the worker that held it may have died after the message went out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Insert, Integer, Select, Update, and_, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import FAILED, QUEUED, RETRY, SENDING, SENT, SKIPPED, Claimed, Outgoing, OutboxRow
from storage.db import aware, dialect_insert
from storage.models import DeliveryWorker, OutboxMessage


# The statements of every claim, send and heartbeat, built once with bind parameters (or once
# per dialect or shape): building one from its parts costs SQLAlchemy more than running it
# (it coerces each value and derives the cache key every time).

@cache
def _enqueue(dialect: str) -> Insert:
    # With RETURNING, SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues")
    # on both dialects, and only the rows actually inserted come back.
    t = OutboxMessage
    return (
        dialect_insert(dialect, t)
        .on_conflict_do_nothing(index_elements=["source", "occurrence", "target"])
        .returning(t.id)
    )


@cache
def _claim(targeted: bool) -> Update:
    """Claim up to v_limit due rows for v_worker at v_now, until v_lease_until; `targeted`:
    only rows whose target is in v_targets."""
    t = OutboxMessage
    due = or_(
        and_(t.state.in_((QUEUED, RETRY)), t.due_at <= bindparam("v_now")),
        and_(t.state == SENDING, t.lease_until <= bindparam("v_now")),  # its worker's lease ran out
    )
    if targeted:
        due = and_(due, t.target.in_(bindparam("v_targets", expanding=True)))
    # One statement. PostgreSQL: rows another worker has locked are skipped, and a row
    # it claimed meanwhile fails `due` when rechecked. SQLite ignores FOR UPDATE; its
    # write lock (BEGIN IMMEDIATE) makes the statement exclusive.
    picked = (
        select(t.id).where(due).order_by(t.due_at, t.id).limit(bindparam("v_limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(t)
        .where(t.id.in_(picked.scalar_subquery()))
        .values(
            state=SENDING,
            claimed_by=bindparam("v_worker"),
            claimed_at=bindparam("v_now"),
            lease_until=bindparam("v_lease_until"),
            attempts=t.attempts + 1,
            # SET sees the old row: taken over from a sending worker, the interruption
            # dates from that worker's claim (the first such, if it happened before).
            interrupted_at=case(
                (t.state == SENDING, func.coalesce(t.interrupted_at, t.claimed_at)),
                else_=t.interrupted_at,
            ),
        )
        .returning(
            t.id, t.source, t.occurrence, t.target, t.coalition_id, t.kind, t.payload,
            t.due_at, t.attempts, t.claimed_at, t.interrupted_at,
        )
    )


@cache
def _finishing(fields: tuple[str, ...]) -> Update:
    """Set `fields` (each bound as v_<field>) and end the lease, if row v_id is still sending
    for v_worker."""
    t = OutboxMessage
    return (
        update(t)
        .where(t.id == bindparam("v_id"), t.claimed_by == bindparam("v_worker"), t.state == SENDING)
        .values(lease_until=None, **{name: bindparam(f"v_{name}") for name in fields})
    )


_RENEW = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(bindparam("v_ids", expanding=True)),
           OutboxMessage.claimed_by == bindparam("v_worker"), OutboxMessage.state == SENDING)
    .values(lease_until=bindparam("v_until"))
)
_HASTEN = (
    update(OutboxMessage)
    .where(OutboxMessage.state == RETRY, OutboxMessage.error.is_not(None),
           OutboxMessage.due_at > bindparam("v_now"))
    .values(due_at=bindparam("v_now"))
)
_FAILURES = (
    select(OutboxMessage.target, OutboxMessage.platform, OutboxMessage.error)
    .where(OutboxMessage.state == FAILED, OutboxMessage.coalition_id == bindparam("v_coalition_id"),
           OutboxMessage.due_at >= bindparam("v_since"), OutboxMessage.due_at < bindparam("v_until"),
           OutboxMessage.target.like("member:%"), OutboxMessage.target.not_like("member:erased-%"),
           OutboxMessage.kind.not_in(("notice", "progress")))
    .order_by(OutboxMessage.due_at, OutboxMessage.id)
)


@cache
def _heartbeat(dialect: str) -> Insert:
    return (
        dialect_insert(dialect, DeliveryWorker)
        .values(worker=bindparam("v_worker"), seen_at=bindparam("v_seen_at"))
        .on_conflict_do_update(index_elements=["worker"], set_={"seen_at": bindparam("v_seen_at")})
    )


_LIVE = select(func.count()).where(DeliveryWorker.seen_at >= bindparam("v_since"))


def _row_query() -> Select[Any]:
    t = OutboxMessage
    return select(
        t.id, t.source, t.occurrence, t.target, t.coalition_id, t.kind, t.payload, t.state,
        t.due_at, t.attempts, t.platform, t.conversation, t.message_id, t.error, t.sent_at,
    )


@cache
def _outbox(by_source: bool, by_target: bool) -> Select[Any]:
    t = OutboxMessage
    query = _row_query()
    if by_source:
        query = query.where(t.source == bindparam("v_source"))
    if by_target:
        query = query.where(t.target == bindparam("v_target"))
    return query.order_by(t.id)


_OUTBOX_MESSAGE = _row_query().where(
    OutboxMessage.source == bindparam("v_source"), OutboxMessage.occurrence == bindparam("v_occurrence"),
    OutboxMessage.target == bindparam("v_target"),
)


async def enqueue(db: AsyncConnection, items: Sequence[Outgoing], now: datetime) -> int:
    """Insert the items that are not in the outbox yet; returns how many were new.

    Shared by the store (a transaction of its own) and a unit (inside its transaction).
    """
    aware(now, *(item.due_at for item in items))
    if not items:
        return 0
    rows = [
        {
            "source": item.source,
            "occurrence": item.occurrence,
            "target": item.target,
            "coalition_id": item.coalition_id,
            "kind": item.kind,
            "payload": dict(item.payload),
            "state": QUEUED,
            "due_at": item.due_at,
            "attempts": 0,
            "created_at": now,
        }
        for item in items
    ]
    return len((await db.execute(_enqueue(db.dialect.name), rows)).all())


class SqlOutbox:
    """`bot.ports.Outbox`, mixed into `SqlStore`: each method is one transaction."""

    def _begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError  # SqlStore's: a transaction in the store's turn

    async def enqueue(self, items: Sequence[Outgoing], now: datetime) -> int:
        async with self._begin() as db:
            return await enqueue(db, items, now)

    async def claim(
        self, worker: str, now: datetime, limit: int, lease: timedelta,
        targets: Collection[str] | None = None,
    ) -> list[Claimed]:
        aware(now)
        values = {"v_now": now, "v_lease_until": now + lease, "v_worker": worker, "v_limit": limit}
        if targets is not None:
            values["v_targets"] = list(targets)
        async with self._begin() as db:
            rows = (await db.execute(_claim(targets is not None), values)).all()
        # RETURNING comes in no particular order.
        return sorted((Claimed(**row._asdict()) for row in rows), key=lambda c: (c.due_at, c.id))

    async def sent(
        self, id: int, worker: str, platform: str, conversation: str | None,
        message_id: str | None, now: datetime,
    ) -> bool:
        aware(now)
        return await self._finish(
            id, worker, state=SENT, platform=platform, conversation=conversation,
            message_id=message_id, sent_at=now, error=None,
        )

    async def retry(self, id: int, worker: str, at: datetime, error: str | None) -> bool:
        aware(at)
        return await self._finish(id, worker, state=RETRY, due_at=at, error=error)

    async def hasten(self, now: datetime) -> int:
        aware(now)
        async with self._begin() as db:
            result = await db.execute(_HASTEN, {"v_now": now})
            return result.rowcount or 0

    async def failed(self, id: int, worker: str, error: str, now: datetime, platform: str | None = None) -> bool:
        aware(now)
        # due_at becomes when it failed: what a leaders' summary of the hour reads.
        return await self._finish(id, worker, state=FAILED, error=error, due_at=now, platform=platform)

    async def failures(self, coalition_id: str, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        found: dict[str, tuple[str, str, str]] = {}
        async with self._begin() as db:
            rows = await db.execute(_FAILURES, {"v_coalition_id": coalition_id, "v_since": since, "v_until": until})
            for target, platform, error in rows:
                member = target.partition(":")[2]
                found.setdefault(member, (member, platform or "chat", error or ""))
        return list(found.values())

    async def skipped(self, id: int, worker: str, reason: str, now: datetime) -> bool:
        aware(now)
        return await self._finish(id, worker, state=SKIPPED, error=reason)

    async def _finish(self, id: int, worker: str, **values: Any) -> bool:
        """Apply `values` if the row is still sending for `worker` (not taken over)."""
        statement = _finishing(tuple(values))
        params = {"v_id": id, "v_worker": worker, **{f"v_{name}": value for name, value in values.items()}}
        async with self._begin() as db:
            return (await db.execute(statement, params)).rowcount == 1

    async def outbox(self, source: str | None = None, target: str | None = None) -> list[OutboxRow]:
        query = _outbox(source is not None, target is not None)
        async with self._begin() as db:
            rows = await db.execute(query, {"v_source": source, "v_target": target})
            return [OutboxRow(**row._asdict()) for row in rows]

    async def outbox_message(self, source: str, occurrence: str, target: str) -> OutboxRow | None:
        values = {"v_source": source, "v_occurrence": occurrence, "v_target": target}
        async with self._begin() as db:
            row = (await db.execute(_OUTBOX_MESSAGE, values)).one_or_none()
        return OutboxRow(**row._asdict()) if row else None

    async def renew(self, worker: str, ids: Collection[int], until: datetime) -> int:
        aware(until)
        if not ids:
            return 0
        async with self._begin() as db:
            result = await db.execute(_RENEW, {"v_ids": list(ids), "v_worker": worker, "v_until": until})
        return result.rowcount

    async def heartbeat(self, worker: str, now: datetime, within: timedelta) -> int:
        aware(now)
        async with self._begin() as db:
            await db.execute(_heartbeat(db.dialect.name), {"v_worker": worker, "v_seen_at": now})
            count = await db.scalar(_LIVE, {"v_since": now - within})
        return count or 0
