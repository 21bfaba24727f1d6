"""Small builders the flows share, so every question of one kind looks and reads alike."""

from __future__ import annotations

from typing import Iterable, Mapping

from bot.flow import Context
from bot.types import Sector
from bot.ui import Field, Kind, Option


def options(labels: Mapping[str, str]) -> tuple[Option, ...]:
    return tuple(Option(value, label) for value, label in labels.items())


def labels(ctx: Context, group: str, values: Iterable[str]) -> dict[str, str]:
    """value -> its label in the member's language, from the core's `labels.<group>.<value>`:
    `labels(ctx, "sector", Sector)`."""
    return {str(value): ctx.t(f"labels.{group}.{value}") for value in values}


def label(ctx: Context, group: str, value: str) -> str:
    """One value's label; a value the library has no label for is shown as it is."""
    text = ctx.texts.get(f"labels.{group}.{value}")
    return text if text is not None else str(value)


def choice(id: str, label: str, labels: Mapping[str, str], **kw) -> Field:
    return Field(id, label, Kind.CHOICE, options=options(labels), **kw)


def multi(id: str, label: str, labels: Mapping[str, str], **kw) -> Field:
    return Field(id, label, Kind.MULTI_CHOICE, options=options(labels), **kw)


def yes_no(ctx: Context, id: str, label: str, yes: str | None = None, no: str | None = None) -> Field:
    return choice(id, label, {"yes": yes or ctx.t("labels.yes"), "no": no or ctx.t("labels.no")})


def scale(ctx: Context, id: str, label: str, low: str | None = None, high: str | None = None, **kw) -> Field:
    ends = (low or ctx.t("labels.scale_low"), high or ctx.t("labels.scale_high"))
    return Field(id, label, Kind.SCALE, scale_labels=ends, **kw)


def text(id: str, label: str, **kw) -> Field:
    return Field(id, label, Kind.TEXT, **kw)


def long_text(id: str, label: str, **kw) -> Field:
    return Field(id, label, Kind.LONG_TEXT, **kw)


def sector_field(ctx: Context, id: str, label: str) -> Field:
    return choice(id, label, labels(ctx, "sector", Sector))


def sectors_named(ctx: Context, values) -> str:
    """'Public sector, Business and Other', in the member's language."""
    return ctx.texts.listing(label(ctx, "sector", v) for v in values)


def excerpt(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
