"""Platform-neutral events and the vocabularies every flow shares.

Everything here is a plain frozen dataclass or enum, JSON-serialisable, and free of SDK
objects, so an event can be stored, replayed and tested without any platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping


@dataclass(frozen=True)
class ConversationRef:
    """A storable address: where a member talks to the bot, enough to write back later.

    `extra` belongs to the adapter (a Teams service URL, a Slack team for Connect users).
    """

    platform: str
    tenant: str
    conversation: str
    user: str
    thread: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> str:
        """The conversation a member's active flow belongs to (one flow per member and conversation)."""
        return f"{self.platform}|{self.tenant}|{self.conversation}|{self.user}"


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can render; flows and the engine branch on these, never on platform names."""

    can_open_forms: bool = False  # several inputs submitted at once (modal, card)
    can_show_buttons: bool = False  # a click comes back as an Interaction
    can_update_messages: bool = False
    can_take_files: bool = False  # a `File` block reaches the member privately


@dataclass(frozen=True)
class ActionRef:
    """Identifies the question a click or form answers, so an outdated one can be recognised."""

    flow: str
    step: str
    version: int

    def encode(self) -> str:
        return f"{self.flow}:{self.step}:{self.version}"

    @classmethod
    def decode(cls, raw: str) -> ActionRef:
        flow, step, version = raw.split(":")
        return cls(flow, step, int(version))


@dataclass(frozen=True)
class Message:
    """Text typed by a member. `command` is true when the platform marked it as one (slash command)."""

    ref: ConversationRef
    event_id: str
    text: str
    command: bool = False


@dataclass(frozen=True)
class Interaction:
    """A click or a form submit: the values keyed by field id, and the question they answer."""

    ref: ConversationRef
    event_id: str
    action: ActionRef
    values: Mapping[str, Any]
    message_handle: str | None = None


@dataclass(frozen=True)
class Lifecycle:
    ref: ConversationRef
    event_id: str
    kind: str  # "installed", "member_joined", "uninstalled"


@dataclass(frozen=True)
class Tick:
    """A schedule fired (used by the scheduler)."""

    schedule: str
    occurrence: datetime
    event_id: str


Event = Message | Interaction | Lifecycle | Tick


class Role(StrEnum):
    MEMBER = "member"
    LEADER = "leader"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Actor:
    """Who is talking: a member id (from app.yaml, or platform:user for unknown people) and roles."""

    member_id: str
    name: str
    coalition_id: str
    roles: frozenset[Role] = frozenset({Role.MEMBER})
    platform: str = ""
    language: str = "en"  # the language the bot writes to them in (bot.i18n.SUPPORTED)
    locale: str | None = None  # what their platform says, e.g. "da-DK"

    def has(self, role: Role) -> bool:
        return role is Role.MEMBER or role in self.roles


class Sector(StrEnum):
    PUBLIC = "public"
    BUSINESS = "business"
    CIVIL_SOCIETY = "civil_society"
    EDUCATION = "education"
    CITIZEN = "citizen"
    OTHER = "other"



class Voice(StrEnum):
    """Whose voice an outside-in perspective carries."""

    CITIZEN = "citizen"
    USER = "user"
    PARTNER = "partner"
    EMPLOYEE = "employee"
    OTHER = "other"



class Decision(StrEnum):
    CONTINUE = "continue"
    ADJUST = "adjust"
    STOP = "stop"
    SCALE_UP = "scale_up"



class Consent(StrEnum):
    """Who may ever see a story."""

    PRIVATE = "private"
    COALITION = "coalition"
    MOVEMENT = "movement"
    PUBLIC = "public"
