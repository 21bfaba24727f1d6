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
from datetime import date, datetime, timedelta
from typing import (Any, AsyncContextManager, Awaitable, Callable, Collection, Mapping, Protocol, Sequence,
                    runtime_checkable)

from bot.digest import Digest, Overview, PerspectiveItem, Scope, StoryItem, TreasureItem
from bot.people import Changes, Identity
from bot.records import MemberProfile, Record
from bot.types import ConversationRef


class StorageUnavailable(Exception):
    """The database cannot be written or reached just now (a full or read-only disk, a server
    restarting): nothing of the unit was saved; try again later. `str()` says why, briefly."""


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


@dataclass(frozen=True)
class RoundInfo:
    """An impact check-in round. `origin` is unique: "leader:<uuid>" for a round a leader
    opened, "<schedule id>:<experiment id>:<period>" for a scheduled one."""

    id: int
    origin: str
    coalition_id: str
    experiment_id: int
    opened_by: str | None  # member id; None for a scheduled round
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    reminders: int
    remind_after_s: int
    progress: Mapping[str, Any] | None = None  # where the live progress message is, and its text


@dataclass(frozen=True)
class AnswerInfo:
    """One member's answer in a round, for its summary."""

    member_id: str
    citizen_impact: int
    intended: str
    unintended: str
    decision: str


@dataclass(frozen=True)
class InviteInfo:
    """A coalition's web invite link (the token itself is never stored)."""

    id: int
    coalition_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    joins: int  # people who joined through it

    def state(self, now: datetime) -> str:
        """"open", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        return "open" if now < self.expires_at else "expired"


@dataclass(frozen=True)
class Override:
    """A leader's change to a schedule for one coalition."""

    paused: bool = False
    time: str | None = None  # "HH:MM", replacing app.yaml's time


@dataclass(frozen=True)
class ScheduleChange:
    """One change a leader made to a schedule (in chat or on the dashboard): who, when, what.
    None: that part was not changed."""

    schedule_id: str
    coalition_id: str
    member_id: str
    paused: bool | None
    time: str | None
    changed_at: datetime


