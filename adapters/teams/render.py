"""Render neutral replies as Microsoft Teams Adaptive Cards (1.5). Pure functions: plain dicts out, no I/O.

- `card(reply)`: the card for a message attachment (`application/vnd.microsoft.card.adaptive`).
- `submitted(ask, values)`: the read-only card that replaces an answered form (`update_activity`).
- `values(ask, value)`: a submit's `activity.value` -> {field id: raw answer} for `bot.answers.parse`.
- `action_of(value)`: the ActionRef a submit answers, or None.

Teams refuses a message over about 28 KB, so a card is kept under BUDGET bytes of JSON by
dropping display blocks from the end (never the question) behind a pointer, and long texts
are cut with "…". Ids and option values are never cut (the answer would no longer round-trip):
one that cannot be carried raises ValueError, a bug in the flow that defines it.

User text only ever becomes a JSON string, so it cannot add elements or actions. Inside a
TextBlock it is markdown, where the one thing outside our subset is a link: `[label](url)` is
broken up so nobody can disguise where a link goes (as the Slack renderer escapes `<url|label>`).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Mapping, Sequence

from bot.types import ActionRef
from bot.ui import SCALE, Ask, Block, Buttons, Context, Divider, Field, Kind, Reply, Section, Text

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # the newest Teams renders (DESIGN.md)
BUDGET = 25_000  # bytes of card JSON; Teams allows ~28 KB for the whole activity
TEXT = 5_000  # any one displayed text
ACTION_TITLE = 40
INLINE_BUTTONS = 6  # more answers than this become a dropdown and one submit button
ACTION_SET = 6  # Teams shows about six actions in a row before it overflows them
EXPANDED = 6  # choices shown as radio buttons / checkboxes; more become a dropdown
KEY = "cocreate"  # the key in a submit's data that carries the ActionRef
EMPTY = "—"
ELLIPSIS = "…"


# -- public API ------------------------------------------------------------------------


def card(reply: Reply) -> dict:
    groups = [_block(block) for block in reply.blocks]
    tail: list[dict | None] = []
    if reply.ask is not None:
        groups += [_block(block) for block in reply.ask.question.intro]
        tail = _question(reply.ask)
    return _fit(groups, tail, reply)


def submitted(ask: Ask, values: Mapping[str, object]) -> dict:
    """Title, what was answered (option labels, not values) and "Saved.": no inputs and no
    actions, so an answered form cannot be submitted twice."""
    question = ask.question
    facts = [_fact(field.label or field.id, _answer(field, values.get(field.id))) for field in question.fields]
    return _card(_title(question.title) + [{"type": "FactSet", "facts": facts}, _subtle(ask.word("saved"))])


def values(ask: Ask, value: Mapping[str, Any]) -> dict[str, object]:
    """Teams merges the inputs into the submit's data: keep only this ask's fields, turn empty
    strings into None and a multi-select's "a,b" into a list."""
    out: dict[str, object] = {}
    for field in ask.question.fields:
        if field.id not in value:
            continue
        raw = value[field.id]
        if isinstance(raw, str):
            if not raw.strip():
                raw = None
            elif field.kind is Kind.MULTI_CHOICE:
                raw = [part for part in raw.split(",") if part]
        out[field.id] = raw
    return out


_ACTION = re.compile(r"[^:\s]+:[^:\s]+:[0-9]{1,9}")  # ASCII digits: int() would also take "٣"


def action_of(value: Mapping[str, Any] | None) -> ActionRef | None:
    raw = value.get(KEY) if isinstance(value, Mapping) else None
    return ActionRef.decode(raw) if isinstance(raw, str) and _ACTION.fullmatch(raw) else None


# -- display blocks --------------------------------------------------------------------
# A block renders to a list of elements; None marks a divider, drawn as the separator line of
# the element after it (an empty Container is not reliably drawn).


def _block(block: Block) -> list[dict | None]:
    if isinstance(block, Text):
        return [_text(block.text)] if block.text.strip() else []
    if isinstance(block, Section):
        title = block.text.strip()
        if len(title) > 1 and title.startswith("*") and title.endswith("*"):  # flows may bold it already
            title = title[1:-1]
        out = [_text(title, weight="Bolder")] if title else []
        if block.fields:
            out.append({"type": "FactSet", "facts": [_fact(label, value) for label, value in block.fields]})
        return out
    if isinstance(block, Context):
        return [_subtle(block.text)] if block.text.strip() else []
    if isinstance(block, Divider):
        return [None]
    if isinstance(block, Buttons):
        first_primary = next((i for i, b in enumerate(block.buttons) if b.primary), None)
        # imBack: Teams posts the command as if the member had typed it. The buttons never
        # carry inputs, so a form on the same card must not block them with its validation.
        return _action_sets([
            _submit(b.label or b.command, {"msteams": {"type": "imBack", "value": b.command}},
                    primary=i == first_primary, inputs=False)
            for i, b in enumerate(block.buttons)
        ])
    raise TypeError(f"cannot render {block!r}")


