"""What a digest holds: plain frozen dataclasses, computed by storage (SQL aggregation),
rendered by each format (chat, Markdown, HTML, JSON, CSV).

Who may see a story is decided before anything reaches these types: storage filters by
the audience's consent levels, drops withdrawn stories and blanks anonymous authors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Mapping

from bot.types import Consent


class Audience(StrEnum):
    COALITION = "coalition"  # one coalition's members and leaders
    MOVEMENT = "movement"  # coordinators and every coalition
    PUBLIC = "public"  # an exported public report

    @property
    def consents(self) -> tuple[str, ...]:
        """The consent levels a story needs to be shown to this audience ("only me": never)."""
        return {
            Audience.COALITION: (Consent.COALITION, Consent.MOVEMENT, Consent.PUBLIC),
            Audience.MOVEMENT: (Consent.MOVEMENT, Consent.PUBLIC),
            Audience.PUBLIC: (Consent.PUBLIC,),
        }[self]


@dataclass(frozen=True)
class Scope:
    audience: Audience
    coalitions: tuple[str, ...]  # the coalitions covered: one, or every coalition of the movement
    since: datetime
    until: datetime
    # Chat digests show only what this audience has not been shown before; reports show
    # the whole period. The key names the audience for those marks, e.g. "coalition:harbour".
    new_only: bool = False
    # The one coalition a movement-audience scope is about (a coordinator's `digest harbour`):
    # its marks are kept apart from the whole movement's.
    focus: str | None = None

    @property
    def coalition(self) -> str | None:
        """The one coalition this scope is about; None for the movement as a whole."""
        return self.coalitions[0] if self.audience is Audience.COALITION else self.focus

    @property
    def key(self) -> str:
        if self.audience is Audience.COALITION:
            return f"coalition:{self.coalitions[0]}"
        return f"{self.audience.value}:{self.focus}" if self.focus else self.audience.value


@dataclass(frozen=True)
class StoryItem:
    id: int
    coalition_id: str
    title: str
    excerpt: str  # at most 280 characters, cut at a word
    principles: tuple[int, ...]
    sectors: tuple[str, ...]
    author: str | None  # None when the story is anonymous: never shown, in any format
    consent: str
    created_at: datetime


@dataclass(frozen=True)
class PrincipleCount:
    number: int
    title: str
    reflections: int
    stories: int

    @property
    def quiet(self) -> bool:
        """No activity: named in the digest as an invitation, not hidden."""
        return self.reflections == 0 and self.stories == 0


@dataclass(frozen=True)
class ImpactPoint:
    week: date  # Monday of the week
    average: float  # mean perceived impact among citizens (1-5) that week
    checkins: int


@dataclass(frozen=True)
class ExperimentItem:
    id: int
    coalition_id: str
    title: str
    starts_on: date
    ends_on: date
    status: str  # "planned" | "running" | "ended"
    checkins: int  # all check-ins so far
    average_impact: float | None  # over all check-ins so far
    trend: tuple[ImpactPoint, ...]  # weekly averages, oldest first
    intended: tuple[str, ...]  # quotes from the period's check-ins (at most 3)
    unintended: tuple[str, ...]
    decisions: Mapping[str, int]  # decision -> count over all check-ins
    latest_decision: str | None
    needs_decision: bool  # its timebox ended and no check-in ever recorded a decision


@dataclass(frozen=True)
class Mobilisation:
    coalition_id: str
    members_by_sector: Mapping[str, int]  # everyone at the table now
    new_members: int  # joined in the period
    missing_sectors: tuple[str, ...]  # wanted in app.yaml, nobody at the table yet
    resources_mapped: int  # hidden treasures mapped in the period


@dataclass(frozen=True)
class OutsideIn:
    citizens_and_users: int  # perspectives voiced by citizens or users of a service
    institutions: int  # by partners or employees
    others: int

    @property
    def share(self) -> float | None:
        total = self.citizens_and_users + self.institutions + self.others
        return self.citizens_and_users / total if total else None


@dataclass(frozen=True)
class StrengthItem:
    id: int
    coalition_id: str
    success: str
    why: str
    enlarge: str


@dataclass(frozen=True)
class Participation:
    answers: int  # everything members recorded in the period
    active_members: int
    prompts_sent: int | None = None  # None until scheduled prompts are tracked
    prompts_answered: int | None = None

    @property
    def response_rate(self) -> float | None:
        if not self.prompts_sent or self.prompts_answered is None:
            return None
        return self.prompts_answered / self.prompts_sent


@dataclass(frozen=True)
class Digest:
    scope: Scope
    stories: tuple[StoryItem, ...] = ()
    principles: tuple[PrincipleCount, ...] = ()
    experiments: tuple[ExperimentItem, ...] = ()
    mobilisation: tuple[Mobilisation, ...] = ()
    outside_in: OutsideIn = field(default_factory=lambda: OutsideIn(0, 0, 0))
    strengths: tuple[StrengthItem, ...] = ()
    participation: Participation = field(default_factory=lambda: Participation(0, 0))
    # The highest record id included per kind ("stories", "checkins", ...): saving these as
    # the audience's marks (records.DigestShown) keeps the next digest from repeating them.
    marks: Mapping[str, int] = field(default_factory=dict)

    def with_names(self, people: Mapping[str, str]) -> Digest:
        """Authors by the names app.yaml gives them (storage knows only who joined in chat)."""
        stories = tuple(replace(s, author=people.get(s.author, s.author)) if s.author else s for s in self.stories)
        return replace(self, stories=stories)

    @property
    def nothing_new(self) -> bool:
        """True when the period brought nothing to show (a scheduled digest is then not sent)."""
        return not (
            self.stories or self.strengths or self.participation.answers
            or any(e.trend or e.intended or e.unintended for e in self.experiments)
            or any(m.new_members or m.resources_mapped for m in self.mobilisation)
        )


# -- the dashboard's movement overview -----------------------------------------------------


@dataclass(frozen=True)
class CoalitionFigures:
    """One coalition's row in the dashboard's movement overview, for the scope's period.
    Counted by the same windows and consent rules as a digest (`storage.digest`)."""

    coalition_id: str
    members_by_sector: Mapping[str, int]  # everyone at the table now
    missing_sectors: tuple[str, ...]  # wanted in app.yaml, nobody at the table yet
    new_members: int  # joined in the period
    resources_mapped: int  # hidden treasures mapped in the period
    answers: int  # everything its members recorded in the period
    active_members: int
    prompts_sent: int  # prompts and check-in invitations delivered in the period
    prompts_answered: int
    principles: Mapping[int, int]  # principle -> reflections + stories the audience may see
    outside_in: OutsideIn
    experiments_running: int  # today
    experiments_overdue: int  # timebox ended, no decision ever recorded

    @property
    def members(self) -> int:
        return sum(self.members_by_sector.values())

    @property
    def response_rate(self) -> float | None:
        return self.prompts_answered / self.prompts_sent if self.prompts_sent else None

    def touched(self, number: int) -> int:
        return self.principles.get(number, 0)


@dataclass(frozen=True)
class WeekActivity:
    week: date  # Monday of the ISO week (UTC)
    coalition_id: str
    answers: int


@dataclass(frozen=True)
class Overview:
    """Every coalition of the scope side by side: the dashboard's first page."""

    scope: Scope
    principles: tuple[tuple[int, str], ...]  # (number, title), in order
    coalitions: tuple[CoalitionFigures, ...]  # in the scope's order
    weeks: tuple[WeekActivity, ...] = ()  # answers per week and coalition, oldest first


@dataclass(frozen=True)
class TreasureItem:
    """A hidden treasure (a resource) a member mapped."""

    id: int
    coalition_id: str
    name: str
    kind: str
    sector: str
    offer: str
    member: str  # who mapped it: their name where known, else their member id
    created_at: datetime


@dataclass(frozen=True)
class PerspectiveItem:
    """An outside-in perspective: whose voice, what was said, what it shows."""

    id: int
    coalition_id: str
    voice: str
    said: str
    shows: str
    created_at: datetime
