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
