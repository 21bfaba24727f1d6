"""The small UI vocabulary replies are built from; each adapter renders it natively.

Display blocks (Text, Section, Context, Divider, Buttons) say things; a `Question` asks
for one or more `Field`s. A one-field question degrades to a plain chat question
(buttons for a choice, a typed reply for text); several fields become a form where the
adapter can open one, or are asked one by one where it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Mapping

from bot.texts import TEXTS
from bot.types import ActionRef


@dataclass(frozen=True)
class Text:
    """Markdown subset: *bold*, _italic_, `code`, bullet lines starting with '- '."""

    text: str


@dataclass(frozen=True)
class Section:
    text: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Context:
    """A small, secondary line (hints, provenance)."""

    text: str


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Button:
    label: str
    command: str  # what clicking it types, e.g. "story" or "checkin 3"
    primary: bool = False


@dataclass(frozen=True)
class Buttons:
    """Shortcuts to commands (not answers to a question: those are Fields)."""

    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class File:
    """A file for the member (their data): only in replies to adapters that `can_take_files`,
    which hand it over privately (Slack: into their DM; the terminal: a file on disk)."""

    name: str
    data: bytes = field(repr=False)
    title: str = ""


Block = Text | Section | Context | Divider | Buttons | File


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    SCALE = "scale"  # whole number from 1 to 5
    DATE = "date"  # ISO date string in answers


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: Kind = Kind.TEXT
    required: bool = True
    options: tuple[Option, ...] = ()
    max_length: int | None = None
    hint: str | None = None
    initial: str | None = None
    # Labels for the ends of a scale, e.g. ("no effect", "large effect").
    scale_labels: tuple[str, str] | None = None

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


SCALE = tuple(range(1, 6))

# The words adapters draw around a reply (`ui.*` of the library: buttons, placeholders,
# hints). The engine fills `chrome` in the member's language; a reply built without it
# (a renderer's test) gets English.
ENGLISH_CHROME: Mapping[str, str] = TEXTS["ui"]


def _word(chrome: Mapping[str, str], key: str, values: Mapping[str, object]) -> str:
    text = chrome.get(key) or ENGLISH_CHROME[key]
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Question:
    """What a flow step asks. `intro` blocks are shown above the inputs."""

    title: str
    fields: tuple[Field, ...]
    intro: tuple[Block, ...] = ()
    submit: str | None = None  # the button's label; None: the language's "Submit"


@dataclass(frozen=True)
class Ask:
    """A question bound to the flow state it answers, plus errors from a rejected answer."""

    question: Question
    action: ActionRef
    errors: Mapping[str, str] = field(default_factory=dict)
    # Where the adapter cannot open forms, the engine asks the fields one at a time and
    # `field_index` is the one being asked now.
    field_index: int | None = None
    chrome: Mapping[str, str] = field(default_factory=dict)  # see ENGLISH_CHROME

    def word(self, key: str, **values: object) -> str:
        return _word(self.chrome, key, values)

    @property
    def current_field(self) -> Field | None:
        if self.field_index is None:
            return self.question.fields[0] if len(self.question.fields) == 1 else None
        return self.question.fields[self.field_index]


@dataclass(frozen=True)
class Reply:
    blocks: tuple[Block, ...] = ()
    ask: Ask | None = None
    private: bool = False  # only the asking member should see it (Slack ephemeral; Teams: their 1:1 chat)
    # Set for news meant for a whole coalition (its channel, in a thread), not the member.
    to_coalition: str | None = None
    # The longer detail of the reply before it: in that message's thread where the
    # platform has threads, else simply the next message.
    detail: bool = False
    chrome: Mapping[str, str] = field(default_factory=dict)  # see ENGLISH_CHROME

    def word(self, key: str, **values: object) -> str:
        return _word(self.chrome, key, values)

    @classmethod
    def text(cls, text: str, **kw) -> Reply:
        return cls(blocks=(Text(text),), **kw)
