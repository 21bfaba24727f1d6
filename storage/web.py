"""`bot.ports.WebAccess` on SQLAlchemy: the web platform's invites, one-time links, sessions,
people and conversations. Tokens arrive as digests (`bot.tokens.digest`) and are stored so.

The record side (a leader's `invite`, a member's `web` link) goes through the engine's unit:
`add_invite`, `revoke_invite`, `add_sign_in` and `invites` are called from `SqlUnit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
import json
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, Text, bindparam, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import records as r
from bot.ports import InviteInfo, WebEntry, WebPerson, WebSession
from storage.db import aware, dialect_insert
from storage.models import WebAttempt, WebEntryRow, WebInvite, WebLink, WebPersonRow, WebSessionRow

if TYPE_CHECKING:  # the repository imports this module for the record side
    from storage.repository import SqlStore

SIGN_IN, UNSUBSCRIBE = "signin", "unsubscribe"


# -- records, in the engine's unit ---------------------------------------------------------

async def add_invite(db: AsyncConnection, invite: r.Invite, now: datetime) -> int:
    aware(invite.expires_at)
    statement = WebInvite.__table__.insert().values(
        token_hash=invite.token_hash, coalition_id=invite.coalition_id, created_by=invite.member_id,
        created_at=now, expires_at=invite.expires_at, revoked_at=None, joins=0,
    ).returning(WebInvite.id)
    return (await db.execute(statement)).scalar_one()


async def revoke_invite(db: AsyncConnection, revoked: r.InviteRevoked, now: datetime) -> int:
    await db.execute(
        update(WebInvite)
        .where(WebInvite.id == revoked.invite_id, WebInvite.coalition_id == revoked.coalition_id,
               WebInvite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return 0


async def add_sign_in(db: AsyncConnection, link: r.SignInLink, now: datetime) -> int:
    aware(link.expires_at)
    await db.execute(WebLink.__table__.insert().values(
        token_hash=link.token_hash, purpose=link.purpose, member_id=link.member_id, name=link.name,
        coalition_id=link.coalition_id, created_at=now, expires_at=link.expires_at, used_at=None,
    ))
    return 0


async def invites(db: AsyncConnection, coalition_id: str) -> list[InviteInfo]:
    rows = await db.execute(_invite_query().where(WebInvite.coalition_id == coalition_id)
                            .order_by(WebInvite.id.desc()))
    return [InviteInfo(**row._asdict()) for row in rows]


def _invite_query():
    t = WebInvite
    return select(t.id, t.coalition_id, t.created_by, t.created_at, t.expires_at, t.revoked_at, t.joins)


# -- the adapter's side ----------------------------------------------------------------------

class SqlWeb:
    """One transaction per call, on the store's engine (and its SQLite write queue)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    @classmethod
    def of(cls, store: SqlStore) -> SqlWeb:
        return cls(store)

    @property
    def engine(self) -> AsyncEngine:
        return self.store.engine

    def _begin(self):
        return self.store._begin()

    async def invite(self, token_hash: str) -> InviteInfo | None:
        async with self._begin() as db:
            row = (await db.execute(_invite_query().where(WebInvite.token_hash == token_hash))).one_or_none()
            return InviteInfo(**row._asdict()) if row else None

    async def join(self, invite_id: int, person: WebPerson, session_hash: str, csrf: str,
                   now: datetime, session_until: datetime) -> bool:
        async with self._begin() as db:
            # Counted only while the invite is open, in the same statement that checks it.
            counted = await db.execute(
                update(WebInvite)
                .where(WebInvite.id == invite_id, WebInvite.revoked_at.is_(None), WebInvite.expires_at > now)
                .values(joins=WebInvite.joins + 1)
            )
            if counted.rowcount != 1:
                return False
            await db.execute(WebPersonRow.__table__.insert().values(
                member_id=person.member_id, name=person.name, coalition_id=person.coalition_id,
                email=person.email, invite_id=invite_id, created_at=now, unsubscribed_at=None,
            ))
            await _open_session(db, session_hash, person.member_id, csrf, now, session_until)
            return True

    async def issue_link(self, token_hash: str, purpose: str, member_id: str, now: datetime,
                         expires_at: datetime | None) -> None:
        async with self._begin() as db:
            await db.execute(WebLink.__table__.insert().values(
                token_hash=token_hash, purpose=purpose, member_id=member_id, name=None, coalition_id=None,
                created_at=now, expires_at=expires_at, used_at=None,
            ))

    async def use_sign_in(self, token_hash: str, session_hash: str, csrf: str, now: datetime,
                          session_until: datetime, purpose: str = SIGN_IN) -> WebPerson | None:
        async with self._begin() as db:
            link = await _spend(db, token_hash, purpose, now)
            if link is None:
                return None
            person = await _person(db, link.member_id)
            if person is None:  # a chat member's first time on the web
                person = WebPerson(link.member_id, link.name or link.member_id, link.coalition_id)
                await db.execute(WebPersonRow.__table__.insert().values(
                    member_id=person.member_id, name=person.name, coalition_id=person.coalition_id,
                    email=None, invite_id=None, created_at=now, unsubscribed_at=None,
                ))
            await _open_session(db, session_hash, person.member_id, csrf, now, session_until)
            return person

    async def spend_link(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """Use a one-time link that signs nobody in (a download): its member, or None if it is
        unknown, used or expired."""
        async with self._begin() as db:
            link = await _spend(db, token_hash, purpose, now)
            return link and link.member_id

    async def session(self, session_hash: str, now: datetime) -> WebSession | None:
        async with self._begin() as db:
            return await _session(db, session_hash, now)

    async def page(self, session_hash: str, now: datetime, limit: int, then=None):
        async with self.store.unit() as unit:
            db = unit._db
            session = await _session(db, session_hash, now)
            if session is None:
                return None, [], None
            entries = await _transcript(db, session.person.member_id, limit)
            return session, entries, (await then(unit, session) if then else None)

    async def close_session(self, session_hash: str) -> None:
        async with self._begin() as db:
            await db.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == session_hash))

    async def person(self, member_id: str) -> WebPerson | None:
        async with self._begin() as db:
            return await _person(db, member_id)

    async def people(self) -> list[str]:
        async with self._begin() as db:
            return list((await db.execute(select(WebPersonRow.member_id))).scalars())

    async def person_by_email(self, email: str) -> WebPerson | None:
        async with self._begin() as db:
            row = (await db.execute(
                select(*_PERSON_COLUMNS).where(WebPersonRow.email == email)
                .order_by(WebPersonRow.created_at.desc()).limit(1)
            )).one_or_none()
            return _as_person(row) if row else None

    async def unsubscribe(self, token_hash: str, now: datetime) -> WebPerson | None:
        async with self._begin() as db:
            member = await db.scalar(select(WebLink.member_id).where(
                WebLink.token_hash == token_hash, WebLink.purpose == UNSUBSCRIBE))
            if member is None:
                return None
            await db.execute(update(WebPersonRow)
                             .where(WebPersonRow.member_id == member, WebPersonRow.unsubscribed_at.is_(None))
                             .values(unsubscribed_at=now))
            return await _person(db, member)

    async def record(self, member_id: str, entries: Sequence[tuple[str, Mapping[str, Any]]],
                     now: datetime, tag: str | None = None) -> list[int]:
        async with self._begin() as db:
            ids = []
            for n, (who, body) in enumerate(entries):
                values = {"v_member_id": member_id, "v_who": who, "v_body": dict(body),
                          "v_tag": tag if n == 0 else None, "v_created_at": now}
                if n == 0 and tag is not None:
                    found = (await db.execute(_record_tagged(db.dialect.name), values)).scalar_one_or_none()
                    if found is None:
                        return []  # recorded before (a send retried after a crash)
                    ids.append(found)
                    continue
                ids.append((await db.execute(_RECORD, values)).scalar_one())
            return ids

    async def transcript(self, member_id: str, limit: int) -> list[WebEntry]:
        async with self._begin() as db:
            return await _transcript(db, member_id, limit)

    async def entry(self, tag: str) -> WebEntry | None:
        e = WebEntryRow
        async with self._begin() as db:
            row = (await db.execute(select(e.id, e.who, e.body, e.created_at, e.emailed_at)
                                    .where(e.tag == tag))).one_or_none()
            return WebEntry(**row._asdict()) if row else None

    async def replace_entry(self, entry_id: int, body: Mapping[str, Any]) -> None:
        async with self._begin() as db:
            await db.execute(update(WebEntryRow).where(WebEntryRow.id == entry_id).values(body=dict(body)))

    async def emailed(self, entry_id: int, now: datetime) -> None:
        async with self._begin() as db:
            await db.execute(update(WebEntryRow).where(WebEntryRow.id == entry_id).values(emailed_at=now))

    async def allow(self, kind: str, key: str, now: datetime, window: timedelta, limit: int) -> bool:
        a = WebAttempt
        async with self._begin() as db:
            if db.dialect.name == "postgresql":
                # Count and insert as one step: concurrent attempts of a key wait for each other
                # (SQLite's write lock does this already).
                await db.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"web:{kind}:{key}", 0))))
            # Old attempts of this key go first, so the table stays as small as the window.
            await db.execute(delete(a).where(a.kind == kind, a.key == key, a.at <= now - window))
            made = await db.scalar(select(func.count()).select_from(a).where(a.kind == kind, a.key == key))
            if made >= limit:
                return False
            await db.execute(a.__table__.insert().values(kind=kind, key=key, at=now))
            return True