class Reader(Protocol):
    """Read-only queries flows may make."""

    async def member_profile(self, coalition_id: str, member_id: str) -> MemberProfile | None: ...

    async def sector_counts(self, coalition_id: str) -> Mapping[str, int]: ...

    async def seated(self, coalition_id: str) -> Mapping[str, str]:
        """Member id -> sector of those at the coalition's table: who joined (their own
        sector), and who was imported with a sector and has not joined yet; not the removed."""
        ...

    async def joined(self, coalition_id: str) -> Sequence[str]:
        """Member ids who joined the coalition in chat (`join`), in the order they joined;
        app.yaml's leaders and members come on top."""
        ...

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

    async def language_of(self, member_id: str) -> tuple[str | None, str | None]:
        """(the language the member chose, their platform's locale); either may be None."""
        ...

    async def speaker(self, member_id: str) -> tuple[frozenset[str], str | None, str | None]:
        """`granted_coordinators()` and `language_of(member_id)` in one query (every turn needs both)."""
        ...

    async def round(self, round_id: int) -> RoundInfo | None: ...

    async def open_round(self, coalition_id: str) -> RoundInfo | None:
        """The coalition's most recently opened round that is not closed, if any."""
        ...

    async def answered(self, round_id: int) -> frozenset[str]:
        """Member ids who answered the round (a check-in with this round id)."""
        ...

    async def overrides(self) -> Mapping[tuple[str, str], Override]:
        """(schedule id, coalition id) -> the leaders' change to that schedule."""
        ...

    async def invites(self, coalition_id: str) -> Sequence[InviteInfo]:
        """The coalition's web invite links, newest first."""
        ...

    async def digest(self, scope: Scope, principles: Sequence[tuple[int, str]],
                     wanted: Mapping[str, Sequence[str]], today: date) -> Digest:
        """What `scope` may see, aggregated in SQL. `principles` are (number, title) of the
        movement's principles; `wanted` maps each coalition id to its wanted sectors."""
        ...

    async def overview(self, scope: Scope, principles: Sequence[tuple[int, str]],
                       wanted: Mapping[str, Sequence[str]], today: date) -> Overview:
        """Each of the scope's coalitions' figures for its period, side by side (the dashboard):
        counted by the digest's own windows, stories by the audience's consent."""
        ...

    async def story_page(self, scope: Scope, principle: int | None, sector: str | None,
                         limit: int, offset: int) -> tuple[tuple[StoryItem, ...], int]:
        """The stories of the scope's period its audience may see (the digest's rules), newest
        first, with that principle and sector if given: `limit` of them from `offset`, and how
        many match in all."""
        ...

    async def treasures(self, coalition_id: str, since: datetime, until: datetime,
                        limit: int) -> tuple[TreasureItem, ...]:
        """Hidden treasures mapped in the coalition in [since, until), newest first."""
        ...

    async def perspectives(self, coalition_id: str, since: datetime, until: datetime,
                           limit: int) -> tuple[PerspectiveItem, ...]:
        """Outside-in perspectives voiced in the coalition in [since, until), newest first."""
        ...

    async def names(self, coalition_id: str) -> Mapping[str, str]:
        """Member id -> the name each gave when they joined the coalition in chat."""
        ...

    async def schedule_changes(self, coalition_id: str, limit: int) -> tuple[ScheduleChange, ...]:
        """The latest changes to the coalition's schedules, newest first."""
        ...

    async def member_data(self, member_id: str) -> dict[str, Any]:
        """Everything stored about a member, as JSON-ready sections (docs/mydata.schema.json)."""
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

    async def last_platform(self, member_id: str, platforms: Collection[str]) -> str | None:
        """Which of `platforms` the member last wrote from (their newest saved reference)."""
        ...

    async def identify(self, identity: Identity, now: datetime) -> tuple[int, Identity]:
        """Store which member a platform account is, unless that account has an identity
        already (the first wins; concurrent calls agree). Returns the stored row (id, identity)."""
        ...

    async def identities(self, after: int = 0) -> list[tuple[int, Identity]]:
        """The identities stored after row id `after`, oldest first (what another replica
        resolved since this process last looked)."""
        ...


class Membership(Protocol):
    """Membership changed in chat or by import (`MembershipChange` records), for `Config.layered`."""

    async def changes(self) -> Changes:
        """Everything changed, with the version it is at."""
        ...

    async def changes_version(self) -> int:
        """The version alone (0: nothing changed yet): one small read, for polling."""
        ...


# -- delivery: the outbox ----------------------------------------------------------------

QUEUED, SENDING, SENT, FAILED, RETRY, SKIPPED = "queued", "sending", "sent", "failed", "retry", "skipped"


@dataclass(frozen=True)
class Outgoing:
    """A message to create in the outbox. (source, occurrence, target) is unique: enqueuing
    the same one again is a no-op, so two schedulers or a retried command never send twice."""

    source: str  # "schedule:<id>", "round:<id>", "notice:<platform>"
    occurrence: str  # e.g. the local date "2026-03-02", "invite", "reminder-1", "summary"
    target: str  # "member:<member id>" or "channel:<coalition id>"
    coalition_id: str
    kind: str  # prompt | checkin | reminder | progress | summary | notice | digest
    payload: Mapping[str, Any]  # JSON: what to say (composed when sent)
    due_at: datetime


@dataclass(frozen=True)
class Claimed:
    """An outbox row a worker claimed (state "sending" until its lease ends)."""

    id: int
    source: str
    occurrence: str
    target: str
    coalition_id: str
    kind: str
    payload: Mapping[str, Any]
    due_at: datetime
    attempts: int  # including this one
    claimed_at: datetime
    # Set when the row was taken over from a worker whose lease ran out (it may have died
    # after sending): the sender should check whether the message already arrived.
    interrupted_at: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    source: str
    occurrence: str
    target: str
    coalition_id: str
    kind: str
    payload: Mapping[str, Any]
    state: str
    due_at: datetime
    attempts: int
    platform: str | None
    conversation: str | None
    message_id: str | None
    error: str | None
    sent_at: datetime | None


