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
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import FAILED, QUEUED, RETRY, SENDING, SENT, SKIPPED, Claimed, Outgoing, OutboxRow
from storage.db import aware, dialect_insert
from storage.models import DeliveryWorker, OutboxMessage


async def enqueue(db: AsyncConnection, items: Sequence[Outgoing], now: datetime) -> int:
    """Insert the items that are not in the outbox yet; returns how many were new.

    Shared by the store (a transaction of its own) and a unit (inside its transaction).
    """
    aware(now, *(item.due_at for item in items))
    if not items:
        return 0
    t = OutboxMessage
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
    # With RETURNING, SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues")
    # on both dialects, and only the rows actually inserted come back.
    statement = (
        dialect_insert(db, t)
        .on_conflict_do_nothing(index_elements=["source", "occurrence", "target"])
        .returning(t.id)
    )
    return len((await db.execute(statement, rows)).all())


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
        t = OutboxMessage
        due = or_(
            and_(t.state.in_((QUEUED, RETRY)), t.due_at <= now),
            and_(t.state == SENDING, t.lease_until <= now),  # its worker's lease ran out
        )
        if targets is not None:
            due = and_(due, t.target.in_(list(targets)))
        # One statement. PostgreSQL: rows another worker has locked are skipped, and a row
        # it claimed meanwhile fails `due` when rechecked. SQLite ignores FOR UPDATE; its
        # write lock (BEGIN IMMEDIATE) makes the statement exclusive.
        picked = (
            select(t.id).where(due).order_by(t.due_at, t.id).limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(t)
            .where(t.id.in_(picked.scalar_subquery()))
            .values(
                state=SENDING,
                claimed_by=worker,
                claimed_at=now,
                lease_until=now + lease,
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
        async with self._begin() as db:
            rows = (await db.execute(statement)).all()
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
        t = OutboxMessage
        async with self._begin() as db:
            result = await db.execute(update(t).where(t.state == RETRY, t.error.is_not(None), t.due_at > now)
                                      .values(due_at=now))
            return result.rowcount or 0

    async def failed(self, id: int, worker: str, error: str, now: datetime, platform: str | None = None) -> bool:
        aware(now)
        # due_at becomes when it failed: what a leaders' summary of the hour reads.
        return await self._finish(id, worker, state=FAILED, error=error, due_at=now, platform=platform)

    async def failures(self, coalition_id: str, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        t = OutboxMessage
        query = (
            select(t.target, t.platform, t.error)
            .where(t.state == FAILED, t.coalition_id == coalition_id, t.due_at >= since, t.due_at < until,
                   t.target.like("member:%"), t.target.not_like("member:erased-%"),
                   t.kind.not_in(("notice", "progress")))
            .order_by(t.due_at, t.id)
        )
        found: dict[str, tuple[str, str, str]] = {}
        async with self._begin() as db:
            for target, platform, error in await db.execute(query):
                member = target.partition(":")[2]
                found.setdefault(member, (member, platform or "chat", error or ""))
        return list(found.values())

    async def skipped(self, id: int, worker: str, reason: str, now: datetime) -> bool:
        aware(now)
        return await self._finish(id, worker, state=SKIPPED, error=reason)

    async def _finish(self, id: int, worker: str, **values: Any) -> bool:
        """Apply `values` if the row is still sending for `worker` (not taken over)."""
        t = OutboxMessage
        statement = (
            update(t)
            .where(t.id == id, t.claimed_by == worker, t.state == SENDING)
            .values(lease_until=None, **values)
        )
        async with self._begin() as db:
            return (await db.execute(statement)).rowcount == 1

    async def outbox(self, source: str | None = None, target: str | None = None) -> list[OutboxRow]:
        t = OutboxMessage
        query = _row_query()
        if source is not None:
            query = query.where(t.source == source)
        if target is not None:
            query = query.where(t.target == target)
        async with self._begin() as db:
            return [OutboxRow(**row._asdict()) for row in await db.execute(query.order_by(t.id))]

    async def outbox_message(self, source: str, occurrence: str, target: str) -> OutboxRow | None:
        t = OutboxMessage
        query = _row_query().where(
            t.source == source, t.occurrence == occurrence, t.target == target
        )
        async with self._begin() as db:
            row = (await db.execute(query)).one_or_none()
        return OutboxRow(**row._asdict()) if row else None

    async def renew(self, worker: str, ids: Collection[int], until: datetime) -> int:
        aware(until)
        if not ids:
            return 0
        t = OutboxMessage
        async with self._begin() as db:
            result = await db.execute(
                update(t).where(t.id.in_(list(ids)), t.claimed_by == worker, t.state == SENDING)
                .values(lease_until=until)
            )
        return result.rowcount

    async def heartbeat(self, worker: str, now: datetime, within: timedelta) -> int:
        aware(now)
        w = DeliveryWorker
        async with self._begin() as db:
            await db.execute(
                dialect_insert(db, w)
                .values(worker=worker, seen_at=now)
                .on_conflict_do_update(index_elements=["worker"], set_={"seen_at": now})
            )
            count = await db.scalar(select(func.count()).where(w.seen_at >= now - within))
        return count or 0


def _row_query() -> Select[Any]:
    t = OutboxMessage
    return select(
        t.id, t.source, t.occurrence, t.target, t.coalition_id, t.kind, t.payload, t.state,
        t.due_at, t.attempts, t.platform, t.conversation, t.message_id, t.error, t.sent_at,
    )
