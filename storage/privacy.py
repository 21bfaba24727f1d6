"""Members' data rights on the tables: everything stored about a member (`member_data`), their
erasure (`erase`) and the retention policy (`expire`).

Erasure keeps what digests count and forgets who and what: a contribution keeps its row (its
coalition, date, ratings, principle, consent level) under a random pseudonym, with its free text
emptied and `erased_at` set so no listing shows it again; everything that names or reaches the
member (profile rows, identities, conversation references, sessions, their web conversation,
their flows in progress) is deleted. An experiment and a frame are the coalition's shared work:
they lose their author, not their text.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import FAILED, QUEUED, RETRY, SENDING, SENT, SKIPPED
from storage import people
from storage.db import jsonable
from storage.models import (
    CheckInEffect,
    CheckInRow,
    CoalitionChangeRow,
    ConversationRefRow,
    CoordinatorGrantRow,
    DepartureRow,
    ErasureRow,
    ExperimentRow,
    FlowStateRow,
    FrameRow,
    IdentityRow,
    Member,
    MemberLanguage,
    MemberZone,
    OutboxMessage,
    PersonRow,
    PerspectiveRow,
    ProblemStatementRow,
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
    WebEntryRow,
    WebInvite,
    WebLink,
    WebPersonRow,
    WebSessionRow,
)

# A member's contributions, by the name the export gives them, with the free text each holds.
CONTRIBUTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "resources": (ResourceRow, ("name", "offer")),
    "strengths": (StrengthRow, ("success", "why", "enlarge", "challenge")),
    "perspectives": (PerspectiveRow, ("said", "shows")),  # `voice` is a choice: counted
    "problem_statements": (ProblemStatementRow, ("statement",)),
    "frames": (FrameRow, ()),
    "experiments": (ExperimentRow, ()),
    "checkins": (CheckInRow, ("intended_seen", "unintended", "evidence")),
    "reflections": (ReflectionRow, ("text",)),
    "stories": (StoryRow, ("title", "body")),
}
PENDING = (QUEUED, RETRY, SENDING)
FINISHED = (SENT, FAILED, SKIPPED)
ERASED_PREFIX = "erased-"

# Rows that only record who did something (opened a round, changed a schedule, made an invite).
_ACTS: tuple[tuple[Any, str], ...] = (
    (RoundRow, "opened_by"), (ScheduleOverride, "changed_by"), (ScheduleChangeRow, "member_id"),
    (WebInvite, "created_by"), (PersonRow, "added_by"), (SeatRow, "changed_by"),
    (CoalitionChangeRow, "changed_by"), (CoordinatorGrantRow, "granted_by"),
)
# What is simply deleted, with the column that names the member.
_DELETED: tuple[tuple[str, Any, str], ...] = (
    ("memberships", Member, "member_id"), ("flows_in_progress", FlowStateRow, "member_id"),
    ("identities", IdentityRow, "member_id"), ("conversations", ConversationRefRow, "member_id"),
    ("person", PersonRow, "member_id"), ("seats", SeatRow, "member_id"),
    ("timezone", MemberZone, "member_id"), ("language", MemberLanguage, "member_id"),
    ("coordinator_grant", CoordinatorGrantRow, "member_id"),
    ("web_conversation", WebEntryRow, "member_id"), ("web_sessions", WebSessionRow, "member_id"),
    ("web_links", WebLink, "member_id"), ("web_person", WebPersonRow, "member_id"),
)
# Never exported: only a hash of a secret, or bookkeeping.
_HIDDEN = {"token_hash", "csrf", "erased_at", "claimed_by", "claimed_at", "lease_until", "interrupted_at",
           "attempts", "version"}


def pseudonym() -> str:
    """What an erased member's rows are attributed to: random, so nothing leads back to them."""
    return ERASED_PREFIX + secrets.token_hex(6)


def is_erased(member_id: str) -> bool:
    return member_id.startswith(ERASED_PREFIX)


# -- what is stored about a member ----------------------------------------------------------------


