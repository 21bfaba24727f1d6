"""`bot.ports.Schedules`: what the scheduler keeps between runs (check-in rounds, how far
each schedule is planned, members' time zones and languages), and the round queries `SqlUnit` shares."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, Select, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import AnswerInfo, RoundInfo
from storage.db import aware, dialect_insert
from storage.models import CheckInRow, MemberLanguage, MemberZone, RoundRow, ScheduleMark


def round_query() -> Select[Any]:
    """RoundInfo's columns (they are the `rounds` table's)."""
    return select(*(getattr(RoundRow, f.name) for f in dataclasses.fields(RoundInfo)))


def round_info(row: Any) -> RoundInfo:
    return RoundInfo(**row._asdict())


@cache
def _upsert(dialect: str, model: type, fresh: tuple[str, ...]) -> Insert:
    """Insert a member's row of `model`, or set `fresh` on the one there: built once per shape
    (building it costs more than running it), the values bound at each call."""
    insert = dialect_insert(dialect, model)
    values = {name: bindparam(f"v_{name}") for name in ("member_id", *fresh)}
    return insert.values(values).on_conflict_do_update(index_elements=["member_id"],
                                                       set_={name: insert.excluded[name] for name in fresh})


# Written when a round's progress message is posted or updated (the delivery loop).
_SET_PROGRESS = update(RoundRow).where(RoundRow.id == bindparam("v_id")).values(progress=bindparam("v_progress"))


async def _save(db: AsyncConnection, model: type, member_id: str, values: Mapping[str, Any]) -> None:
    statement = _upsert(db.dialect.name, model, tuple(values))
    await db.execute(statement, {"v_member_id": member_id, **{f"v_{k}": v for k, v in values.items()}})


async def save_language(db: AsyncConnection, member_id: str, values: Mapping[str, Any], now: datetime) -> None:
    """Set a member's chosen language or platform locale, leaving the other as it is."""
    aware(now)
    await _save(db, MemberLanguage, member_id, dict(values) | {"updated_at": now})


async def save_zone(db: AsyncConnection, member_id: str, zone: str, source: str, now: datetime) -> None:
    await _save(db, MemberZone, member_id, {"timezone": zone, "source": source, "updated_at": now})


def round_key(round_id: int) -> str:
    """What a check-in stores as its round_id."""
    return str(round_id)


class SqlSchedules:
    """`bot.ports.Schedules`, mixed into `SqlStore`: each method is one transaction."""

    def _begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError  # SqlStore's: a transaction in the store's turn

    async def planned_until(self, name: str) -> datetime | None:
        async with self._begin() as db:
            return await db.scalar(
                select(ScheduleMark.planned_until).where(ScheduleMark.name == name)
            )

    async def set_planned_until(self, name: str, until: datetime) -> None:
        aware(until)
        async with self._begin() as db:
            await db.execute(
                dialect_insert(db, ScheduleMark)
                .values(name=name, planned_until=until)
                .on_conflict_do_update(index_elements=["name"], set_={"planned_until": until})
            )

    async def open_or_get_round(
        self, origin: str, coalition_id: str, experiment_id: int, opened_by: str | None,
        opened_at: datetime, closes_at: datetime, reminders: int, remind_after_s: int,
    ) -> RoundInfo:
        aware(opened_at, closes_at)
        values = dict(
            origin=origin, coalition_id=coalition_id, experiment_id=experiment_id,
            opened_by=opened_by, opened_at=opened_at, closes_at=closes_at,
            reminders=reminders, remind_after_s=remind_after_s,
        )
        async with self._begin() as db:
            # Insert-then-select: a concurrent opener of the same origin waits on the
            # unique index, then finds the winner's round.
            await db.execute(
                dialect_insert(db, RoundRow)
                .values(values)
                .on_conflict_do_nothing(index_elements=["origin"])
            )
            row = (await db.execute(round_query().where(RoundRow.origin == origin))).one()
        return round_info(row)

    async def rounds(
        self, *, open_only: bool = False, closed_since: datetime | None = None
    ) -> list[RoundInfo]:
        t = RoundRow
        query = round_query().order_by(t.id)
        # Both given: the open rounds and those closed since (either alone would be empty
        # or all when combined with AND).
        wanted = []
        if open_only:
            wanted.append(t.closed_at.is_(None))
        if closed_since is not None:
            aware(closed_since)
            wanted.append(t.closed_at >= closed_since)
        if wanted:
            query = query.where(or_(*wanted))
        async with self._begin() as db:
            return [round_info(row) for row in await db.execute(query)]

    async def close_round(self, round_id: int, now: datetime) -> bool:
        aware(now)
        async with self._begin() as db:
            return await close_round(db, round_id, now)

    async def round_answers(self, round_id: int) -> list[AnswerInfo]:
        c = CheckInRow
        query = (
            select(
                c.member_id, c.citizen_impact, c.intended_seen.label("intended"),
                c.unintended, c.decision,
            )
            .where(c.round_id == round_key(round_id))
            .order_by(c.id)
        )
        async with self._begin() as db:
            return [AnswerInfo(**row._asdict()) for row in await db.execute(query)]

    async def set_progress(self, round_id: int, progress: Mapping[str, Any]) -> None:
        async with self._begin() as db:
            await db.execute(_SET_PROGRESS, {"v_id": round_id, "v_progress": dict(progress)})

    async def save_zone(self, member_id: str, zone: str, source: str, now: datetime) -> None:
        aware(now)
        async with self._begin() as db:
            await save_zone(db, member_id, zone, source, now)

    async def save_locale(self, member_id: str, locale: str | None, now: datetime) -> None:
        async with self._begin() as db:
            await save_language(db, member_id, {"locale": locale}, now)

    async def languages(self) -> dict[str, tuple[str | None, str | None]]:
        t = MemberLanguage
        async with self._begin() as db:
            rows = await db.execute(select(t.member_id, t.chosen, t.locale))
            return {member_id: (chosen, locale) for member_id, chosen, locale in rows}

    async def zones(self) -> dict[str, str]:
        async with self._begin() as db:
            rows = await db.execute(select(MemberZone.member_id, MemberZone.timezone))
            return {member_id: zone for member_id, zone in rows}


async def close_round(db: AsyncConnection, round_id: int, now: datetime) -> bool:
    """Close the round if it is open; False if it was closed (or does not exist)."""
    t = RoundRow
    result = await db.execute(
        update(t).where(t.id == round_id, t.closed_at.is_(None)).values(closed_at=now)
    )
    return result.rowcount == 1
