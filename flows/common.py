"""Small builders the flows share, so every question of one kind looks and reads alike."""

from __future__ import annotations

from typing import Mapping

from bot.types import SECTOR_LABELS
from bot.ui import Field, Kind, Option


def options(labels: Mapping[str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label) for value, label in labels.items())


def choice(id: str, label: str, labels: Mapping[str, str], **kw) -> Field:
    return Field(id, label, Kind.CHOICE, options=options(labels), **kw)


def multi(id: str, label: str, labels: Mapping[str, str], **kw) -> Field:
    return Field(id, label, Kind.MULTI_CHOICE, options=options(labels), **kw)


def yes_no(id: str, label: str, yes: str = "Yes", no: str = "No") -> Field:
    return choice(id, label, {"yes": yes, "no": no})


def scale(id: str, label: str, low: str = "not at all", high: str = "very much", **kw) -> Field:
    return Field(id, label, Kind.SCALE, scale_labels=(low, high), **kw)


def text(id: str, label: str, **kw) -> Field:
    return Field(id, label, Kind.TEXT, **kw)


def long_text(id: str, label: str, **kw) -> Field:
    return Field(id, label, Kind.LONG_TEXT, **kw)


def sector_field(id: str, label: str) -> Field:
    return choice(id, label, SECTOR_LABELS)


def sectors_named(values) -> str:
    return ", ".join(SECTOR_LABELS.get(v, v) for v in values)


def excerpt(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
