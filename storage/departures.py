"""Where the app was removed: a Slack workspace (`app_uninstalled`, a revoked bot token) or a
member's Teams (the personal app uninstalled, or they left the team the bot reached them
through). The conversation references there are deleted with it; the members who were
reached only there are listed, so the outbox skips their messages with the reason instead of
trying, failing and telling leaders about each one. A new install (or the next message from
there) ends it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import dialect_insert
from storage.models import ConversationRefRow as R, DepartureRow as D


async def depart(db: AsyncConnection, platform: str, scope: str, reason: str, now: datetime, *,
                 tenant: str | None = None, user: str | None = None, conversation: str | None = None) -> list[str]:
    """Record the departure and delete the references it ends: every one of `tenant`, or of
    `user`, or of `conversation` (on `platform`). The members who have no reference left on
    the platform are returned (and kept with it)."""
    where = [R.platform == platform]
    if tenant is not None:
        where.append(R.tenant == tenant)
    if user is not None:
        where.append(R.user == user)
    if conversation is not None:  # and its threads (Teams: "19:…@thread.tacv2;messageid=…")
        where.append(or_(R.conversation == conversation, R.conversation.like(conversation + ";%")))
    touched = set(await db.scalars(select(R.member_id).where(*where)))
    await db.execute(delete(R).where(*where))
    left = set(await db.scalars(select(R.member_id).where(R.platform == platform, R.member_id.in_(touched))))
    gone = sorted(touched - left)
    old = await db.scalar(select(D.members).where(D.platform == platform, D.scope == scope))
    members = sorted(set(old or ()) | set(gone))
    await db.execute(dialect_insert(db, D).values(platform=platform, scope=scope, reason=reason, at=now, members=members)
                     .on_conflict_do_update(index_elements=["platform", "scope"],
                                            set_={"reason": reason, "at": now, "members": members}))
    return gone


# Read by each sender at every heartbeat of the delivery loop: built once.
_DEPARTURES = select(D.scope, D.reason, D.members).where(D.platform == bindparam("v_platform"))


async def departures(db: AsyncConnection, platform: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """scope -> (reason, members reached only there) of every departure on `platform`."""
    rows = await db.execute(_DEPARTURES, {"v_platform": platform})
    return {scope: (reason, tuple(members or ())) for scope, reason, members in rows}


async def back(db: AsyncConnection, platform: str, scope: str) -> bool:
    """The app is there again (installed anew, or a message came from there)."""
    return bool((await db.execute(delete(D).where(D.platform == platform, D.scope == scope))).rowcount)