_PERSON_COLUMNS = (WebPersonRow.member_id, WebPersonRow.name, WebPersonRow.coalition_id, WebPersonRow.email,
                   WebPersonRow.unsubscribed_at)


def _as_person(row: Any) -> WebPerson:
    return WebPerson(row.member_id, row.name, row.coalition_id, row.email, row.unsubscribed_at is not None)


# Every page and post runs these: built once (building a statement costs more than running it).
_SESSION = (
    select(WebSessionRow.csrf, *_PERSON_COLUMNS)
    .join(WebPersonRow, WebPersonRow.member_id == WebSessionRow.member_id)
    .where(WebSessionRow.token_hash == bindparam("v_hash"), WebSessionRow.expires_at > bindparam("v_now"))
)
_TRANSCRIPT = (  # the bodies as stored text: a page reads the same ones on every view (see _body)
    select(WebEntryRow.id, WebEntryRow.who, cast(WebEntryRow.body, Text), WebEntryRow.created_at, WebEntryRow.emailed_at)
    .where(WebEntryRow.member_id == bindparam("v_member_id"))
    .order_by(WebEntryRow.id.desc()).limit(bindparam("v_limit"))
)


_ENTRY = {name: bindparam(f"v_{name}") for name in ("member_id", "who", "body", "tag", "created_at")}
_RECORD = WebEntryRow.__table__.insert().values(_ENTRY).returning(WebEntryRow.id)