class Outbox(Protocol):
    """Each method is one transaction. A worker's writes to a row it claimed only apply while
    the row is still claimed by it (returns False otherwise: another worker took over)."""

    async def enqueue(self, items: Sequence[Outgoing], now: datetime) -> int:
        """Insert the rows that do not exist yet (state queued); returns how many were new."""
        ...

    async def claim(self, worker: str, now: datetime, limit: int, lease: timedelta,
                    targets: Collection[str] | None = None) -> list[Claimed]:
        """Up to `limit` rows due by `now` (queued, retry, or sending with an expired lease),
        oldest due first, now "sending" for `worker` until now + lease. PostgreSQL: FOR UPDATE
        SKIP LOCKED, so concurrent workers never claim the same row. `targets`: only rows for
        these (the terminal chat delivers only to the person at the keyboard)."""
        ...

    async def sent(self, id: int, worker: str, platform: str, conversation: str | None,
                   message_id: str | None, now: datetime) -> bool: ...

    async def retry(self, id: int, worker: str, at: datetime, error: str | None) -> bool:
        """Back to the queue until `at` (a 429, a 5xx, or quiet hours: error None)."""
        ...

    async def hasten(self, now: datetime) -> int:
        """Rows backing off after an error (not those waiting for quiet hours to end) are due
        now: the platform answers again. How many."""
        ...

    async def failed(self, id: int, worker: str, error: str, now: datetime, platform: str | None = None) -> bool:
        """Permanently failed (on `platform`, where one was tried): never retried."""
        ...

    async def failures(self, coalition_id: str, since: datetime, until: datetime) -> list[tuple[str, str, str]]:
        """Members of the coalition whose messages failed for good in [since, until): (member,
        platform, reason), one per member (the first failure), oldest first; notices and
        progress messages excepted, and erased members."""
        ...

    async def skipped(self, id: int, worker: str, reason: str, now: datetime) -> bool:
        """Not sent on purpose (answered already, round closed, too late)."""
        ...

    async def outbox(self, source: str | None = None, target: str | None = None) -> list[OutboxRow]: ...

    async def outbox_message(self, source: str, occurrence: str, target: str) -> OutboxRow | None: ...

    async def renew(self, worker: str, ids: Collection[int], until: datetime) -> int:
        """Extend the lease of rows `worker` still holds (a send waiting for the rate limit is
        not a dead worker's); returns how many it still held."""
        ...

    async def heartbeat(self, worker: str, now: datetime, within: timedelta) -> int:
        """Note that `worker` is alive; returns how many workers were seen within `within`
        (itself included), so a shared rate budget can be divided among them."""
        ...


