"""The storage contract the engine and flows depend on; `storage/` implements it.

Flows see only `Reader` (through their step context). The engine opens a `Unit` per
inbound event: one transaction that claims the event id, loads and saves the flow state
with optimistic locking, and adds records — all or nothing.

Conversation references (`References`) are stored on every turn: a Teams member can only
be messaged proactively once the bot holds a reference to a conversation with them. Both
a `Unit` (inside the turn's transaction) and a `Store` (one transaction per call) offer
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, AsyncContextManager, Mapping, Protocol, Sequence, runtime_checkable

from bot.digest import Digest, Scope
from bot.records import MemberProfile, Record
from bot.types import ConversationRef


class StaleState(Exception):
    """The flow state changed under us (another event won the race); retry or re-ask."""


@dataclass
class FlowState:
    """A member's active flow in one conversation. `data` must stay JSON-serialisable."""

    key: str
    member_id: str
    coalition_id: str
    flow: str
    step: str
    version: int = 1
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentInfo:
    id: int
    coalition_id: str
    member_id: str
    title: str
    stakeholders: tuple[str, ...]
    starts_on: date
    ends_on: date
    owner: str
    checkins: int = 0


@dataclass(frozen=True)
class StatementInfo:
    id: int
    member_id: str
    statement: str
    score: float  # mean of the three transversal ratings


@dataclass(frozen=True)
class FrameInfo:
    id: int
    statement: str
    perspectives: int
    closed_at: datetime


@dataclass(frozen=True)
class StoryInfo:
    id: int
    title: str
    consent: str
    anonymous: bool
    withdrawn: bool
    created_at: datetime


class Reader(Protocol):
    """Read-only queries flows may make."""

    async def member_profile(self, coalition_id: str, member_id: str) -> MemberProfile | None: ...

    async def sector_counts(self, coalition_id: str) -> Mapping[str, int]: ...

    async def experiments(
        self, coalition_id: str, *, running_on: date | None = None, member_id: str | None = None
    ) -> Sequence[ExperimentInfo]: ...

    async def experiment(self, experiment_id: int) -> ExperimentInfo | None: ...

    async def open_statements(self, coalition_id: str) -> Sequence[StatementInfo]: ...

    async def open_perspective_count(self, coalition_id: str) -> int: ...

    async def current_frame(self, coalition_id: str) -> FrameInfo | None: ...

    async def stories(self, coalition_id: str, member_id: str) -> Sequence[StoryInfo]: ...

    async def granted_coordinators(self) -> frozenset[str]:
        """Members made coordinators in chat (app.yaml's coordinators come on top)."""
        ...

    async def digest(self, scope: Scope, principles: Sequence[tuple[int, str]],
                     wanted: Mapping[str, Sequence[str]], today: date) -> Digest:
        """What `scope` may see, aggregated in SQL. `principles` are (number, title) of the
        movement's principles; `wanted` maps each coalition id to its wanted sectors."""
        ...


class References(Protocol):
    """Where each member can be reached, for proactive sends (check-ins, reminders, news).

    One reference per (platform, tenant, conversation, user), refreshed on every turn.
    `extra` is stored as the adapter gave it (JSON) and handed back unchanged.
    """

    async def save_reference(
        self, ref: ConversationRef, member_id: str, kind: str, now: datetime
    ) -> None:
        """Upsert `ref` by (platform, tenant, conversation, user).

        Refreshes its thread, `extra`, `member_id`, `kind` ("personal", "channel", "group":
        the adapter's word) and time (`now`, timezone-aware). Saving means the member just
        talked to the bot: every unreachable mark of `member_id` on the platform is cleared.
        Concurrent saves of the same reference both succeed (last one wins).
        """
        ...

    async def reference_for(
        self, platform: str, member_id: str, kind: str | None = "personal"
    ) -> ConversationRef | None:
        """The member's most recently saved reference on `platform`, of `kind` (any if None).

        Returned even while the member is marked unreachable (see `unreachable`).
        """
        ...

    async def channel_reference(self, platform: str, conversation: str) -> ConversationRef | None:
        """The most recently saved reference in a channel: its conversation id, or its
        `extra["channel"]`, is `conversation` (e.g. to post to a coalition's team channel)."""
        ...

    async def mark_unreachable(
        self, platform: str, member_id: str, reason: str, now: datetime
    ) -> None:
        """Mark all of the member's references on `platform` unreachable (e.g. the bot was
        removed or blocked: a 403 that must not be retried). No references: nothing to mark."""
        ...

    async def unreachable(self, platform: str) -> list[tuple[str, str]]:
        """(member_id, reason) of every member marked unreachable on `platform`, by member
        id, with the latest reason; for reporting to leaders."""
        ...


class Unit(Reader, References, Protocol):
    """One transaction. Committed when the context exits cleanly, rolled back otherwise."""

    async def claim_event(self, event_id: str) -> bool:
        """Record that this inbound event is being handled; False if it was handled before."""
        ...

    async def load_state(self, key: str) -> FlowState | None: ...

    async def save_state(self, state: FlowState) -> None:
        """Insert (version 1) or update from version-1 to version; StaleState if that fails."""
        ...

    async def delete_state(self, key: str, version: int) -> None:
        """Delete the state if it is still at `version`; StaleState otherwise."""
        ...

    async def add(self, records: Sequence[Record], now: datetime) -> list[int]:
        """Persist records in order; returns their ids (a re-joining member keeps theirs; 0 for withdrawals)."""
        ...


class Store(References, Protocol):
    """The database. Its `References` methods each run in a transaction of their own;
    use a `Unit`'s to save a reference together with the rest of a turn."""

    def unit(self) -> AsyncContextManager[Unit]: ...

    async def export(self, coalition_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every record of a coalition, by record type, as JSON-ready dicts."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached (for readiness checks)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Installations(Protocol):
    """Platform installations (e.g. Slack OAuth installs) and OAuth states, kept in our database;
    `storage.installations.SqlInstallations` implements it."""

    async def save(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        is_bot: bool,
        data: dict[str, Any],
        installed_at: datetime,
    ) -> None: ...

    async def find(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any] | None: ...

    async def delete(
        self,
        platform: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_bot: bool | None = None,
    ) -> int: ...

    async def issue_state(self, state: str, expires_at: datetime) -> None: ...

    async def consume_state(self, state: str, now: datetime) -> bool: ...


# -- JSON <-> slack_sdk models ---------------------------------------------------------