async def member_data(db: AsyncConnection, member_id: str) -> dict[str, Any]:
    """Every row about `member_id`, as JSON-ready sections (docs/mydata.schema.json)."""
    def rows_of(table: Any, *where: Any, order: Any = None) -> Any:
        return db.execute(select(table).where(*where).order_by(order if order is not None else table.__table__.c[0]))

    out: dict[str, Any] = {}
    for name, model, column in _DELETED:
        if name in ("web_sessions", "web_links"):
            continue  # secrets' hashes: the member holds the secrets themselves
        found = [_plain(row) for row in await rows_of(model, getattr(model, column) == member_id)]
        out[name] = (found[0] if found else None) if name in _SINGLE else found

    contributions: dict[str, list[dict[str, Any]]] = {}
    for name, (model, _) in CONTRIBUTIONS.items():
        contributions[name] = [_plain(row) for row in await rows_of(model, model.member_id == member_id,
                                                                     model.erased_at.is_(None))]
    effects = await db.execute(
        select(CheckInEffect.checkin_id, CheckInEffect.stakeholder, CheckInEffect.rating)
        .join(CheckInRow, CheckInRow.id == CheckInEffect.checkin_id)
        .where(CheckInRow.member_id == member_id).order_by(CheckInEffect.id))
    by_checkin: dict[int, list[dict[str, Any]]] = {}
    for checkin_id, stakeholder, rating in effects:
        by_checkin.setdefault(checkin_id, []).append({"stakeholder": stakeholder, "rating": rating})
    for checkin in contributions["checkins"]:
        checkin["effects"] = by_checkin.get(checkin["id"], [])
    for story in contributions["stories"]:
        story["principles"] = list(await db.scalars(select(StoryPrinciple.principle)
                                                    .where(StoryPrinciple.story_id == story["id"])
                                                    .order_by(StoryPrinciple.principle)))
        story["sectors"] = list(await db.scalars(select(StorySector.sector).where(StorySector.story_id == story["id"])
                                                 .order_by(StorySector.sector)))
    out["contributions"] = contributions
    out["messages"] = [_plain(row) for row in await rows_of(OutboxMessage, OutboxMessage.target == f"member:{member_id}",
                                                            order=OutboxMessage.id)]
    out["schedule_changes"] = [_plain(row) for row in await rows_of(ScheduleChangeRow,
                                                                    ScheduleChangeRow.member_id == member_id)]
    return out


_SINGLE = {"person", "timezone", "language", "coordinator_grant", "web_person"}


def _plain(row: Any) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in row._asdict().items() if k not in _HIDDEN}


# -- erasure ----------------------------------------------------------------------------------------


async def erase(db: AsyncConnection, member_id: str, by: str, now: datetime) -> dict[str, int]:
    """Erase `member_id` (in the caller's transaction); how many rows of each kind were
    erased, also written to the audit record (empty, and nothing written, if there was
    nothing to erase: erasing twice is harmless)."""
    alias = pseudonym()
    counts: dict[str, int] = {}

    adopted = select(FrameRow.statement_id)  # a coalition's agreed frame keeps its words
    for name, (model, texts) in CONTRIBUTIONS.items():
        where = [model.member_id == member_id]
        values: dict[str, Any] = {"member_id": alias}
        if texts:
            values |= {field: "" for field in texts} | {"erased_at": now}
        if model is ProblemStatementRow:
            kept = await db.execute(update(model).where(*where, model.id.in_(adopted)).values(member_id=alias))
            counts["problem_statements_adopted"] = kept.rowcount or 0
            where.append(model.id.not_in(adopted))
        result = await db.execute(update(model).where(*where).values(values))
        counts[name] = result.rowcount or 0

    email = await _email(db, member_id)
    outbox = OutboxMessage
    mine = outbox.target == f"member:{member_id}"
    cancelled = await db.execute(update(outbox).where(mine, outbox.state.in_(PENDING))
                                 .values(state=SKIPPED, error="member erased", due_at=now))
    counts["messages_cancelled"] = cancelled.rowcount or 0
    sent = await db.execute(update(outbox).where(mine).values(target=f"member:{alias}", payload={}, conversation=None,
                                                              message_id=None))
    counts["messages"] = sent.rowcount or 0
    # Notes to leaders about this member ("could not reach anna") name them: gone.
    about = await db.execute(delete(outbox).where(outbox.kind == "notice", outbox.occurrence.like(f"{member_id}:%")))
    counts["notices"] = about.rowcount or 0

    for name, model, column in _DELETED:
        result = await db.execute(delete(model).where(getattr(model, column) == member_id))
        counts[name] = result.rowcount or 0
    if email:  # the same person, added in chat under another id by email
        result = await db.execute(delete(PersonRow).where(func.lower(PersonRow.email) == email))
        counts["person"] += result.rowcount or 0
    for model, column in _ACTS:
        await db.execute(update(model).where(getattr(model, column) == member_id).values({column: alias}))
    for platform, scope, members in await db.execute(select(DepartureRow.platform, DepartureRow.scope,
                                                            DepartureRow.members)):
        if member_id in (members or ()):
            await db.execute(update(DepartureRow).where(DepartureRow.platform == platform, DepartureRow.scope == scope)
                             .values(members=[m for m in members if m != member_id]))

    counts = {k: n for k, n in counts.items() if n}
    if counts:
        await db.execute(ErasureRow.__table__.insert().values(at=now, by=by, reason="request", counts=counts))
        await people.bump(db)  # replicas rebuild who is who: the accounts are gone
    return counts


