"""What flows record: plain frozen dataclasses the storage layer persists.

A flow returns these from a step; the engine saves them in the same transaction as the
flow's state, so an answer is either fully recorded or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping

from bot.people import CoalitionChange, Person, Seat


@dataclass(frozen=True)
class MemberProfile:
    """A member at a coalition's table. Joining again updates the profile."""

    coalition_id: str
    member_id: str
    name: str
    sector: str
    organisation: str
    brings: str
    platform: str = ""


@dataclass(frozen=True)
class Resource:
    """A hidden treasure nearby: a local resource that could help with the shared task."""

    coalition_id: str
    member_id: str
    name: str
    kind: str
    sector: str
    offer: str


@dataclass(frozen=True)
class Strength:
    coalition_id: str
    member_id: str
    success: str
    why: str
    enlarge: str
    challenge: str = ""


@dataclass(frozen=True)
class Perspective:
    """An outside-in voice: who said what, and the problem or potential it shows."""

    coalition_id: str
    member_id: str
    voice: str
    said: str
    shows: str


@dataclass(frozen=True)
class ProblemStatement:
    """A proposed problem statement with its transversal-test ratings (1-5 each)."""

    coalition_id: str
    member_id: str
    statement: str
    cross_sector: int
    complex: int
    not_solved: int


@dataclass(frozen=True)
class Frame:
    """A closed framing round: the agreed statement, linked to every open perspective."""

    coalition_id: str
    member_id: str
    statement_id: int


@dataclass(frozen=True)
class Experiment:
    """A delimited test action with a timebox."""

    coalition_id: str
    member_id: str
    title: str
    action: str
    intended_effect: str
    stakeholders: tuple[str, ...]
    partners: str
    starts_on: date
    ends_on: date
    measures: str
    owner: str


@dataclass(frozen=True)
class CheckIn:
    coalition_id: str
    member_id: str
    experiment_id: int
    citizen_impact: int
    effects: tuple[tuple[str, int], ...]  # (stakeholder group, rating 1-5)
    intended_seen: str
    unintended: str
    evidence: str
    decision: str
    round_id: str | None = None


@dataclass(frozen=True)
class Reflection:
    coalition_id: str
    member_id: str
    principle: int
    text: str


@dataclass(frozen=True)
class Story:
    coalition_id: str
    member_id: str
    title: str
    body: str
    principles: tuple[int, ...]
    sectors: tuple[str, ...]
    consent: str
    anonymous: bool


@dataclass(frozen=True)
class StoryWithdrawal:
    """The author takes a story back; it stays stored but is never shown again."""

    story_id: int
    member_id: str


@dataclass(frozen=True)
class DigestShown:
    """An audience was shown a digest: nothing up to these ids is shown to it again."""

    key: str  # e.g. "coalition:harbour" or "movement"
    marks: Mapping[str, int]  # record kind -> highest id shown


@dataclass(frozen=True)
class CoordinatorGrant:
    """A coordinator makes another member a movement coordinator (granting again is harmless)."""

    member_id: str
    granted_by: str


@dataclass(frozen=True)
class CoordinatorRevoke:
    member_id: str


@dataclass(frozen=True)
class LanguageChoice:
    """A member chose the language the bot writes to them in (None: back to the default)."""

    member_id: str
    language: str | None


@dataclass(frozen=True)
class CheckInRound:
    """A leader opens an impact check-in round: the round and one invitation per member are
    stored together (outbox rows), plus the leader's live progress message."""

    coalition_id: str
    experiment_id: int
    opened_by: str  # member id of the leader; they get the progress message
    members: tuple[str, ...]  # who is invited
    closes_at: datetime
    reminders: int
    remind_after_s: int


@dataclass(frozen=True)
class RoundClosed:
    """A leader closes a round early (closing a closed round changes nothing)."""

    round_id: int
    member_id: str


@dataclass(frozen=True)
class ScheduleChanged:
    """A leader pauses, resumes or moves a schedule for one coalition. None: unchanged."""

    schedule_id: str
    coalition_id: str
    member_id: str
    paused: bool | None = None
    time: str | None = None  # "HH:MM"


@dataclass(frozen=True)
class Invite:
    """A leader's invite link to a coalition on the web: anyone holding the token may join
    until it expires or is revoked. Only the token's digest is kept (`bot.tokens`)."""

    coalition_id: str
    member_id: str  # the leader who made it
    token_hash: str
    expires_at: datetime


@dataclass(frozen=True)
class InviteRevoked:
    """A leader revokes one of their coalition's invites (revoking twice changes nothing)."""

    coalition_id: str
    invite_id: int
    member_id: str


@dataclass(frozen=True)
class SignInLink:
    """A personal one-time link to the web (single use, short-lived): to the chat ("signin"),
    or to the dashboard ("dashboard"), which it alone signs in to."""

    member_id: str
    name: str
    coalition_id: str
    token_hash: str
    expires_at: datetime
    purpose: str = "signin"


@dataclass(frozen=True)
class MembershipChange:
    """Someone added, a seat given or taken, a coalition created or renamed (bot.people), and
    by whom. Saving the same change again changes nothing."""

    change: Person | Seat | CoalitionChange
    by: str


@dataclass(frozen=True)
class Erasure:
    """Erase everything stored about `member_id` (`forget me`), saved with the turn that
    confirmed it; `by` is who asked, for the audit ("member": they did, which names no one)."""

    member_id: str
    by: str


Record = (
    MemberProfile
    | Resource
    | Strength
    | Perspective
    | ProblemStatement
    | Frame
    | Experiment
    | CheckIn
    | Reflection
    | Story
    | StoryWithdrawal
    | DigestShown
    | CoordinatorGrant
    | CoordinatorRevoke
    | LanguageChoice
    | CheckInRound
    | RoundClosed
    | ScheduleChanged
    | Invite
    | InviteRevoked
    | SignInLink
    | MembershipChange
    | Erasure
)
