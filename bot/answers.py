"""Turn what a member typed, clicked or submitted into a field's value, or say what is wrong.

The same rules serve every adapter: a typed "2" or "business" and a clicked option both
land here, so an answer is validated once, the same way, before anything is stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bot.i18n import Texts
from bot.ui import Field, Kind

_SURROGATE = re.compile("[\ud800-\udfff\x00]")  # and NUL, which PostgreSQL text cannot hold
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y", "%d/%m-%Y")  # the last: Danish 1/12-2026


class AnswerError(ValueError):
    """A polite, specific reason an answer was not accepted, in the member's language."""


def clean(text: str) -> str:
    """Replace lone surrogates (undecodable input bytes) and NUL so the text can be stored."""
    return _SURROGATE.sub("\ufffd", text)


def empty(field: Field) -> Any:
    """The stored value of an optional field left blank."""
    if field.kind is Kind.MULTI_CHOICE:
        return []
    if field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        return ""
    return None


def parse(field: Field, raw: Any, max_length: int, texts: Texts) -> Any:
    """Validate one answer for `field`. `raw` is typed text, a clicked value or a form value."""
    if isinstance(raw, (list, tuple)):
        parts = [str(p) for p in raw]
    else:
        text = "" if raw is None else clean(str(raw)).strip()
        if not text or (not field.required and text.lower() in _skip_words(texts)):
            if field.required:
                raise AnswerError(texts.t("answers.required"))
            return empty(field)
        if field.kind is not Kind.MULTI_CHOICE:
            return _parse_one(field, text, max_length, texts)
        parts = _split_choices(text)
    if field.kind is not Kind.MULTI_CHOICE:
        raise AnswerError(texts.t("answers.just_one"))
    values: list[str] = []
    for part in parts:
        value = _choice(field, clean(part), texts)
        if value not in values:
            values.append(value)
    if field.required and not values:
        raise AnswerError(texts.t("answers.at_least_one"))
    return values


def _skip_words(texts: Texts) -> set[str]:
    """The member's language's words for "skip", and English's, which always work."""
    words = texts.t("answers.skip_words") + "|skip|-|none|n/a"
    return {w.strip().lower() for w in words.split("|") if w.strip()}


def _parse_one(field: Field, text: str, max_length: int, texts: Texts) -> Any:
    if field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        limit = field.max_length or max_length
        if len(text) > limit:
            raise AnswerError(texts.t("answers.too_long", length=len(text), limit=limit))
        return text
    if field.kind is Kind.CHOICE:
        return _choice(field, text, texts)
    if field.kind is Kind.SCALE:
        if re.fullmatch(r"[1-5]", text):
            return int(text)
        raise AnswerError(texts.t("answers.scale"))
    if field.kind is Kind.DATE:
        return parse_date(text, texts).isoformat()
    raise ValueError(f"no parser for a {field.kind} field")  # a programming error


def parse_date(text: str, texts: Texts) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise AnswerError(texts.t("answers.date", example="2026-12-01"))


def _split_choices(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
    if len(parts) == 1 and re.fullmatch(r"\d+(\s+\d+)+", parts[0]):
        parts = parts[0].split()  # "1 3 4"
    return parts


def _choice(field: Field, text: str, texts: Texts) -> str:
    """Match a number (1-based), an option value or label, or a unique start of a label."""
    wanted = text.strip().lower()
    options = field.options
    if re.fullmatch(r"[0-9]+", wanted) and 1 <= int(wanted) <= len(options):  # not isdigit(): "²"
        return options[int(wanted) - 1].value
    for option in options:
        if wanted in (option.value.lower(), option.label.lower()):
            return option.value
    starts = [o for o in options if o.label.lower().startswith(wanted)]
    if len(starts) == 1:
        return starts[0].value
    raise AnswerError(texts.t("answers.choice", text=text, count=len(options)))
