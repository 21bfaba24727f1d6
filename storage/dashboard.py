"""The dashboard's listings of one coalition (`bot.ports.Reader`): the hidden treasures
mapped and the perspectives voiced in a period, and its schedules' history, newest first.

The movement's figures and its story pages are the digest's (`storage.digest.overview`,
`storage.digest.story_page`): the same windows and consent rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.digest import PerspectiveItem, TreasureItem
from bot.ports import ScheduleChange
from storage.digest import by_name, of_member
from storage.models import Member, PerspectiveRow, ResourceRow, ScheduleChangeRow


async def names(db: AsyncConnection, coalition_id: str) -> dict[str, str]:
    m = Member
    rows = await db.execute(select(m.member_id, m.name).where(m.coalition_id == coalition_id, m.name != ""))
    return dict(rows.all())


async def treasures(
    db: AsyncConnection, coalition_id: str, since: datetime, until: datetime, limit: int
) -> tuple[TreasureItem, ...]:
    t = ResourceRow
    rows = await db.execute(
        select(t.id, t.coalition_id, t.name, t.kind, t.sector, t.offer, by_name(t).label("member"),
               t.created_at)
        .select_from(t)
        .outerjoin(Member, of_member(t))
        .where(*_period(t, coalition_id, since, until))
        .order_by(t.created_at.desc(), t.id.desc())
        .limit(limit)
    )
    return tuple(TreasureItem(**row._asdict()) for row in rows)


async def perspectives(
    db: AsyncConnection, coalition_id: str, since: datetime, until: datetime, limit: int
) -> tuple[PerspectiveItem, ...]:
    t = PerspectiveRow
    rows = await db.execute(
        select(t.id, t.coalition_id, t.voice, t.said, t.shows, t.created_at)
        .where(*_period(t, coalition_id, since, until))
        .order_by(t.created_at.desc(), t.id.desc())
        .limit(limit)
    )
    return tuple(PerspectiveItem(**row._asdict()) for row in rows)


async def schedule_changes(db: AsyncConnection, coalition_id: str, limit: int) -> tuple[ScheduleChange, ...]:
    h = ScheduleChangeRow
    rows = await db.execute(
        select(h.schedule_id, h.coalition_id, h.member_id, h.paused, h.time, h.changed_at)
        .where(h.coalition_id == coalition_id)
        .order_by(h.changed_at.desc(), h.id.desc())  # ids: changes made in one instant, in order
        .limit(limit)
    )
    return tuple(ScheduleChange(**row._asdict()) for row in rows)


def _period(t: Any, coalition_id: str, since: datetime, until: datetime) -> list[Any]:
    # (coalition_id, created_at): the coalition index's range, newest first; erased text never.
    return [t.coalition_id == coalition_id, t.created_at >= since, t.created_at < until, t.erased_at.is_(None)]