@cache
def _record_tagged(dialect: str) -> Insert:
    """The first entry of a post, once per tag: a post handled twice is kept once."""
    return (dialect_insert(dialect, WebEntryRow).values(_ENTRY)
            .on_conflict_do_nothing(index_elements=["tag"]).returning(WebEntryRow.id))


async def _session(db: AsyncConnection, session_hash: str, now: datetime) -> WebSession | None:
    row = (await db.execute(_SESSION, {"v_hash": session_hash, "v_now": now})).one_or_none()
    return WebSession(_as_person(row), row.csrf) if row else None


async def _transcript(db: AsyncConnection, member_id: str, limit: int) -> list[WebEntry]:
    rows = await db.execute(_TRANSCRIPT, {"v_member_id": member_id, "v_limit": limit})
    return [WebEntry(id, who, _body(body), created, emailed) for id, who, body, created, emailed in reversed(rows.all())]


@lru_cache(maxsize=4096)
def _body(stored: str) -> Mapping[str, Any]:
    """A stored body decoded once: the same text gives the same dict, so read it, never change it."""
    return json.loads(stored)



async def _spend(db: AsyncConnection, token_hash: str, purpose: str, now: datetime) -> Any:
    """Mark a one-time link of `purpose` used; its (member_id, name, coalition_id), or None if it
    is unknown, used or expired."""
    t = WebLink
    spent = await db.execute(
        update(t)
        .where(t.token_hash == token_hash, t.purpose == purpose, t.used_at.is_(None), t.expires_at > now)
        .values(used_at=now)
        .returning(t.member_id, t.name, t.coalition_id)
    )
    return spent.one_or_none()

async def _person(db: AsyncConnection, member_id: str) -> WebPerson | None:
    row = (await db.execute(select(*_PERSON_COLUMNS).where(WebPersonRow.member_id == member_id))).one_or_none()
    return _as_person(row) if row else None


async def _open_session(db: AsyncConnection, session_hash: str, member_id: str, csrf: str,
                        now: datetime, until: datetime) -> None:
    aware(until)
    # Expired sessions of this member go when they sign in again, so the table does not grow.
    await db.execute(delete(WebSessionRow).where(WebSessionRow.member_id == member_id,
                                                 WebSessionRow.expires_at <= now))
    await db.execute(WebSessionRow.__table__.insert().values(
        token_hash=session_hash, member_id=member_id, csrf=csrf, created_at=now, expires_at=until))
