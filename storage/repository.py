"""`bot.ports.Store` on SQLAlchemy Core statements over the `storage.models` tables."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime, timezone
from functools import cache
from typing import Any

from sqlalchemy import (Float, Insert, Select, String, bindparam, case, cast, delete, func, literal_column, null, or_, select,
                        text, union_all, update)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import records as r
from bot.digest import Digest, Overview, PerspectiveItem, Scope, StoryItem, TreasureItem
from bot.ports import (
    ExperimentInfo,
    FlowState,
    FrameInfo,
    InviteInfo,
    Outgoing,
    Override,
    RoundInfo,
    ScheduleChange,
    StaleState,
    StatementInfo,
    StoryInfo,
)
from bot.types import ConversationRef
from bot.people import NONE, Changes, Identity
from storage import dashboard, departures, digest as digests, people, privacy, web
from storage.db import aware, create_engine, dialect_insert, jsonable
from storage.sqlite import Writer
from storage.models import (
    MemberLanguage,
    Base,
    CheckInEffect,
    CheckInRow,
    ConversationRefRow,
    CoordinatorGrantRow,
    DigestMark,
    ExperimentRow,
    FlowStateRow,
    FrameRow,
    Member,
    PerspectiveRow,
    ProblemStatementRow,
    ProcessedEvent,
    ReflectionRow,
    ResourceRow,
    RoundRow,
    ScheduleChangeRow,
    ScheduleOverride,
    SeatRow,
    StoryPrinciple,
    StoryRow,
    StorySector,
    StrengthRow,
)
from storage.outbox import SqlOutbox, enqueue
from storage.schedules import (SqlSchedules, close_round, round_info, round_key, round_query, save_language,
                               save_zone)

# Records that map field-for-field onto a table (plus created_at).
_PLAIN: dict[type, type[Base]] = {
    r.Resource: ResourceRow,
    r.Strength: StrengthRow,
    r.Perspective: PerspectiveRow,
    r.ProblemStatement: ProblemStatementRow,
    r.Reflection: ReflectionRow,
}


class SqlStore(SqlOutbox, SqlSchedules):
    """The Store: one engine, one transaction per `unit()` (and per outbox or schedules
    call)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time: units queue for it in this process and share its
        # transactions (`storage.sqlite.Writer`, one per event loop). PostgreSQL's row locks
        # need no queue: a transaction each.
        self._serial = engine.dialect.name == "sqlite"
        self._writers: dict[asyncio.AbstractEventLoop, Writer] = {}

    def _writer(self) -> Writer:
        loop = asyncio.get_running_loop()
        if loop not in self._writers:
            self._writers[loop] = Writer(self.engine)
        return self._writers[loop]

    def _begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction: COMMIT (on disk) when the block ends, ROLLBACK if it raises."""
        return self._writer().unit() if self._serial else self.engine.begin()

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """For reads alone: on PostgreSQL a connection whose isolation may still be set."""
        return self._writer().unit() if self._serial else self.engine.connect()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        async with self._begin() as connection:
            yield SqlUnit(connection)

    async def export(self, coalition_id: str) -> dict[str, list[dict[str, Any]]]:
        async with self._read() as connection:
            if connection.dialect.name == "postgresql":
                # One snapshot for all the export's queries (SQLite's lock gives one anyway).
                await connection.execution_options(isolation_level="REPEATABLE READ")
            return await _export(connection, coalition_id)

    async def digest(
        self, scope: Scope, principles: Sequence[tuple[int, str]],
        wanted: Mapping[str, Sequence[str]], today: date,
    ) -> Digest:
        """`SqlUnit.digest` in a unit of its own."""
        async with self.unit() as unit:
            return await unit.digest(scope, principles, wanted, today)

    # -- References, one transaction each ----------------------------------------------

    async def save_reference(
        self, ref: ConversationRef, member_id: str, kind: str, now: datetime
    ) -> None:
        async with self.unit() as unit:
            await unit.save_reference(ref, member_id, kind, now)

    async def reference_for(
        self, platform: str, member_id: str, kind: str | None = "personal"
    ) -> ConversationRef | None:
        async with self.unit() as unit:
            return await unit.reference_for(platform, member_id, kind)

    async def channel_reference(self, platform: str, conversation: str) -> ConversationRef | None:
        async with self.unit() as unit:
            return await unit.channel_reference(platform, conversation)

    async def mark_unreachable(
        self, platform: str, member_id: str, reason: str, now: datetime
    ) -> None:
        async with self.unit() as unit:
            await unit.mark_unreachable(platform, member_id, reason, now)

    async def unreachable(self, platform: str) -> list[tuple[str, str]]:
        async with self.unit() as unit:
            return await unit.unreachable(platform)

    async def last_platform(self, member_id: str, platforms: Collection[str]) -> str | None:
        async with self.unit() as unit:
            return await unit.last_platform(member_id, platforms)

    async def identify(self, identity: Identity, now: datetime) -> tuple[int, Identity]:
        async with self.unit() as unit:
            return await unit.identify(identity, now)

    async def identities(self, after: int = 0) -> list[tuple[int, Identity]]:
        async with self._read() as connection:
            return await people.identities(connection, after)

    async def changes(self) -> Changes:
        async with self._read() as connection:
            return await people.changes(connection)

    async def changes_version(self) -> int:
        async with self._read() as connection:
            return await people.version(connection)

    # -- Departures -------------------------------------------------------------------

    async def depart(self, platform: str, scope: str, reason: str, now: datetime, *, tenant: str | None = None,
                     user: str | None = None, conversation: str | None = None) -> list[str]:
        async with self._begin() as connection:
            return await departures.depart(connection, platform, scope, reason, now, tenant=tenant, user=user,
                                           conversation=conversation)

    async def departures(self, platform: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        async with self._read() as connection:
            return await departures.departures(connection, platform)

    async def back(self, platform: str, scope: str) -> bool:
        async with self._begin() as connection:
            return await departures.back(connection, platform, scope)

    # -- Privacy ------------------------------------------------------------------------

    async def member_data(self, member_id: str) -> dict[str, Any]:
        async with self._read() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execution_options(isolation_level="REPEATABLE READ")
            return await privacy.member_data(connection, member_id)

    async def erase(self, member_id: str, by: str, now: datetime) -> dict[str, int]:
        async with self._begin() as connection:
            return await privacy.erase(connection, member_id, by, now)

    async def expire(self, cutoffs: Mapping[str, datetime | None], now: datetime,
                     dry_run: bool = False) -> dict[str, int]:
        async with self._begin() as connection:
            return await privacy.expire(connection, cutoffs, now, dry_run=dry_run)

    async def erasures(self) -> list[dict[str, Any]]:
        async with self._read() as connection:
            return await privacy.erasures(connection)

    async def ping(self) -> None:
        async with self._read() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        writer = self._writers.pop(asyncio.get_running_loop(), None)
        if writer is not None:
            await writer.close()
        await self.engine.dispose()


def open_store(url: str) -> SqlStore:
    """A store on a (migrated) database; no I/O until first used."""
    return SqlStore(create_engine(url))


def _reference_query() -> Select[Any]:
    t = ConversationRefRow
    return select(t.platform, t.tenant, t.conversation, t.user, t.thread, t.data)


def _experiment_query() -> Select[Any]:
    e, c = ExperimentRow, CheckInRow
    checkins = select(func.count()).where(c.experiment_id == e.id).scalar_subquery()
    return select(
        e.id, e.coalition_id, e.member_id, e.title, e.stakeholders,
        e.starts_on, e.ends_on, e.owner, checkins.label("checkins"),
    )


# Statements every chat turn may run, built once: building one from its parts costs more
# than running it (SQLAlchemy coerces each value and derives the cache key every time).
_REACHABLE_AGAIN = (
    update(ConversationRefRow)
    .where(ConversationRefRow.platform == bindparam("v_platform"),
           ConversationRefRow.member_id == bindparam("v_member_id"),
           ConversationRefRow.unreachable_at.is_not(None))
    .values(unreachable_reason=None, unreachable_at=None)
)


@cache
def _save_reference(dialect: str) -> Insert:
    """Insert a reference, or update the one at the same address: one statement, never
    read-then-write, so a concurrent first save waits on the unique index and then updates."""
    insert = dialect_insert(dialect, ConversationRefRow)
    fresh = ("member_id", "thread", "kind", "data", "updated_at")
    address = ("platform", "tenant", "conversation", "user")
    return insert.values({name: bindparam(f"v_{name}") for name in (*address, *fresh)}).on_conflict_do_update(
        index_elements=list(address),
        set_={**{name: insert.excluded[name] for name in fresh}, "unreachable_reason": None, "unreachable_at": None},
    )


@cache
def _claim_event(dialect: str) -> Insert:
    insert = dialect_insert(dialect, ProcessedEvent)
    return insert.values(event_id=bindparam("v_event_id"), processed_at=bindparam("v_at")).on_conflict_do_nothing(
        index_elements=["event_id"])


_LOAD_STATE = (
    select(FlowStateRow.key, FlowStateRow.member_id, FlowStateRow.coalition_id, FlowStateRow.flow,
           FlowStateRow.step, FlowStateRow.version, FlowStateRow.data)
    .where(FlowStateRow.key == bindparam("v_key"))
)
_LANGUAGE_OF = select(MemberLanguage.chosen, MemberLanguage.locale).where(
    MemberLanguage.member_id == bindparam("v_member_id"))
# The coordinators named in chat ('g' rows) and the member's language (the 'l' row).
_SPEAKER = union_all(
    select(literal_column("'g'"), CoordinatorGrantRow.member_id, cast(null(), String(35)), cast(null(), String(35))),
    select(literal_column("'l'"), MemberLanguage.member_id, MemberLanguage.chosen, MemberLanguage.locale)
    .where(MemberLanguage.member_id == bindparam("v_member_id")),
)
_MEMBER_PROFILE = (
    select(*(getattr(Member, f.name) for f in dataclasses.fields(r.MemberProfile)))
    .where(Member.coalition_id == bindparam("v_coalition_id"), Member.member_id == bindparam("v_member_id"))
)
_STORIES = (
    select(StoryRow.id, StoryRow.title, StoryRow.consent, StoryRow.anonymous, StoryRow.withdrawn_at,
           StoryRow.created_at)
    .where(StoryRow.coalition_id == bindparam("v_coalition_id"), StoryRow.member_id == bindparam("v_member_id"))
    .order_by(StoryRow.created_at.desc(), StoryRow.id.desc())
)


# ... and those every proactive send may run: the member's address (and, if a platform
# refuses, marking it), where they last wrote from, a check-in round and its answers.
_REFERENCE_ORDER = (ConversationRefRow.updated_at.desc(), ConversationRefRow.id.desc())


@cache
def _reference_for(by_kind: bool) -> Select[Any]:
    """The latest reference of v_member_id on v_platform (of kind v_kind if `by_kind`)."""
    t = ConversationRefRow
    query = _reference_query().where(t.platform == bindparam("v_platform"), t.member_id == bindparam("v_member_id"))
    if by_kind:
        query = query.where(t.kind == bindparam("v_kind"))
    return query.order_by(*_REFERENCE_ORDER).limit(1)


_CHANNEL_REFERENCE = (
    _reference_query()
    .where(ConversationRefRow.platform == bindparam("v_platform"),
           or_(ConversationRefRow.conversation == bindparam("v_conversation"),
               ConversationRefRow.data["channel"].as_string() == bindparam("v_conversation")))
    .order_by(*_REFERENCE_ORDER).limit(1)
)
_MARK_UNREACHABLE = (
    update(ConversationRefRow)
    .where(ConversationRefRow.platform == bindparam("v_platform"),
           ConversationRefRow.member_id == bindparam("v_member_id"))
    .values(unreachable_reason=bindparam("v_reason"), unreachable_at=bindparam("v_at"))
)
_LAST_PLATFORM = (
    select(ConversationRefRow.platform)
    .where(ConversationRefRow.member_id == bindparam("v_member_id"),
           ConversationRefRow.platform.in_(bindparam("v_platforms", expanding=True)))
    .order_by(*_REFERENCE_ORDER).limit(1)
)
_ROUND = round_query().where(RoundRow.id == bindparam("v_id"))
_ANSWERED = select(CheckInRow.member_id).where(CheckInRow.round_id == bindparam("v_round_id"))
_EXPERIMENT = _experiment_query().where(ExperimentRow.id == bindparam("v_id"))


@cache
def _experiments(running: bool, mine: bool) -> Select[Any]:
    e = ExperimentRow
    query = _experiment_query().where(e.coalition_id == bindparam("v_coalition_id"))
    if running:
        query = query.where(e.starts_on <= bindparam("v_on"), e.ends_on >= bindparam("v_on"))
    if mine:
        query = query.where(e.member_id == bindparam("v_member_id"))
    return query.order_by(e.ends_on, e.id)


class SqlUnit:
    """One transaction: implements `bot.ports.Unit` (and so `Reader`)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    def _insert(self, model: type[Base]) -> Insert:
        return dialect_insert(self._db, model)

    # -- Unit ------------------------------------------------------------------

    async def claim_event(self, event_id: str) -> bool:
        statement = _claim_event(self._db.dialect.name)
        return (await self._db.execute(statement, {"v_event_id": event_id, "v_at": _utcnow()})).rowcount == 1

    async def load_state(self, key: str) -> FlowState | None:
        row = (await self._db.execute(_LOAD_STATE, {"v_key": key})).one_or_none()
        return FlowState(**row._asdict()) if row else None

    async def save_state(self, state: FlowState) -> None:
        values = dataclasses.asdict(state) | {"updated_at": _utcnow()}
        if state.version == 1:
            statement = (
                self._insert(FlowStateRow)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        else:
            statement = (
                update(FlowStateRow)
                .where(FlowStateRow.key == state.key, FlowStateRow.version == state.version - 1)
                .values(values)
            )
        if (await self._db.execute(statement)).rowcount != 1:
            raise StaleState(f"flow state {state.key!r} changed; not saving v{state.version}")

    async def delete_state(self, key: str, version: int) -> None:
        statement = delete(FlowStateRow).where(
            FlowStateRow.key == key, FlowStateRow.version == version
        )
        if (await self._db.execute(statement)).rowcount != 1:
            raise StaleState(f"flow state {key!r} is not at version {version}")

    async def add(self, records: Sequence[r.Record], now: datetime) -> list[int]:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return [await self._add(record, now) for record in records]

    async def _add(self, record: r.Record, now: datetime) -> int:
        fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        if type(record) in _PLAIN:
            return await self._insert_id(_PLAIN[type(record)], fields | {"created_at": now})
        match record:
            case r.MemberProfile():
                # Joining again updates the profile; joined_at stays the first join.
                profile = {k: fields[k] for k in fields.keys() - {"coalition_id", "member_id"}}
                statement = (
                    self._insert(Member)
                    .values(fields | {"joined_at": now, "updated_at": now})
                    .on_conflict_do_update(
                        index_elements=["coalition_id", "member_id"],
                        set_=profile | {"updated_at": now},
                    )
                    .returning(Member.id)
                )
                return (await self._db.execute(statement)).scalar_one()
            case r.Frame():
                return await self._close_frame(record, now)
            case r.Experiment():
                fields["stakeholders"] = list(record.stakeholders)
                return await self._insert_id(ExperimentRow, fields | {"created_at": now})
            case r.CheckIn():
                await self._require(ExperimentRow, record.experiment_id, record.coalition_id)
                effects = fields.pop("effects")
                checkin_id = await self._insert_id(CheckInRow, fields | {"created_at": now})
                await self._insert_many(
                    CheckInEffect,
                    [{"checkin_id": checkin_id, "stakeholder": s, "rating": n} for s, n in effects],
                )
                return checkin_id
            case r.Story():
                principles, sectors = fields.pop("principles"), fields.pop("sectors")
                story_id = await self._insert_id(
                    StoryRow, fields | {"created_at": now, "withdrawn_at": None}
                )
                # dict.fromkeys: drop repeats (they would break the primary key), keep order.
                await self._insert_many(
                    StoryPrinciple,
                    [{"story_id": story_id, "principle": p} for p in dict.fromkeys(principles)],
                )
                await self._insert_many(
                    StorySector,
                    [{"story_id": story_id, "sector": s} for s in dict.fromkeys(sectors)],
                )
                return story_id
            case r.StoryWithdrawal():
                author = (
                    await self._db.execute(
                        select(StoryRow.member_id).where(StoryRow.id == record.story_id)
                    )
                ).scalar_one_or_none()
                if author != record.member_id:
                    raise ValueError(f"story {record.story_id} is not {record.member_id}'s")
                await self._db.execute(
                    update(StoryRow)
                    .where(StoryRow.id == record.story_id, StoryRow.withdrawn_at.is_(None))
                    .values(withdrawn_at=now)
                )
                return 0
            case r.DigestShown():
                await self._advance_marks(record, now)
                return 0
            case r.CoordinatorGrant():
                row = {"member_id": record.member_id, "granted_by": record.granted_by, "granted_at": now}
                await self._db.execute(self._insert(CoordinatorGrantRow).values(row).on_conflict_do_nothing())
                return 0
            case r.MembershipChange():
                return int(await people.change(self._db, record.change, record.by, now))
            case r.Erasure():
                return sum((await privacy.erase(self._db, record.member_id, record.by, now)).values())
            case r.CoordinatorRevoke():
                await self._db.execute(
                    delete(CoordinatorGrantRow).where(CoordinatorGrantRow.member_id == record.member_id))
                return 0
            case r.LanguageChoice():
                await save_language(self._db, record.member_id, {"chosen": record.language}, now)
                return 0
            case r.CheckInRound():
                return await self._open_round(record, now)
            case r.RoundClosed():
                await close_round(self._db, record.round_id, now)
                return 0
            case r.ScheduleChanged():
                await self._change_schedule(record, now)
                return 0
            case r.Invite():
                return await web.add_invite(self._db, record, now)
            case r.InviteRevoked():
                return await web.revoke_invite(self._db, record, now)
            case r.SignInLink():
                return await web.add_sign_in(self._db, record, now)
        raise TypeError(f"cannot store {type(record).__name__}")

    async def _open_round(self, record: r.CheckInRound, now: datetime) -> int:
        """The round, its invitations and the leader's progress message, all at once."""
        aware(record.closes_at)
        await self._require(ExperimentRow, record.experiment_id, record.coalition_id)
        round_id = await self._insert_id(RoundRow, {
            "origin": f"leader:{uuid.uuid4().hex}",
            "coalition_id": record.coalition_id,
            "experiment_id": record.experiment_id,
            "opened_by": record.opened_by,
            "opened_at": now,
            "closes_at": record.closes_at,
            "reminders": record.reminders,
            "remind_after_s": record.remind_after_s,
        })

        def message(occurrence: str, member_id: str, kind: str) -> Outgoing:
            return Outgoing(
                f"round:{round_id}", occurrence, f"member:{member_id}", record.coalition_id,
                kind, {"round": round_id}, due_at=now,
            )

        await enqueue(self._db, [
            *(message("invite", m, "checkin") for m in record.members),
            message("progress", record.opened_by, "progress"),
        ], now)
        return round_id

    async def _change_schedule(self, change: r.ScheduleChanged, now: datetime) -> None:
        """Upsert the override; what the change leaves None keeps its stored value."""
        if change.time is not None and not _HH_MM.fullmatch(change.time):
            raise ValueError(f"schedule time {change.time!r} is not HH:MM")
        given = {k: v for k, v in (("paused", change.paused), ("time", change.time)) if v is not None}
        stamp = {"changed_by": change.member_id, "changed_at": now}
        key = {"schedule_id": change.schedule_id, "coalition_id": change.coalition_id}
        await self._db.execute(
            self._insert(ScheduleOverride)
            .values(key | {"paused": False, "time": None} | given | stamp)
            .on_conflict_do_update(index_elements=list(key), set_=given | stamp)
        )
        # The history keeps every change as asked (None: unchanged), in the same transaction.
        asked = {"member_id": change.member_id, "paused": change.paused, "time": change.time}
        await self._db.execute(self._insert(ScheduleChangeRow).values(key | asked | {"changed_at": now}))

    async def granted_coordinators(self) -> frozenset[str]:
        rows = await self._db.execute(select(CoordinatorGrantRow.member_id))
        return frozenset(rows.scalars())

    async def language_of(self, member_id: str) -> tuple[str | None, str | None]:
        row = (await self._db.execute(_LANGUAGE_OF, {"v_member_id": member_id})).one_or_none()
        return (row.chosen, row.locale) if row else (None, None)

    async def speaker(self, member_id: str) -> tuple[frozenset[str], str | None, str | None]:
        # One round trip for what every turn needs: the coordinators named in chat, and the
        # member's language.
        rows = await self._db.execute(_SPEAKER, {"v_member_id": member_id})
        granted, chosen, locale = set(), None, None
        for kind, member, row_chosen, row_locale in rows:
            if kind == "g":
                granted.add(member)
            else:
                chosen, locale = row_chosen, row_locale
        return frozenset(granted), chosen, locale

    async def _close_frame(self, frame: r.Frame, now: datetime) -> int:
        """Insert the frame and link everything of the open round to it."""
        s = ProblemStatementRow
        open_ = (
            await self._db.execute(
                select(s.id).where(
                    s.id == frame.statement_id,
                    s.coalition_id == frame.coalition_id,
                    s.frame_id.is_(None),
                )
            )
        ).scalar_one_or_none()
        if open_ is None:
            raise ValueError(
                f"statement {frame.statement_id} is not an open statement of {frame.coalition_id}"
            )
        frame_id = await self._insert_id(
            FrameRow, dataclasses.asdict(frame) | {"created_at": now}
        )
        for model in (PerspectiveRow, ProblemStatementRow):
            await self._db.execute(
                update(model)
                .where(model.coalition_id == frame.coalition_id, model.frame_id.is_(None))
                .values(frame_id=frame_id)
            )
        return frame_id

    async def _advance_marks(self, shown: r.DigestShown, now: datetime) -> None:
        """Each (key, kind) mark moves up to the shown id, never back."""
        if not shown.marks:
            return
        t = DigestMark
        statement = self._insert(t).values([
            {"key": shown.key, "kind": kind, "last_id": last_id, "updated_at": now}
            for kind, last_id in shown.marks.items()
        ])
        new = statement.excluded.last_id
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["key", "kind"],
                set_={"last_id": case((new > t.last_id, new), else_=t.last_id), "updated_at": now},
            )
        )

    async def _insert_id(self, model: type[Base], values: dict[str, Any]) -> int:
        table: Any = model
        statement = self._insert(model).values(values).returning(table.id)
        return (await self._db.execute(statement)).scalar_one()

    async def _insert_many(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._db.execute(model.__table__.insert(), rows)

    async def _require(self, model: Any, id_: int, coalition_id: str) -> None:
        # Checked up front: a failed foreign key would abort a PostgreSQL transaction.
        found = await self._db.scalar(
            select(model.id).where(model.id == id_, model.coalition_id == coalition_id)
        )
        if found is None:
            raise ValueError(f"no {model.__tablename__} {id_} in coalition {coalition_id}")

    # -- References --------------------------------------------------------------

    async def save_reference(
        self, ref: ConversationRef, member_id: str, kind: str, now: datetime
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        values = {"v_platform": ref.platform, "v_tenant": ref.tenant, "v_conversation": ref.conversation,
                  "v_user": ref.user, "v_member_id": member_id, "v_thread": ref.thread, "v_kind": kind,
                  "v_data": dict(ref.extra), "v_updated_at": now}
        # The member is reachable again. First, so that two saves of one member only ever
        # wait for each other here (no rows to lock in the usual, unmarked case).
        await self._db.execute(_REACHABLE_AGAIN, values)
        await self._db.execute(_save_reference(self._db.dialect.name), values)

    async def reference_for(
        self, platform: str, member_id: str, kind: str | None = "personal"
    ) -> ConversationRef | None:
        values = {"v_platform": platform, "v_member_id": member_id, "v_kind": kind}
        return await self._latest_reference(_reference_for(kind is not None), values)

    async def channel_reference(self, platform: str, conversation: str) -> ConversationRef | None:
        values = {"v_platform": platform, "v_conversation": conversation}
        return await self._latest_reference(_CHANNEL_REFERENCE, values)

    async def _latest_reference(self, query: Select[Any], values: dict[str, Any]) -> ConversationRef | None:
        row = (await self._db.execute(query, values)).one_or_none()
        if row is None:
            return None
        return ConversationRef(
            row.platform, row.tenant, row.conversation, row.user, row.thread, extra=row.data
        )

    async def mark_unreachable(
        self, platform: str, member_id: str, reason: str, now: datetime
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        await self._db.execute(_MARK_UNREACHABLE, {"v_platform": platform, "v_member_id": member_id,
                                                   "v_reason": reason, "v_at": now})

    async def unreachable(self, platform: str) -> list[tuple[str, str]]:
        t = ConversationRefRow
        rows = await self._db.execute(
            select(t.member_id, t.unreachable_reason)
            .where(t.platform == platform, t.unreachable_at.is_not(None))
            .order_by(t.member_id, t.unreachable_at.desc(), t.id.desc())
        )
        latest: dict[str, str] = {}
        for member_id, reason in rows:
            latest.setdefault(member_id, reason or "")
        return list(latest.items())

    async def last_platform(self, member_id: str, platforms: Collection[str]) -> str | None:
        return await self._db.scalar(_LAST_PLATFORM, {"v_member_id": member_id, "v_platforms": list(platforms)})

    async def identify(self, identity: Identity, now: datetime) -> tuple[int, Identity]:
        return await people.identify(self._db, identity, now)

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        if self._db.dialect.name == "sqlite":
            # Straight to sqlite3, as storage.sqlite's units do (SQLAlchemy's way costs more than
            # the statements it guards; the calls run on this thread either way).
            raw = self._db.sync_connection.connection.driver_connection.raw

            async def run(statement: str) -> None:
                raw.execute(statement)
        else:
            async def run(statement: str) -> None:
                await self._db.execute(text(statement))
        await run("SAVEPOINT aside")
        try:
            yield
        except BaseException as error:
            try:
                await run("ROLLBACK TO SAVEPOINT aside")
                await run("RELEASE SAVEPOINT aside")
            except Exception:
                # Nothing to go back to (the connection was lost, say): the first failure
                # says why, and so the unit fails as a whole (a lost database is StorageUnavailable).
                raise error from None
            raise
        await run("RELEASE SAVEPOINT aside")

    async def save_zone(self, member_id: str, zone: str, source: str, now: datetime) -> None:
        aware(now)
        await save_zone(self._db, member_id, zone, source, now)

    async def save_locale(self, member_id: str, locale: str | None, now: datetime) -> None:
        await save_language(self._db, member_id, {"locale": locale}, now)

    # -- Reader ----------------------------------------------------------------

    async def member_profile(self, coalition_id: str, member_id: str) -> r.MemberProfile | None:
        found = await self._db.execute(_MEMBER_PROFILE, {"v_coalition_id": coalition_id, "v_member_id": member_id})
        row = found.one_or_none()
        return r.MemberProfile(**row._asdict()) if row else None

    async def joined(self, coalition_id: str) -> list[str]:
        rows = await self._db.execute(
            select(Member.member_id).where(Member.coalition_id == coalition_id, _not_removed(Member))
            .order_by(Member.id))
        return list(rows.scalars())

    async def seated(self, coalition_id: str) -> dict[str, str]:
        # Imported with a sector first, so a sector they chose themselves (joining) wins.
        s = SeatRow
        imported = await self._db.execute(
            select(s.member_id, s.sector).where(s.coalition_id == coalition_id, s.role != NONE, s.sector.is_not(None)))
        joined = await self._db.execute(
            select(Member.member_id, Member.sector).where(Member.coalition_id == coalition_id, _not_removed(Member)))
        return dict(imported.all()) | dict(joined.all())

    async def sector_counts(self, coalition_id: str) -> dict[str, int]:
        rows = await self._db.execute(
            select(Member.sector, func.count())
            .where(Member.coalition_id == coalition_id)
            .group_by(Member.sector)
        )
        return {sector: count for sector, count in rows}

    async def experiments(
        self, coalition_id: str, *, running_on: date | None = None, member_id: str | None = None
    ) -> list[ExperimentInfo]:
        query = _experiments(running_on is not None, member_id is not None)
        rows = await self._db.execute(query, {"v_coalition_id": coalition_id, "v_on": running_on,
                                              "v_member_id": member_id})
        return [_experiment_info(row) for row in rows]

    async def experiment(self, experiment_id: int) -> ExperimentInfo | None:
        row = (await self._db.execute(_EXPERIMENT, {"v_id": experiment_id})).one_or_none()
        return _experiment_info(row) if row else None

    async def open_statements(self, coalition_id: str) -> list[StatementInfo]:
        s = ProblemStatementRow
        score = cast(s.cross_sector + s.complex + s.not_solved, Float) / 3
        rows = await self._db.execute(
            select(s.id, s.member_id, s.statement, score.label("score"))
            .where(s.coalition_id == coalition_id, s.frame_id.is_(None), s.erased_at.is_(None))
            .order_by(score.desc(), s.id)
        )
        return [StatementInfo(**row._asdict()) for row in rows]

    async def open_perspective_count(self, coalition_id: str) -> int:
        p = PerspectiveRow
        count = await self._db.scalar(
            select(func.count()).where(p.coalition_id == coalition_id, p.frame_id.is_(None))
        )
        return count or 0

    async def current_frame(self, coalition_id: str) -> FrameInfo | None:
        f, s, p = FrameRow, ProblemStatementRow, PerspectiveRow
        linked = select(func.count()).where(p.frame_id == f.id).scalar_subquery()
        row = (
            await self._db.execute(
                select(f.id, s.statement, linked.label("perspectives"), f.created_at)
                .join(s, s.id == f.statement_id)
                .where(f.coalition_id == coalition_id)
                .order_by(f.created_at.desc(), f.id.desc())
                .limit(1)
            )
        ).one_or_none()
        if row is None:
            return None
        return FrameInfo(row.id, row.statement, row.perspectives, closed_at=row.created_at)

    async def digest(
        self, scope: Scope, principles: Sequence[tuple[int, str]],
        wanted: Mapping[str, Sequence[str]], today: date,
    ) -> Digest:
        return await digests.build(self._db, scope, principles, wanted, today)

    async def overview(
        self, scope: Scope, principles: Sequence[tuple[int, str]],
        wanted: Mapping[str, Sequence[str]], today: date,
    ) -> Overview:
        return await digests.overview(self._db, scope, principles, wanted, today)

    async def story_page(
        self, scope: Scope, principle: int | None, sector: str | None, limit: int, offset: int,
    ) -> tuple[tuple[StoryItem, ...], int]:
        return await digests.story_page(self._db, scope, principle, sector, limit, offset)

    async def treasures(
        self, coalition_id: str, since: datetime, until: datetime, limit: int
    ) -> tuple[TreasureItem, ...]:
        return await dashboard.treasures(self._db, coalition_id, since, until, limit)

    async def perspectives(
        self, coalition_id: str, since: datetime, until: datetime, limit: int
    ) -> tuple[PerspectiveItem, ...]:
        return await dashboard.perspectives(self._db, coalition_id, since, until, limit)

    async def names(self, coalition_id: str) -> dict[str, str]:
        return await dashboard.names(self._db, coalition_id)

    async def schedule_changes(self, coalition_id: str, limit: int) -> tuple[ScheduleChange, ...]:
        return await dashboard.schedule_changes(self._db, coalition_id, limit)

    async def member_data(self, member_id: str) -> dict[str, Any]:
        return await privacy.member_data(self._db, member_id)

    async def round(self, round_id: int) -> RoundInfo | None:
        row = (await self._db.execute(_ROUND, {"v_id": round_id})).one_or_none()
        return round_info(row) if row else None

    async def open_round(self, coalition_id: str) -> RoundInfo | None:
        t = RoundRow
        row = (
            await self._db.execute(
                round_query()
                .where(t.coalition_id == coalition_id, t.closed_at.is_(None))
                .order_by(t.opened_at.desc(), t.id.desc())
                .limit(1)
            )
        ).one_or_none()
        return round_info(row) if row else None

    async def answered(self, round_id: int) -> frozenset[str]:
        rows = await self._db.execute(_ANSWERED, {"v_round_id": round_key(round_id)})
        return frozenset(rows.scalars())

    async def overrides(self) -> dict[tuple[str, str], Override]:
        o = ScheduleOverride
        rows = await self._db.execute(select(o.schedule_id, o.coalition_id, o.paused, o.time))
        return {(s, c): Override(paused, time) for s, c, paused, time in rows}

    async def invites(self, coalition_id: str) -> list[InviteInfo]:
        return await web.invites(self._db, coalition_id)

    async def stories(self, coalition_id: str, member_id: str) -> list[StoryInfo]:
        rows = await self._db.execute(_STORIES, {"v_coalition_id": coalition_id, "v_member_id": member_id})
        return [
            StoryInfo(
                row.id, row.title, row.consent, row.anonymous,
                withdrawn=row.withdrawn_at is not None, created_at=row.created_at,
            )
            for row in rows
        ]


def _experiment_info(row: Any) -> ExperimentInfo:
    return ExperimentInfo(**(row._asdict() | {"stakeholders": tuple(row.stakeholders)}))


_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- export ----------------------------------------------------------------------

_EXPORTED: dict[str, type[Base]] = {
    "members": Member,
    "resources": ResourceRow,
    "strengths": StrengthRow,
    "perspectives": PerspectiveRow,
    "problem_statements": ProblemStatementRow,
    "frames": FrameRow,
    "experiments": ExperimentRow,
    "checkins": CheckInRow,
    "reflections": ReflectionRow,
    "stories": StoryRow,
}


def _not_removed(m: Any) -> Any:
    """A member row whose member was not removed from its coalition in chat."""
    s = SeatRow
    return ~select(s.member_id).where(s.coalition_id == m.coalition_id, s.member_id == m.member_id,
                                      s.role == NONE).exists()


async def _export(db: AsyncConnection, coalition_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, model in _EXPORTED.items():
        t: Any = model
        rows = await db.execute(select(t).where(t.coalition_id == coalition_id).order_by(t.id))
        out[name] = [{k: jsonable(v) for k, v in row._asdict().items()} for row in rows]

    # Child rows: one query per kind, attached to their parents by id.
    e, c, sp, ss, st = CheckInEffect, CheckInRow, StoryPrinciple, StorySector, StoryRow
    effects = await _grouped(
        db,
        select(e.checkin_id, e.stakeholder, e.rating)
        .join(c, c.id == e.checkin_id)
        .where(c.coalition_id == coalition_id)
        .order_by(e.id),
    )
    for checkin in out["checkins"]:
        checkin["effects"] = [
            {"stakeholder": s, "rating": n} for s, n in effects.get(checkin["id"], [])
        ]
    principles = await _grouped(
        db,
        select(sp.story_id, sp.principle)
        .join(st, st.id == sp.story_id)
        .where(st.coalition_id == coalition_id)
        .order_by(sp.principle),
    )
    sectors = await _grouped(
        db,
        select(ss.story_id, ss.sector)
        .join(st, st.id == ss.story_id)
        .where(st.coalition_id == coalition_id)
        .order_by(ss.sector),
    )
    for story in out["stories"]:
        story["principles"] = [p for (p,) in principles.get(story["id"], [])]
        story["sectors"] = [s for (s,) in sectors.get(story["id"], [])]

    f, p, ps = FrameRow, PerspectiveRow, ProblemStatementRow
    linked = await _grouped(
        db,
        select(p.frame_id, p.id)
        .where(p.coalition_id == coalition_id, p.frame_id.is_not(None))
        .order_by(p.id),
    )
    statements = await _grouped(
        db,
        select(f.id, ps.statement)
        .join(ps, ps.id == f.statement_id)
        .where(f.coalition_id == coalition_id),
    )
    for frame in out["frames"]:
        frame["statement"] = statements[frame["id"]][0][0]
        frame["perspective_ids"] = [i for (i,) in linked.get(frame["id"], [])]
    return out


async def _grouped(db: AsyncConnection, query: Select[Any]) -> dict[int, list[tuple[Any, ...]]]:
    """Rows of (parent id, *values) as {parent id: [values, ...]}, in query order."""
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for parent_id, *values in await db.execute(query):
        grouped[parent_id].append(tuple(values))
    return grouped
