"""Turn what a member typed, clicked or submitted into a field's value, or say what is wrong.

The same rules serve every adapter: a typed "2" or "business" and a clicked option both
land here, so an answer is validated once, the same way, before anything is stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bot.ui import SCALE, Field, Kind

SKIP_WORDS = frozenset({"skip", "-", "none", "n/a"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y")


class AnswerError(ValueError):
    """A polite, specific reason an answer was not accepted."""


def clean(text: str) -> str:
    """Replace lone surrogates (undecodable input bytes) so the text can be stored as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def empty(field: Field) -> Any:
    """The stored value of an optional field left blank."""
    if field.kind is Kind.MULTI_CHOICE:
        return []
    if field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        return ""
    return None


def parse(field: Field, raw: Any, max_length: int) -> Any:
    """Validate one answer for `field`. `raw` is typed text, a clicked value or a form value."""
    if isinstance(raw, (list, tuple)):
        parts = [str(p) for p in raw]
    else:
        text = "" if raw is None else clean(str(raw)).strip()
        if not text or (not field.required and text.lower() in SKIP_WORDS):
            if field.required:
                raise AnswerError("This one needs an answer.")
            return empty(field)
        if field.kind is not Kind.MULTI_CHOICE:
            return _parse_one(field, text, max_length)
        parts = _split_choices(text)
    if field.kind is not Kind.MULTI_CHOICE:
        raise AnswerError("Please pick just one option.")
    values: list[str] = []
    for part in parts:
        value = _choice(field, clean(part))
        if value not in values:
            values.append(value)
    if field.required and not values:
        raise AnswerError("Please pick at least one option.")
    return values


def _parse_one(field: Field, text: str, max_length: int) -> Any:
    if field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        limit = field.max_length or max_length
        if len(text) > limit:
            raise AnswerError(
                f"That is {len(text)} characters; please keep it to {limit} or fewer."
            )
        return text
    if field.kind is Kind.CHOICE:
        return _choice(field, text)
    if field.kind is Kind.SCALE:
        if re.fullmatch(r"[1-5]", text):
            return int(text)
        raise AnswerError(f"Please answer with a whole number from {SCALE[0]} to {SCALE[-1]}.")
    if field.kind is Kind.DATE:
        return parse_date(text).isoformat()
    raise AnswerError(f"I can't read answers for a {field.kind} field.")  # a programming error


def parse_date(text: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise AnswerError("Please give a date like 2026-12-01 (year-month-day).")


def _split_choices(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
    if len(parts) == 1 and re.fullmatch(r"\d+(\s+\d+)+", parts[0]):
        parts = parts[0].split()  # "1 3 4"
    return parts


def _choice(field: Field, text: str) -> str:
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
    raise AnswerError(
        f"I didn't recognise '{text}'. Please answer with a number from 1 to {len(options)} "
        "or the name of an option."
    )
