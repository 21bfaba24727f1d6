"""Identities: which member a platform account is (see bot.people)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Insert, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.people import Changes, CoalitionChange, Identity, Person, Seat
from storage.db import dialect_insert
from storage.models import CoalitionChangeRow, IdentityRow as T, PersonRow, SeatRow, VersionRow

PEOPLE = "people"  # the versions row of membership changes

_COLUMNS = (T.id, T.platform, T.user_id, T.member_id, T.email, T.how, T.tenant)


async def identify(db: AsyncConnection, identity: Identity, now: datetime) -> tuple[int, Identity]:
    """Store `identity` unless the account has one already; the stored row either way. An
    account first stored as nobody listed ("slack:U1" is U1) gives way to the member its email
    names, as a new row: other replicas learn rows by id."""
    values = {"v_platform": identity.platform, "v_user_id": identity.user, "v_member_id": identity.member_id,
              "v_tenant": identity.tenant, "v_email": identity.email, "v_how": identity.how, "v_resolved_at": now}
    own = f"{identity.platform}:{identity.user}"
    if identity.member_id != own:
        await db.execute(_FORGET_OWN, values | {"v_own": own})
    stored = (await db.execute(_store(db.dialect.name), values)).one_or_none()  # None: it had one
    return _identity(stored or (await db.execute(_STORED, values)).one())


# Built once (a newcomer's first message runs all three): see storage.repository.
_ACCOUNT = (T.platform == bindparam("v_platform"), T.user_id == bindparam("v_user_id"))
_FORGET_OWN = delete(T).where(*_ACCOUNT, T.member_id == bindparam("v_own"))
_STORED = select(*_COLUMNS).where(*_ACCOUNT)


@cache
def _store(dialect: str) -> Insert:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(T)
    columns = ("platform", "user_id", "member_id", "tenant", "email", "how", "resolved_at")
    return insert.values({name: bindparam(f"v_{name}") for name in columns}).on_conflict_do_nothing(
        index_elements=["platform", "user_id"]).returning(*_COLUMNS)


async def identities(db: AsyncConnection, after: int = 0) -> list[tuple[int, Identity]]:
    """Every identity stored after row `after`, in the order they were stored."""
    rows = await db.execute(select(*_COLUMNS).where(T.id > after).order_by(T.id))
    return [_identity(row) for row in rows]


def _identity(row) -> tuple[int, Identity]:
    return row.id, Identity(row.platform, row.user_id, row.member_id, row.email, row.how, row.tenant)


# -- membership changed in chat -------------------------------------------------------------------


async def change(db: AsyncConnection, change: Person | Seat | CoalitionChange, by: str, now: datetime) -> bool:
    """Store a membership change; False (and nothing written) if it changes nothing."""
    match change:
        case Person():
            row, key, values = PersonRow, {"member_id": change.member_id}, {"name": change.name, "email": change.email}
            stamp = {"added_by": by, "added_at": now}
        case Seat():
            row, key = SeatRow, {"coalition_id": change.coalition_id, "member_id": change.member_id}
            values, stamp = {"role": change.role, "sector": change.sector}, {"changed_by": by, "changed_at": now}
        case CoalitionChange():
            row, key = CoalitionChangeRow, {"coalition_id": change.coalition_id}
            old = (await db.execute(select(row.name, row.challenge, row.created).filter_by(**key))).one_or_none()
            # A rename keeps the challenge and the other way round.
            values = {"name": change.name or (old and old.name), "challenge": change.challenge or (old and old.challenge),
                      "created": change.created or bool(old and old.created)}
            stamp = {"changed_by": by, "changed_at": now}
    current = (await db.execute(select(*(getattr(row, k) for k in values)).filter_by(**key))).one_or_none()
    if current is not None and tuple(current) == tuple(values.values()):
        return False
    await db.execute(dialect_insert(db, row).values(key | values | stamp)
                     .on_conflict_do_update(index_elements=list(key), set_=values | stamp))
    await bump(db)
    return True


async def bump(db: AsyncConnection) -> None:
    """Membership changed: every replica reads it again (and who is who) when it sees this grow."""
    await db.execute(dialect_insert(db, VersionRow).values(name=PEOPLE, n=1)
                     .on_conflict_do_update(index_elements=["name"], set_={"n": VersionRow.n + 1}))


async def version(db: AsyncConnection) -> int:
    """How often membership was changed in chat (0: never): read the changes again when it grew."""
    return await db.scalar(select(VersionRow.n).where(VersionRow.name == PEOPLE)) or 0


async def changes(db: AsyncConnection) -> Changes:
    people = await db.execute(select(PersonRow.member_id, PersonRow.name, PersonRow.email).order_by(PersonRow.added_at,
                                                                                                    PersonRow.member_id))
    seats = await db.execute(select(SeatRow.coalition_id, SeatRow.member_id, SeatRow.role, SeatRow.sector)
                             .order_by(SeatRow.changed_at, SeatRow.coalition_id, SeatRow.member_id))
    c = CoalitionChangeRow
    coalitions = await db.execute(select(c.coalition_id, c.name, c.challenge, c.created).order_by(c.changed_at,
                                                                                                  c.coalition_id))
    return Changes(tuple(Person(*row) for row in people), tuple(Seat(*row) for row in seats),
                   tuple(CoalitionChange(*row) for row in coalitions), await version(db))
