"""What a flow is: a small state machine of named steps, testable as a plain object.

A step named `x` is two methods: `ask_x(ctx)` returns the `Question`, and
`on_x(ctx, values)` receives validated answers and returns an outcome — go to another
step, finish, or refuse the answer. Records returned with an outcome are saved in the
same transaction as the flow's new state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, ClassVar, Mapping, Sequence

from bot.i18n import Texts
from bot.ports import Reader
from bot.records import Record
from bot.types import Actor, Capabilities, Role
from bot.ui import Block, Question, Text


@dataclass(frozen=True)
class Go:
    step: str
    records: tuple[Record, ...] = ()
    say: tuple[Block, ...] = ()
    announce: tuple[Block, ...] = ()  # for the coalition's channel: a headline, then details


@dataclass(frozen=True)
class Done:
    records: tuple[Record, ...] = ()
    say: tuple[Block, ...] = ()
    announce: tuple[Block, ...] = ()
    detail: tuple[Block, ...] = ()  # more of `say`, for its thread (a digest's full lists)
    private: bool = False  # `say` is for the member's eyes only (a personal link): never in a shared channel


@dataclass(frozen=True)
class Invalid:
    """Refuse the answer: the engine re-asks the step with `message` (on `field` if given)."""

    message: str
    field: str | None = None


Outcome = Go | Done | Invalid


def said(text: str) -> tuple[Block, ...]:
    return (Text(text),)


@dataclass
class Context:
    """Everything a step may use. `data` is the flow's own scratch state, saved after each step."""

    actor: Actor
    coalition: Any  # the coalition's configuration (id, name, challenge, wanted_sectors, ...)
    movement: Any  # the movement's configuration (name, timezone, ...)
    capabilities: Capabilities
    now: datetime
    today: date
    read: Reader
    texts: Texts  # the member's language: its texts, and Babel's formatting of dates and numbers
    news: Texts  # the coalition's language, for what goes to its channel (`announce`)
    principles: Sequence[Any]  # each with number, title, question
    limits: Any  # max_answer_length, max_title_length, max_experiment_weeks
    data: dict[str, Any] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)  # member id -> display name
    directory: Any = None  # bot.people.Directory: emails and platform accounts (for leaders' views)
    coalitions: Sequence[Any] = ()  # every coalition of the movement
    delivery: Any = None  # work days, quiet hours, round length, reminders
    schedules: Sequence[Any] = ()  # the movement's schedules (id, kind, days, time, every, coalitions)
    # Another language's texts (None: what the member gets without a choice of their own).
    texts_in: Callable[[str | None], Texts] | None = None
    public_url: str = "http://localhost:3000"  # the web chat's address, for links (invite, web)

    @property
    def prompts(self) -> Mapping[str, str]:
        return self.texts.library

    def t(self, key: str, **values: Any) -> str:
        """A text from the library in the member's language, with {placeholders} filled in."""
        return self.texts.t(key, **values)

    def principle(self, number: int) -> Any | None:
        return next((p for p in self.principles if p.number == number), None)

    def coalition_named(self, coalition_id: str) -> Any | None:
        return next((c for c in self.coalitions if c.id == coalition_id), None)

    def name_of(self, member_id: str) -> str:
        return self.people.get(member_id, member_id)


class Flow:
    """Base class. Subclasses set `name` and `entries` and define their steps. What `help`
    says of a flow is in the text library: `flows.<name>` (what it does, for "Cancelled: …"),
    `flows.<name>.<step>` (for refusals), `help.<word>` and `usage.<word>`."""

    name: ClassVar[str]
    # Command word -> the step it starts at, e.g. {"join": "profile", "map": "treasure"}.
    entries: ClassVar[Mapping[str, str]]
    role: ClassVar[Role] = Role.MEMBER  # who may start it
    # Steps only some roles may reach, e.g. {"close": Role.LEADER}; the engine enforces it.
    step_roles: ClassVar[Mapping[str, Role]] = {}
    interrupts: ClassVar[bool] = False  # asks nothing, so may run during another flow

    async def start(self, ctx: Context, command: str, args: str) -> Outcome:
        return Go(self.entries[command])

    async def ask(self, ctx: Context, step: str) -> Question:
        return await getattr(self, f"ask_{step}")(ctx)

    async def answer(self, ctx: Context, step: str, values: dict[str, Any]) -> Outcome:
        return await getattr(self, f"on_{step}")(ctx, values)

    def has_step(self, step: str) -> bool:
        return callable(getattr(self, f"ask_{step}", None))
