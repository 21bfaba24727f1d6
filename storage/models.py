"""The schema, as SQLAlchemy 2 declarative models. Migrations in `migrations/` build it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can refer to (and drop) them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(255)  # platform ids: Slack/Teams user, team and event ids


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        date: Date(),
        str: Text(),  # free text: members type long answers
        dict[str, Any]: JSON(),
    }


class ProcessedEvent(Base):
    """One row per inbound event id handled: platforms redeliver, we answer once."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    processed_at: Mapped[datetime]


class FlowStateRow(Base):
    __tablename__ = "flow_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    member_id: Mapped[str] = mapped_column(ID)
    coalition_id: Mapped[str] = mapped_column(ID, index=True)
    flow: Mapped[str] = mapped_column(String(255))
    step: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("coalition_id", "member_id", name="uq_members_coalition_member"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    coalition_id: Mapped[str] = mapped_column(ID)  # indexed by the unique constraint
    member_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str]
    sector: Mapped[str]
    organisation: Mapped[str]
    brings: Mapped[str]
    platform: Mapped[str]
    joined_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class _Contribution:
    """Columns every coalition record has; (coalition_id, created_at) serves listings."""

    # sort_order keeps these first/last in CREATE TABLE rather than after subclass columns
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-3)
    coalition_id: Mapped[str] = mapped_column(ID, sort_order=-2)
    member_id: Mapped[str] = mapped_column(ID, sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(sort_order=1)
    # Set when the text was erased (the member asked, or retention): the row still counts.
    erased_at: Mapped[datetime | None] = mapped_column(sort_order=2)


def _coalition_index(table: str) -> Index:
    return Index(f"ix_{table}_coalition_created", "coalition_id", "created_at")


class ResourceRow(_Contribution, Base):
    __tablename__ = "resources"
    __table_args__ = (_coalition_index(__tablename__),)
    name: Mapped[str]
    kind: Mapped[str]
    sector: Mapped[str]
    offer: Mapped[str]


class StrengthRow(_Contribution, Base):
    __tablename__ = "strengths"
    __table_args__ = (_coalition_index(__tablename__),)
    success: Mapped[str]
    why: Mapped[str]
    enlarge: Mapped[str]
    challenge: Mapped[str]


class PerspectiveRow(_Contribution, Base):
    __tablename__ = "perspectives"
    __table_args__ = (_coalition_index(__tablename__),)
    voice: Mapped[str]
    said: Mapped[str]
    shows: Mapped[str]
    frame_id: Mapped[int | None] = mapped_column(ForeignKey("frames.id"), index=True)


class ProblemStatementRow(_Contribution, Base):
    __tablename__ = "problem_statements"
    __table_args__ = (_coalition_index(__tablename__),)
    statement: Mapped[str]
    cross_sector: Mapped[int]
    complex: Mapped[int]
    not_solved: Mapped[int]
    # Frames and statements reference each other: this side is added after both exist.
    frame_id: Mapped[int | None] = mapped_column(
        ForeignKey("frames.id", use_alter=True), index=True
    )


class FrameRow(_Contribution, Base):
    """A closed framing round; member_id is who closed it."""

    __tablename__ = "frames"
    __table_args__ = (_coalition_index(__tablename__),)
    statement_id: Mapped[int] = mapped_column(ForeignKey("problem_statements.id"), index=True)


class ExperimentRow(_Contribution, Base):
    __tablename__ = "experiments"
    __table_args__ = (
        _coalition_index(__tablename__),
        Index("ix_experiments_coalition_ends", "coalition_id", "ends_on"),
    )
    title: Mapped[str]
    action: Mapped[str]
    intended_effect: Mapped[str]
    stakeholders: Mapped[list[str]] = mapped_column(JSON)
    partners: Mapped[str]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    measures: Mapped[str]
    owner: Mapped[str]


class CheckInRow(_Contribution, Base):
    __tablename__ = "checkins"
    __table_args__ = (
        _coalition_index(__tablename__),
        # An experiment's check-ins in time order, covering what digests aggregate (weekly
        # impact, decisions) so those read the index alone.
        Index(
            "ix_checkins_experiment_created",
            "experiment_id", "created_at", "citizen_impact", "decision",
        ),
        Index("ix_checkins_round", "round_id"),  # a round's answers
    )
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    citizen_impact: Mapped[int]
    intended_seen: Mapped[str]
    unintended: Mapped[str]
    evidence: Mapped[str]
    decision: Mapped[str]
    round_id: Mapped[str | None] = mapped_column(ID)


class CheckInEffect(Base):
    __tablename__ = "checkin_effects"
    id: Mapped[int] = mapped_column(primary_key=True)  # keeps the members' order
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    stakeholder: Mapped[str]
    rating: Mapped[int]


class ReflectionRow(_Contribution, Base):
    __tablename__ = "reflections"
    __table_args__ = (
        _coalition_index(__tablename__),
        # Digests count reflections per principle over a period.
        Index(
            "ix_reflections_coalition_principle_created", "coalition_id", "principle", "created_at"
        ),
    )
    principle: Mapped[int]
    text: Mapped[str]


class StoryRow(_Contribution, Base):
    __tablename__ = "stories"
    __table_args__ = (
        _coalition_index(__tablename__),
        Index("ix_stories_coalition_member", "coalition_id", "member_id"),
        # Digests list and count the stories an audience may see, by consent level.
        Index("ix_stories_coalition_consent_created", "coalition_id", "consent", "created_at"),
    )
    title: Mapped[str]
    body: Mapped[str]
    consent: Mapped[str]
    anonymous: Mapped[bool] = mapped_column(Boolean)
    withdrawn_at: Mapped[datetime | None]


class StoryPrinciple(Base):
    """Own table (not JSON) so digests can count stories per principle in SQL."""

    __tablename__ = "story_principles"
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    principle: Mapped[int] = mapped_column(primary_key=True)


class StorySector(Base):
    __tablename__ = "story_sectors"
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(primary_key=True)


class DigestMark(Base):
    """The highest record id of each kind an audience was shown in a digest."""

    __tablename__ = "digest_marks"
    key: Mapped[str] = mapped_column(String(512), primary_key=True)  # bot.digest.Scope.key
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)  # "stories", "checkins"...
    last_id: Mapped[int]
    updated_at: Mapped[datetime]