class DeliveryError(Exception):
    """A send did not happen. `permanent`: retrying cannot help (blocked, not in the roster,
    account inactive, uninstalled). Otherwise it may be retried, after `retry_after` seconds
    when the platform said so (429 Retry-After)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after = reason, permanent, retry_after


@dataclass(frozen=True)
class Delivered:
    """Where a sent message is, to update it in place later."""

    platform: str
    conversation: str | None
    message_id: str | None


class Sender(Protocol):
    """One platform's outbound side for the outbox. Implementations keep the platform's
    rate limits themselves (waiting before a call rather than discovering a 429), and raise
    `DeliveryError` for anything that was not delivered."""

    platform: str
    can_check_sent: bool  # whether `already_sent` can actually look

    def reaches(self, member_id: str) -> bool:
        """The member has an account on this platform (app.yaml)."""
        ...

    async def to_member(self, member_id: str, reply: Any, tag: str) -> Delivered:
        """A direct message. `tag` (the outbox row id) goes along where the platform keeps
        it (Slack message metadata), so `already_sent` can find the message later."""
        ...

    async def to_channel(self, coalition_id: str, reply: Any, tag: str) -> Delivered | None:
        """The coalition's channel on this platform: the first block as a post, the rest in
        its thread. None when the coalition has no channel here."""
        ...

    async def update(self, where: Delivered, reply: Any) -> None:
        """Replace a message sent earlier (a live progress message)."""
        ...

    async def already_sent(self, member_id: str, tag: str, since: datetime) -> Delivered | None:
        """After a crash mid-send: the message tagged `tag` if it arrived (None if not, or if
        the platform cannot tell: see `can_check_sent`)."""
        ...


class Schedules(Protocol):
    """What the scheduler keeps between runs; one transaction per call."""

    async def planned_until(self, name: str) -> datetime | None:
        """Up to when the schedule `name` was planned (None: never)."""
        ...

    async def set_planned_until(self, name: str, until: datetime) -> None: ...

    async def open_or_get_round(self, origin: str, coalition_id: str, experiment_id: int,
                                opened_by: str | None, opened_at: datetime, closes_at: datetime,
                                reminders: int, remind_after_s: int) -> RoundInfo:
        """The round with this origin, created if new (idempotent)."""
        ...

    async def rounds(self, *, open_only: bool = False, closed_since: datetime | None = None) -> list[RoundInfo]:
        """Open rounds, or those closed since a time (or all)."""
        ...

    async def close_round(self, round_id: int, now: datetime) -> bool:
        """Close it; False if it was closed already."""
        ...

    async def round_answers(self, round_id: int) -> list[AnswerInfo]: ...

    async def set_progress(self, round_id: int, progress: Mapping[str, Any]) -> None: ...

    async def save_zone(self, member_id: str, zone: str, source: str, now: datetime) -> None:
        """A member's time zone from their platform profile (IANA name)."""
        ...

    async def zones(self) -> Mapping[str, str]: ...

    async def save_locale(self, member_id: str, locale: str | None, now: datetime) -> None:
        """The locale a member's platform reports (Slack profile, Teams client), e.g. 'da-DK';
        None: it tells nothing (any earlier one is forgotten)."""
        ...

    async def languages(self) -> Mapping[str, tuple[str | None, str | None]]:
        """member id -> (the language they chose, their platform's locale)."""
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

    def aside(self) -> AsyncContextManager[None]:
        """A part of the unit whose failure undoes only that part (a savepoint): what raises
        inside it is rolled back and re-raised, and the rest of the unit can still commit."""
        ...

    async def save_zone(self, member_id: str, zone: str, source: str, now: datetime) -> None:
        """As `Schedules.save_zone`, in this unit."""
        ...

    async def save_locale(self, member_id: str, locale: str | None, now: datetime) -> None:
        """As `Schedules.save_locale`, in this unit."""
        ...


class Privacy(Protocol):
    """Members' data rights and the retention policy (storage.privacy)."""

    async def member_data(self, member_id: str) -> dict[str, Any]:
        """Everything stored about a member (see `Reader.member_data`), in one snapshot."""
        ...

    async def erase(self, member_id: str, by: str, now: datetime) -> dict[str, int]:
        """Erase a member: how many rows of each kind (empty: there was nothing left)."""
        ...

    async def expire(self, cutoffs: Mapping[str, datetime | None], now: datetime,
                     dry_run: bool = False) -> dict[str, int]:
        """Apply the retention policy (or count what it would do)."""
        ...

    async def erasures(self) -> list[dict[str, Any]]:
        """The audit records of erasures and retention, oldest first."""
        ...