async def _email(db: AsyncConnection, member_id: str) -> str | None:
    for model in (PersonRow, WebPersonRow, IdentityRow):
        found = await db.scalar(select(model.email).where(model.member_id == member_id, model.email.is_not(None))
                                .limit(1))
        if found:
            return found.lower()
    return None


async def erasures(db: AsyncConnection) -> list[dict[str, Any]]:
    """The audit trail, oldest first."""
    rows = await db.execute(select(ErasureRow).order_by(ErasureRow.id))
    return [_plain(row) for row in rows]


# -- retention --------------------------------------------------------------------------------------


async def expire(db: AsyncConnection, cutoffs: Mapping[str, datetime | None], now: datetime,
                 *, dry_run: bool = False) -> dict[str, int]:
    """Apply the retention policy: `cutoffs` holds, for "answers", "withdrawn_stories" and
    "delivered_messages", the moment before which they go (None: kept for ever). Returns the
    counts (what would go, with `dry_run`); an audit record when anything went."""
    counts: dict[str, int] = {}
    if cutoff := cutoffs.get("answers"):
        adopted = select(FrameRow.statement_id)
        for name, (model, texts) in CONTRIBUTIONS.items():
            if not texts:
                continue
            where = [model.created_at < cutoff, model.erased_at.is_(None)]
            if model is ProblemStatementRow:
                where.append(model.id.not_in(adopted))
            counts[f"answers.{name}"] = await _apply(
                db, dry_run, model, where, update(model).values({f: "" for f in texts} | {"erased_at": now}))
    if cutoff := cutoffs.get("withdrawn_stories"):
        s = StoryRow
        where = [s.withdrawn_at.is_not(None), s.withdrawn_at < cutoff]
        if not dry_run:  # the story's principles and sectors first (SQLite may not cascade)
            gone = select(s.id).where(*where)
            await db.execute(delete(StoryPrinciple).where(StoryPrinciple.story_id.in_(gone)))
            await db.execute(delete(StorySector).where(StorySector.story_id.in_(gone)))
        counts["withdrawn_stories"] = await _apply(db, dry_run, s, where, delete(s))
    if cutoff := cutoffs.get("delivered_messages"):
        o = OutboxMessage
        finished = or_(o.sent_at < cutoff, (o.sent_at.is_(None) & (o.due_at < cutoff)))
        counts["delivered_messages"] = await _apply(db, dry_run, o, [o.state.in_(FINISHED), finished], delete(o))
    counts = {k: n for k, n in counts.items() if n}
    if counts and not dry_run:
        await db.execute(ErasureRow.__table__.insert().values(at=now, by="retention", reason="retention",
                                                              counts=counts))
    return counts


async def _apply(db: AsyncConnection, dry_run: bool, model: Any, where: list[Any], statement: Any) -> int:
    if dry_run:
        return await db.scalar(select(func.count()).select_from(model).where(*where)) or 0
    return (await db.execute(statement.where(*where))).rowcount or 0


def tables() -> list[Table]:
    """Every table this module reads, for tests that look for leftovers."""
    return [m.__table__ for _, m, _ in _DELETED] + [m.__table__ for m, _ in CONTRIBUTIONS.values()]