# -- the question ----------------------------------------------------------------------


def _question(ask: Ask) -> list[dict | None]:
    fields = ask.question.fields
    field = fields[0] if len(fields) == 1 else None
    if field and (field.kind is Kind.SCALE or (field.kind is Kind.CHOICE and field.options)):
        return _inline(ask, field)
    return _form(ask)


def _inline(ask: Ask, field: Field) -> list[dict | None]:
    """One click answers: a button per option, or a dropdown and one button when there are many."""
    code, errors = ask.action.encode(), _errors(ask).get(field.id, [])
    choices = _choices(field, ends=False)
    if len(choices) <= INLINE_BUTTONS:
        out = [_text(field.label or ask.question.title), *errors]
        out += _action_sets([_submit(c["title"], {KEY: code, _id(field.id): c["value"]}) for c in choices])
    else:  # the dropdown's own label names it (read out by screen readers), so no separate line
        out = [*errors, _choice_set(field, choices, "compact", ask)]
        out += _action_sets([_submit(ask.question.submit or ask.word("submit"), {KEY: code}, primary=True)])
    if field.kind is Kind.SCALE and field.scale_labels:
        low, high = field.scale_labels
        out.append(_subtle(ask.word("scale_ends", low=low, high=high)))
    return out


def _form(ask: Ask) -> list[dict | None]:
    question, errors = ask.question, _errors(ask)
    out = _title(question.title)
    for field in question.fields:
        out += [*errors.get(field.id, []), _input(field, ask)]
        if field.hint:
            out.append(_subtle(field.hint, spacing="None"))
    # Teams merges the inputs' values into this data when the button is pressed.
    return out + _action_sets([_submit(question.submit or ask.word("submit"), {KEY: ask.action.encode()}, primary=True)])


def _errors(ask: Ask) -> dict[str, list[dict]]:
    """An attention-coloured line above each rejected field; an error for a key that is not a
    field (a whole-form complaint) goes above the first field."""
    ids = [field.id for field in ask.question.fields]
    lines: dict[str, list[str]] = {}
    for key, message in ask.errors.items():
        lines.setdefault(key if key in ids or not ids else ids[0], []).append(message)
    return {key: [_text("\n\n".join(texts), color="Attention")] for key, texts in lines.items()}


def _input(field: Field, ask: Ask) -> dict:
    kind, initial = field.kind, field.initial
    if kind in (Kind.CHOICE, Kind.SCALE, Kind.MULTI_CHOICE):
        choices = _choices(field, ends=True)
        return _choice_set(field, choices, "expanded" if len(choices) <= EXPANDED else "compact", ask)
    element = _input_base(field, "Input.Date" if kind is Kind.DATE else "Input.Text", ask)
    if kind is Kind.DATE:
        if initial and _is_iso_date(initial):  # Teams wants YYYY-MM-DD; anything else would be dropped
            element["value"] = initial
        return element
    if kind not in (Kind.TEXT, Kind.LONG_TEXT):
        raise ValueError(f"cannot render a {kind} field")
    if kind is Kind.LONG_TEXT:
        element["isMultiline"] = True
    if field.max_length:
        element["maxLength"] = field.max_length
    if initial:
        element["value"] = _cut(initial, field.max_length or TEXT)
    return element


def _input_base(field: Field, kind: str, ask: Ask) -> dict:
    element = {"type": kind, "id": _id(field.id), "label": _cut(field.label or field.id, TEXT),
               "isRequired": field.required}
    if field.required:
        element["errorMessage"] = ask.word("required")  # Teams checks required inputs before submitting
    return element


def _choice_set(field: Field, choices: list[dict], style: str, ask: Ask) -> dict:
    element = _input_base(field, "Input.ChoiceSet", ask)
    element.update(style=style, choices=choices)
    known = [c["value"] for c in choices]
    if field.kind is Kind.MULTI_CHOICE:
        element["isMultiSelect"] = True
        # A multi-select answers "a,b", so a comma inside a value could not be read back.
        if bad := [v for v in known if "," in v]:
            raise ValueError(f"option values of a multi-select cannot contain ',': {bad[0][:40]!r}")
        wanted = {v.strip() for v in (field.initial or "").split(",")}  # initial: comma-separated values
        if chosen := [v for v in known if v in wanted]:
            element["value"] = ",".join(chosen)
    else:
        if style == "compact":  # shown by a single-select dropdown only
            element["placeholder"] = ask.word("choose")
        if field.initial in known:
            element["value"] = field.initial
    return element