class Departures(Protocol):
    """Where the app was removed (storage.departures): a Slack workspace, a Teams user."""

    async def depart(self, platform: str, scope: str, reason: str, now: datetime, *, tenant: str | None = None,
                     user: str | None = None, conversation: str | None = None) -> list[str]:
        """Delete the references of `tenant`, `user` or `conversation` and record the departure;
        the members left with no reference on the platform."""
        ...

    async def departures(self, platform: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        """scope -> (reason, members reached only there)."""
        ...

    async def back(self, platform: str, scope: str) -> bool:
        """The app is there again: the departure ends (True if there was one)."""
        ...


class Store(References, Membership, Outbox, Schedules, Privacy, Departures, Protocol):
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


# -- the web platform ----------------------------------------------------------------------


@dataclass(frozen=True)
class WebPerson:
    """Someone who uses the web chat: joined through an invite, or a chat member who signed in."""

    member_id: str
    name: str
    coalition_id: str | None
    email: str | None = None
    unsubscribed: bool = False


@dataclass(frozen=True)
class WebSession:
    person: WebPerson
    csrf: str  # the token every form of this session posts back


@dataclass(frozen=True)
class WebEntry:
    """One message of a member's web conversation: `who` is "bot" or "member"; `body` is the
    adapter's JSON (a reply, or what the member typed)."""

    id: int
    who: str
    body: Mapping[str, Any]
    created_at: datetime
    emailed_at: datetime | None = None


class WebAccess(Protocol):
    """What the web platform keeps in the database: invites, one-time links, sessions (all by
    token digest, see `bot.tokens`), the people who use it, and their conversations. Each
    method is one transaction, so any replica serves any member and a restart signs nobody out."""

    async def invite(self, token_hash: str) -> InviteInfo | None:
        """The invite with this token, whatever its state."""
        ...

    async def join(self, invite_id: int, person: WebPerson, session_hash: str, csrf: str,
                   now: datetime, session_until: datetime) -> bool:
        """Make `person` a member through the invite and open their session, if the invite is
        still open at `now`; False (and nothing written) if not."""
        ...

    async def issue_link(self, token_hash: str, purpose: str, member_id: str, now: datetime,
                         expires_at: datetime | None) -> None:
        """A one-time sign-in link ("signin") or an unsubscribe link ("unsubscribe", no expiry)."""
        ...

    async def use_sign_in(self, token_hash: str, session_hash: str, csrf: str, now: datetime,
                          session_until: datetime, purpose: str = "signin") -> WebPerson | None:
        """Spend a sign-in link of that purpose ("signin": the chat's, "dashboard") once, before
        it expires, and open a session; None if it is unknown, used, expired or for the other."""
        ...

    async def spend_link(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """Use a one-time link that signs nobody in (`mydata`'s download): its member, or None."""
        ...

    async def session(self, session_hash: str, now: datetime) -> WebSession | None: ...

    async def page(self, session_hash: str, now: datetime, limit: int,
                   then: Callable[[Unit, WebSession], Awaitable[Any]] | None = None,
                   ) -> tuple[WebSession | None, list[WebEntry], Any]:
        """The session, its member's latest `limit` entries (oldest first) and what `then`
        reads for that session (the engine's view of the conversation), in one unit: a page
        view is one transaction. (None, [], None) when the session is unknown or expired."""
        ...

    async def close_session(self, session_hash: str) -> None: ...

    async def person(self, member_id: str) -> WebPerson | None: ...

    async def people(self) -> list[str]:
        """Member ids of everyone who has used the web (joined, or signed in)."""
        ...

    async def person_by_email(self, email: str) -> WebPerson | None:
        """`email` as normalised by the adapter (trimmed, lower case)."""
        ...

    async def unsubscribe(self, token_hash: str, now: datetime) -> WebPerson | None:
        """Stop emails to the link's member; None if the link is unknown."""
        ...

    async def record(self, member_id: str, entries: Sequence[tuple[str, Mapping[str, Any]]],
                     now: datetime, tag: str | None = None) -> list[int]:
        """Append (who, body) entries to the member's conversation. With `tag` (an outbox row
        id) the first entry is stored once however often it is recorded."""
        ...

    async def transcript(self, member_id: str, limit: int) -> list[WebEntry]:
        """The member's latest `limit` entries, oldest first."""
        ...

    async def entry(self, tag: str) -> WebEntry | None:
        """The entry recorded with `tag`."""
        ...

    async def replace_entry(self, entry_id: int, body: Mapping[str, Any]) -> None: ...

    async def emailed(self, entry_id: int, now: datetime) -> None: ...

    async def allow(self, kind: str, key: str, now: datetime, window: timedelta, limit: int) -> bool:
        """Count one attempt of `kind` by `key` (an IP, an invite); False if `limit` were
        already made within `window` (then nothing is counted)."""
        ...


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