class CoordinatorGrantRow(Base):
    """A movement coordinator named in chat by another coordinator (besides app.yaml's)."""

    __tablename__ = "coordinator_grants"
    member_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime]


class InstallationRow(Base):
    """One platform installation (an app added to a workspace/org, by a user or as its bot).

    `data` is the adapter's own JSON (tokens included); the key columns are what lookups
    filter on. Every install adds a row and the newest `installed_at` wins, so a reinstall
    never loses the previous tokens half-way. Missing ids are NULL, never "".
    """

    __tablename__ = "installations"
    __table_args__ = (
        Index(
            "ix_installations_lookup", "platform", "enterprise_id", "team_id", "is_bot", "installed_at"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(ID)
    team_id: Mapped[str | None] = mapped_column(ID)
    user_id: Mapped[str | None] = mapped_column(ID)
    is_bot: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]]
    installed_at: Mapped[datetime]


class OAuthState(Base):
    """An OAuth `state` handed to an installer's browser; consumed once, shared by replicas."""

    __tablename__ = "oauth_states"
    state: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime]


class ConversationRefRow(Base):
    """Where a member talks to the bot (`bot.types.ConversationRef`), for proactive sends.

    One row per (platform, tenant, conversation, user), refreshed on every turn; `data` is
    the ref's adapter-owned `extra`. `unreachable_*` are set when a send was refused for
    good (bot removed or blocked) and cleared by the member's next turn.
    """

    __tablename__ = "conversation_refs"
    __table_args__ = (
        UniqueConstraint(
            "platform", "tenant", "conversation", "user", name="uq_conversation_refs_address"
        ),
        Index("ix_conversation_refs_member", "platform", "member_id", "updated_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(ID)
    user: Mapped[str] = mapped_column(ID)  # the platform's user id ("user": quoted in SQL)
    member_id: Mapped[str] = mapped_column(ID)
    # Teams conversation ids run long ("19:…@thread.tacv2;messageid=…", "a:1…").
    conversation: Mapped[str] = mapped_column(String(512))
    thread: Mapped[str | None] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    unreachable_reason: Mapped[str | None]
    unreachable_at: Mapped[datetime | None]


# -- delivery and scheduling -----------------------------------------------------------


class OutboxMessage(Base):
    """A message to send (`bot.ports.Outbox`). (source, occurrence, target) is unique, so
    enqueuing again is a no-op; workers claim due rows under a lease."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("source", "occurrence", "target", name="uq_outbox_key"),
        Index("ix_outbox_state_due", "state", "due_at"),  # what claim() looks for
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    occurrence: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    coalition_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(ID)
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    # The claimed_at of the first claim whose lease ran out: that worker may have sent.
    interrupted_at: Mapped[datetime | None]
    platform: Mapped[str | None] = mapped_column(String(32))
    conversation: Mapped[str | None] = mapped_column(String(512))
    message_id: Mapped[str | None] = mapped_column(ID)
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class RoundRow(Base):
    """An impact check-in round (`bot.ports.RoundInfo`); `origin` makes opening idempotent."""

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), unique=True)
    coalition_id: Mapped[str] = mapped_column(ID, index=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    opened_by: Mapped[str | None] = mapped_column(ID)
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    reminders: Mapped[int]
    remind_after_s: Mapped[int]
    progress: Mapped[dict[str, Any] | None]


class ScheduleOverride(Base):
    """A leader's change to one schedule for one coalition (`bot.ports.Override`)."""

    __tablename__ = "schedule_overrides"
    schedule_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    coalition_id: Mapped[str] = mapped_column(ID, primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean)
    time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    changed_by: Mapped[str] = mapped_column(ID)
    changed_at: Mapped[datetime]


class ScheduleChangeRow(Base):
    """Every change a leader made to a schedule (`bot.ports.ScheduleChange`), for the
    dashboard's history; the override keeps only the latest. None: that part was unchanged."""

    __tablename__ = "schedule_changes"
    __table_args__ = (Index("ix_schedule_changes_coalition_changed", "coalition_id", "changed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[str] = mapped_column(String(255))
    coalition_id: Mapped[str] = mapped_column(ID)
    member_id: Mapped[str] = mapped_column(ID)
    paused: Mapped[bool | None] = mapped_column(Boolean)
    time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    changed_at: Mapped[datetime]


class ScheduleMark(Base):
    """Up to when the scheduler has planned (enqueued) a schedule's messages."""

    __tablename__ = "schedule_marks"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    planned_until: Mapped[datetime]


class MemberZone(Base):
    """A member's IANA time zone, as their platform profile gave it."""

    __tablename__ = "member_zones"
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class MemberLanguage(Base):
    """A member's language: the one they chose (`language da`), and what their platform
    says (Slack profile locale, Teams client locale). Either may be empty."""

    __tablename__ = "member_languages"
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    chosen: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(35))
    updated_at: Mapped[datetime]


class DeliveryWorker(Base):
    """Delivery workers' heartbeats, so they can share a rate budget."""

    __tablename__ = "delivery_workers"
    worker: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime]


# -- the web platform --------------------------------------------------------------------
# Tokens (invites, links, sessions) are stored as their SHA-256 (`bot.tokens.digest`) only.

TOKEN_HASH = String(64)


class WebInvite(Base):
    """A coalition's invite link; anyone holding it may join until it expires or is revoked."""

    __tablename__ = "web_invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(TOKEN_HASH, unique=True)
    coalition_id: Mapped[str] = mapped_column(ID, index=True)
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    joins: Mapped[int]


class WebPersonRow(Base):
    """Someone who uses the web chat. `email` (optional, normalised) is for sign-in links and
    for messages while they are away; `unsubscribed_at` stops the latter."""

    __tablename__ = "web_people"
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str]
    coalition_id: Mapped[str | None] = mapped_column(ID)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("web_invites.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None]


class WebLink(Base):
    """A one-time sign-in link (`purpose` "signin", short-lived) or an email's unsubscribe link
    ("unsubscribe", no expiry)."""

    __tablename__ = "web_links"
    token_hash: Mapped[str] = mapped_column(TOKEN_HASH, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str | None]
    coalition_id: Mapped[str | None] = mapped_column(ID)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A signed-in browser. The cookie holds the token; `csrf` is posted back by every form."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(TOKEN_HASH, primary_key=True)
    member_id: Mapped[str] = mapped_column(ID, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class WebEntryRow(Base):
    """One message of a member's web conversation (the bot's reply or what the member said).
    `tag` is the outbox row a message came from: stored once however often it is sent."""

    __tablename__ = "web_entries"
    __table_args__ = (Index("ix_web_entries_member", "member_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(ID)
    who: Mapped[str] = mapped_column(String(8))
    body: Mapped[dict[str, Any]]
    tag: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    emailed_at: Mapped[datetime | None]


class WebAttempt(Base):
    """Rate-limited attempts (joins per IP and per invite, sign-in emails), shared by replicas."""

    __tablename__ = "web_attempts"
    __table_args__ = (Index("ix_web_attempts_key", "kind", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]


class IdentityRow(Base):
    """A platform account known to be a member (bot.people.Identity): resolved by email or
    first seen when they wrote. The first row for an account wins; rows are never updated,
    so other replicas learn them by id (never reused: AUTOINCREMENT on SQLite)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "user_id", name="uq_identities_platform_user"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(ID)
    member_id: Mapped[str] = mapped_column(ID, index=True)
    tenant: Mapped[str] = mapped_column(ID)
    email: Mapped[str | None] = mapped_column(String(254))
    how: Mapped[str] = mapped_column(String(32))
    resolved_at: Mapped[datetime]


class PersonRow(Base):
    """Someone added in chat or by `cocreate members import` (bot.people.Person)."""

    __tablename__ = "people"
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str]
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    added_by: Mapped[str] = mapped_column(ID)
    added_at: Mapped[datetime]


class SeatRow(Base):
    """A member's place in a coalition as changed in chat (bot.people.Seat); wins over app.yaml."""

    __tablename__ = "seats"
    coalition_id: Mapped[str] = mapped_column(ID, primary_key=True)
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    sector: Mapped[str | None] = mapped_column(String(32))
    changed_by: Mapped[str] = mapped_column(ID)
    changed_at: Mapped[datetime]


class CoalitionChangeRow(Base):
    """A coalition created in chat, or app.yaml's renamed or given a new challenge."""

    __tablename__ = "coalition_changes"
    coalition_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None]
    challenge: Mapped[str | None]
    created: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(ID)
    changed_at: Mapped[datetime]


class VersionRow(Base):
    """A counter per kind of shared state ("people": membership changed in chat), so each
    replica reads the state again only when it changed."""

    __tablename__ = "versions"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int]


class ErasureRow(Base):
    """An audit record of an erasure: when, by whom, why ("request", "retention") and how many
    rows of each kind, never whose data it was."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]]


class DepartureRow(Base):
    """Where the app was removed (storage.departures): a Slack workspace, or a Teams user;
    `members` were reached only there."""

    __tablename__ = "departures"
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(ID, primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    members: Mapped[list[str]] = mapped_column(JSON)