def _choices(field: Field, ends: bool) -> list[dict]:
    """Options as Input.Choice dicts; a scale is 1..5, with its end labels when `ends`."""
    if field.kind is Kind.SCALE:
        low, high = field.scale_labels or (None, None)
        labels = {SCALE[0]: low, SCALE[-1]: high} if ends else {}
        return [_choice(f"{n} ({labels[n]})" if labels.get(n) else str(n), str(n)) for n in SCALE]
    return [_choice(o.label or o.value, o.value) for o in field.options]


def _choice(title: str, value: str) -> dict:
    return {"title": _cut(title, TEXT), "value": value}


def _is_iso_date(text: str) -> bool:
    # date.fromisoformat alone would also accept "20260101".
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _id(value: str) -> str:
    if not value or value == KEY:
        raise ValueError(f"{value!r} cannot be a field id: Teams merges inputs and {KEY!r} into one object")
    return value


def _answer(field: Field, raw: object) -> str:
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    shown = [field.option_label(str(v)) for v in items if v is not None and str(v).strip()]
    return ", ".join(shown) or EMPTY


# -- card elements ---------------------------------------------------------------------


def _card(body: list[dict]) -> dict:
    # "msteams" is a Teams host extension; the published schema does not list it.
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "msteams": {"width": "Full"},
            "body": body}


def _text(text: str, **style: str) -> dict:
    return {"type": "TextBlock", "text": _cut(markdown(text), TEXT), "wrap": True, **style}


def _subtle(text: str, **style: str) -> dict:
    return _text(text, isSubtle=True, size="Small", **style)


def _title(text: str) -> list[dict]:
    return [_text(text, weight="Bolder", size="Medium")] if text.strip() else []


def _fact(title: str, value: str) -> dict:
    return {"title": _cut(markdown(title), TEXT), "value": _cut(markdown(value), TEXT)}


def _submit(title: str, data: dict, primary: bool = False, inputs: bool = True) -> dict:
    action = {"type": "Action.Submit", "title": _cut(title, ACTION_TITLE), "data": data}
    if primary:
        action["style"] = "positive"
    if not inputs:
        action["associatedInputs"] = "None"
    return action


def _action_sets(actions: list[dict]) -> list[dict | None]:
    return [{"type": "ActionSet", "actions": actions[i : i + ACTION_SET]} for i in range(0, len(actions), ACTION_SET)]


# -- text and size ---------------------------------------------------------------------

_BOLD = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")


def markdown(text: str) -> str:
    """Our subset to Teams markdown: *bold* -> **bold**; _italic_ and "- " bullet lines are
    already Teams markdown. A link `[label](url)` becomes plain text: "](" -> "] ("."""
    return _BOLD.sub(r"**\1**", text).replace("](", "] (")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _size(data: object) -> int:
    # ensure_ascii escapes every non-ASCII character, so this bounds the UTF-8 size from above.
    return len(json.dumps(data))


def _flat(elements: Sequence[dict | None]) -> list[dict]:
    out, line = [], False
    for element in elements:
        if element is None:
            line = True
        else:
            out.append({**element, "separator": True} if line else element)
            line = False
    return out  # a divider at the very end has nothing to draw on and is dropped


def _fit(groups: list[list[dict | None]], tail: list[dict | None], reply: Reply) -> dict:
    """The whole card if it fits BUDGET; else as many leading display blocks as fit, a pointer
    to the rest, and the question whole (it must stay answerable)."""
    whole = _card(_flat([e for group in groups for e in group] + tail))
    if _size(whole) <= BUDGET or not groups:  # a question alone is sent whole: it must stay answerable
        return whole

    def build(keep: int) -> dict:
        dropped = sum(1 for group in groups[keep:] if any(e is not None for e in group))
        head = [e for group in groups[:keep] for e in group]
        return _card(_flat(head + [_subtle(reply.word("more_not_shown", n=dropped))] + tail))

    low, high = 0, len(groups) - 1  # the largest `keep` that fits; 0 when even the question alone is over
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if _size(build(mid)) <= BUDGET else (low, mid - 1)
    return build(low)
