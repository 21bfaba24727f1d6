"""Identities: which member a platform account is (see bot.people)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.people import Identity
from storage.db import dialect_insert
from storage.models import IdentityRow as T

_COLUMNS = (T.id, T.platform, T.user_id, T.member_id, T.email, T.how, T.tenant)


async def identify(db: AsyncConnection, identity: Identity, now: datetime) -> tuple[int, Identity]:
    """Store `identity` unless the account has one already; the stored row either way. An
    account first stored as nobody listed ("slack:U1" is U1) gives way to the member its email
    names, as a new row: other replicas learn rows by id."""
    where = (T.platform == identity.platform, T.user_id == identity.user)
    own = f"{identity.platform}:{identity.user}"
    if identity.member_id != own:
        await db.execute(delete(T).where(*where, T.member_id == own))
    await db.execute(
        dialect_insert(db, T)
        .values(platform=identity.platform, user_id=identity.user, member_id=identity.member_id,
                tenant=identity.tenant, email=identity.email, how=identity.how, resolved_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "user_id"])
    )
    return _identity((await db.execute(select(*_COLUMNS).where(*where))).one())


async def identities(db: AsyncConnection, after: int = 0) -> list[tuple[int, Identity]]:
    """Every identity stored after row `after`, in the order they were stored."""
    rows = await db.execute(select(*_COLUMNS).where(T.id > after).order_by(T.id))
    return [_identity(row) for row in rows]


def _identity(row) -> tuple[int, Identity]:
    return row.id, Identity(row.platform, row.user_id, row.member_id, row.email, row.how, row.tenant)
