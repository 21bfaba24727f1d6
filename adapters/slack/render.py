"""Render neutral replies as Slack Block Kit JSON. Pure functions: plain dicts out, no I/O.

- `message(reply)`: body for chat.postMessage / response_url (`text` fallback + `blocks`).
- `modal(ask, metadata)`: a `views.open` modal with one input block per field.
- `view_values(state_values)`: a view_submission's `view.state.values` -> {field id: value}.
- `form_errors(ask)`: the `response_action: errors` answer to a rejected submission.
- `home(blocks, ask)`: an App Home view for `views.publish`.
- `parse_answer_value(value)`: the inverse of an inline answer button's value.

Slack refuses a whole message over one limit, so every limit is enforced here: display text
is cut with "…" or split into more blocks, and surplus blocks are replaced by a pointer.
Ids and values are never cut (the answer would no longer round-trip): one over its limit
raises ValueError, a bug in the flow that defines it.

User-typed text reaches Slack inside mrkdwn, so `&`, `<`, `>` are escaped (no `<@U…>`
mentions, `<!channel>` or `<url|label>` links) and mrkdwn objects are `verbatim`, which
stops Slack from auto-linking bare URLs and #channel names.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Mapping, Sequence

from bot.types import ActionRef
from bot.ui import SCALE, Ask, Block, Buttons, Context, Divider, Field, Kind, Reply, Section, Text

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modal and home
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
CONTEXT_TEXT = 2000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
LABEL = 2000  # input label, hint, and each form error
VIEW_TEXT = 24  # modal title, submit, close
ID = 255
METADATA = 3000
FALLBACK = 3000
INPUT_LENGTH = 3000  # plain_text_input max_length

INLINE_BUTTONS = 5  # more choices than this become a select menu in a message
RADIO_OPTIONS = 10  # Slack's maximum for radio_buttons and checkboxes
CALLBACK_ID = "cocreate_form"
ELLIPSIS = "…"


# -- public API ------------------------------------------------------------------------


def message(reply: Reply) -> dict:
    head, tail = render_blocks(reply.blocks), []
    if reply.ask is not None:
        head += render_blocks(reply.ask.question.intro)
        tail = _question(reply.ask)
    return {"text": _fallback(reply), "blocks": _fit(head, tail, MESSAGE_BLOCKS, reply)}


def home(reply: Reply) -> dict:
    head, tail = render_blocks(reply.blocks), []
    if reply.ask is not None:
        head += render_blocks(reply.ask.question.intro)
        tail = _question(reply.ask)
    # A view needs at least one block.
    return {"type": "home", "blocks": _fit(head, tail, VIEW_BLOCKS, reply) or [_context(reply.word("empty_home"))]}


def modal(ask: Ask, metadata: Mapping[str, Any]) -> dict:
    """The form for `ask`; `private_metadata` carries the ActionRef ("a") and `metadata`.

    If the JSON would pass Slack's 3000 characters, only "a" is kept: the adapter must cope
    without its extra keys (e.g. look the conversation up again from the submitting user).
    """
    question = ask.question
    inputs = [_input(field, ask) for field in question.fields]
    intro = render_blocks(question.intro)[: max(0, VIEW_BLOCKS - len(inputs))]  # inputs come first
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain(question.title or ask.word("title"), VIEW_TEXT),
        "submit": _plain(question.submit or ask.word("submit"), VIEW_TEXT),
        "close": _plain(ask.word("cancel"), VIEW_TEXT),
        "private_metadata": _metadata(ask.action, metadata),
        "blocks": (intro + inputs)[:VIEW_BLOCKS],
    }


def view_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, object]:
    """{block_id: {action_id: state}} -> {field id: value}; element types we never render are skipped."""
    values: dict[str, object] = {}
    for block_id, actions in state_values.items():
        for state in actions.values():
            kind = state.get("type")
            if kind == "plain_text_input":
                values[block_id] = state.get("value") or None
            elif kind in ("radio_buttons", "static_select"):
                values[block_id] = (state.get("selected_option") or {}).get("value")
            elif kind in ("checkboxes", "multi_static_select"):
                values[block_id] = [o["value"] for o in state.get("selected_options") or ()]
            elif kind == "datepicker":
                values[block_id] = state.get("selected_date")
    return values


def form_errors(ask: Ask) -> dict:
    """Errors shown under each input. Slack rejects errors for unknown block ids, so a
    message for a key that is not a field is shown under the first field instead."""
    ids = [field.id for field in ask.question.fields]
    errors: dict[str, str] = {}
    for key, text in ask.errors.items():
        at = key if key in ids else ids[0]
        errors[at] = f"{errors[at]}\n{text}" if at in errors else text
    return {"response_action": "errors", "errors": {k: _cut(v, LABEL) for k, v in errors.items()}}


def answer_value(action: ActionRef, field_id: str, value: str) -> str:
    return f"{action.encode()}|{field_id}|{value}"


def parse_answer_value(value: str) -> tuple[ActionRef, str, str]:
    action, field_id, option = value.split("|", 2)  # an option value may itself contain "|"
    return ActionRef.decode(action), field_id, option


# -- display blocks --------------------------------------------------------------------


def render_blocks(blocks: Sequence[Block]) -> list[dict]:
    return [out for block in blocks for out in _block(block)]


def _block(block: Block) -> list[dict]:
    if isinstance(block, Text):
        return [_section(chunk) for chunk in split_text(escape(block.text), SECTION_TEXT)]
    if isinstance(block, Section):
        return _sections(block)
    if isinstance(block, Context):
        return [_context(block.text)] if block.text.strip() else []
    if isinstance(block, Divider):
        return [{"type": "divider"}]
    if isinstance(block, Buttons):
        return _command_buttons(block)
    raise TypeError(f"cannot render {block!r}")


def _sections(block: Section) -> list[dict]:
    title = escape(block.text.strip())
    if title and not (title.startswith("*") and title.endswith("*")):  # flows may bold it already
        title = f"*{title}*"
    fields = [_mrkdwn(_cut(f"*{escape(label)}*\n{escape(value)}", FIELD_TEXT)) for label, value in block.fields]
    out = []
    for start in range(0, len(fields), SECTION_FIELDS):
        out.append({"type": "section", "fields": fields[start : start + SECTION_FIELDS]})
    if title:
        if not out:
            out.append({"type": "section"})
        out[0] = {"type": "section", "text": _mrkdwn(_cut(title, SECTION_TEXT)), **out[0]}
    return out


def _command_buttons(block: Buttons) -> list[dict]:
    first_primary = next((i for i, b in enumerate(block.buttons) if b.primary), None)
    elements = [
        _button(b.label or b.command, f"command_{i}", b.command, primary=i == first_primary)
        for i, b in enumerate(block.buttons)
    ]
    return _actions(elements)


# -- the question in a message or home tab ---------------------------------------------


def _question(ask: Ask) -> list[dict]:
    """The blocks after the intro: inline answers for one choice or scale, else an Answer button."""
    question = ask.question
    field = question.fields[0] if len(question.fields) == 1 else None
    inline = _inline_answers(ask, field) if field and field.kind in (Kind.CHOICE, Kind.SCALE) else None
    if inline is not None:
        return [_section(_cut(escape(field.label or question.title), SECTION_TEXT)), *_errors(ask), *inline]
    text = f"*{escape(question.title)}*" + (f"\n{escape(field.label)}" if field else "")
    out = [_section(_cut(text, SECTION_TEXT)), *_errors(ask)]
    out += _actions([_button(ask.word("answer"), "open_form", ask.action.encode(), primary=True)])
    if field and field.kind in (Kind.TEXT, Kind.LONG_TEXT):
        out.append(_context(ask.word("reply_here")))
    return out


def _inline_answers(ask: Ask, field: Field) -> list[dict] | None:
    """Buttons (or a select) answering `field` in one click; None when they cannot carry the
    answer (no options, or a value over Slack's limit), so the caller offers the form."""
    scale = field.kind is Kind.SCALE
    choices = [(str(n), str(n)) for n in SCALE] if scale else [(o.value, o.label) for o in field.options]
    select = len(choices) > INLINE_BUTTONS
    values = [answer_value(ask.action, field.id, value) for value, _ in choices]
    if not choices or any(len(v) > (OPTION_VALUE if select else BUTTON_VALUE) for v in values):
        return None
    if select:
        options = [_option(label, value) for (_, label), value in zip(choices, values)][:SELECT_OPTIONS]
        menu = {"type": "static_select", "action_id": "answer_select", "placeholder": _plain(ask.word("choose"), 150),
                "options": options}
        return [{"type": "actions", "elements": [menu]}]
    buttons = [_button(label, f"answer_{i}", v) for i, ((_, label), v) in enumerate(zip(choices, values))]
    out = _actions(buttons)
    if scale and field.scale_labels:
        low, high = field.scale_labels
        out.append(_context(ask.word("scale_ends", low=low, high=high)))
    return out


def _errors(ask: Ask) -> list[dict]:
    """One context line per rejected field; with several fields, say which one."""
    fields = ask.question.fields
    lines = [
        f":warning: {escape(field.label) + ': ' if len(fields) > 1 else ''}{escape(ask.errors[field.id])}"
        for field in fields
        if field.id in ask.errors
    ]
    return [{"type": "context", "elements": [_mrkdwn(_cut("\n".join(lines), CONTEXT_TEXT))]}] if lines else []


# -- modal inputs ----------------------------------------------------------------------


def _input(field: Field, ask: Ask) -> dict:
    block = {
        "type": "input",
        "block_id": _id(field.id),
        "label": _plain(field.label or field.id, LABEL),
        "optional": not field.required,
        "element": _element(field, ask),
    }
    if field.hint:
        block["hint"] = _plain(field.hint, LABEL)
    return block


def _element(field: Field, ask: Ask) -> dict:
    element: dict[str, Any] = {"action_id": _id(field.id)}
    kind, initial = field.kind, field.initial
    if kind in (Kind.TEXT, Kind.LONG_TEXT):
        element["type"] = "plain_text_input"
        if kind is Kind.LONG_TEXT:
            element["multiline"] = True
        limit = min(field.max_length or INPUT_LENGTH, INPUT_LENGTH)
        if field.max_length:
            element["max_length"] = limit
        if initial:
            element["initial_value"] = _cut(initial, limit)
    elif kind is Kind.DATE:
        element["type"] = "datepicker"
        if initial and _is_iso_date(initial):
            element["initial_date"] = initial
    elif kind in (Kind.CHOICE, Kind.SCALE):
        options = _field_options(field)
        element["type"] = "radio_buttons" if len(options) <= RADIO_OPTIONS else "static_select"
        if element["type"] == "static_select":
            element["placeholder"] = _plain(ask.word("choose"), 150)
        element["options"] = options[:SELECT_OPTIONS]
        chosen = [o for o in element["options"] if o["value"] == initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif kind is Kind.MULTI_CHOICE:
        options = _field_options(field)
        element["type"] = "checkboxes" if len(options) <= RADIO_OPTIONS else "multi_static_select"
        if element["type"] == "multi_static_select":
            element["placeholder"] = _plain(ask.word("choose"), 150)
        element["options"] = options[:SELECT_OPTIONS]
        wanted = {v.strip() for v in (initial or "").split(",")}  # initial: comma-separated values
        chosen = [o for o in element["options"] if o["value"] in wanted]
        if chosen:
            element["initial_options"] = chosen
    else:
        raise ValueError(f"cannot render a {kind} field")
    return element


def _field_options(field: Field) -> list[dict]:
    if field.kind is Kind.SCALE:
        low, high = field.scale_labels or (None, None)
        ends = {SCALE[0]: low, SCALE[-1]: high}
        return [_option(f"{n} ({ends[n]})" if ends.get(n) else str(n), str(n)) for n in SCALE]
    return [_option(o.label or o.value, o.value) for o in field.options]


def _is_iso_date(text: str) -> bool:
    # date.fromisoformat alone would also accept "20260101"; Slack wants YYYY-MM-DD.
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _metadata(action: ActionRef, metadata: Mapping[str, Any]) -> str:
    data = {"a": action.encode(), **{k: v for k, v in metadata.items() if k != "a"}}
    raw = json.dumps(data, separators=(",", ":"))  # ASCII-only, so characters == bytes
    return raw if len(raw) <= METADATA else json.dumps({"a": data["a"]}, separators=(",", ":"))


# -- Slack objects ---------------------------------------------------------------------


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


def _mrkdwn(text: str) -> dict:
    """`text` must already be escaped and within its limit."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(_cut(escape(text), CONTEXT_TEXT))]}


def _button(text: str, action_id: str, value: str, primary: bool = False) -> dict:
    button = {"type": "button", "action_id": _id(action_id), "text": _plain(text, BUTTON_TEXT),
              "value": _checked(value, BUTTON_VALUE, "button value")}
    if primary:
        button["style"] = "primary"
    return button


def _actions(elements: list[dict]) -> list[dict]:
    return [{"type": "actions", "elements": elements[i : i + ACTIONS_ELEMENTS]}
            for i in range(0, len(elements), ACTIONS_ELEMENTS)]


def _option(text: str, value: str) -> dict:
    return {"text": _plain(text, OPTION_TEXT), "value": _checked(value, OPTION_VALUE, "option value")}


def _id(value: str) -> str:
    return _checked(value, ID, "id")


def _checked(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise ValueError(f"Slack allows at most {limit} characters for a {what}: {value[:40]!r}…")
    return value


# -- text ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters; the rest of our markup (*bold*, _italic_, `code`,
    "- " bullets) is already mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, broken at a paragraph, else a line, else a word;
    mid-word only for a word longer than `limit`. The whitespace at each break is dropped."""
    chunks, text = [], text.strip()
    while len(text) > limit:
        at = _break(text, limit)
        chunks.append(text[:at].rstrip())
        text = text[at:].lstrip()
    return chunks + [text] if text else chunks


def _break(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, limit + len(separator))
        if at > 0:
            return at
    return _hard_break(text, limit)


def _hard_break(text: str, at: int) -> int:
    """`at`, or earlier so that an escaped entity (&amp; &lt; &gt;) is not cut in half."""
    amp = text.rfind("&", max(0, at - 4), at)
    return amp if amp > 0 and ";" not in text[amp:at] else at


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: _hard_break(text, limit - 1)].rstrip() + ELLIPSIS


def _fit(head: list[dict], tail: list[dict], limit: int, reply: Reply) -> list[dict]:
    """At most `limit` blocks. The question (`tail`) stays whole so it can still be answered;
    surplus display blocks give way to a pointer saying how many were left out."""
    if len(head) + len(tail) <= limit:
        return head + tail
    keep = max(0, limit - 1 - len(tail))
    return (head[:keep] + [_context(reply.word("more_not_shown_slack", n=len(head) - keep))] + tail)[:limit]


def _fallback(reply: Reply) -> str:
    """The notification / screen-reader text: every line of the reply, as plain as mrkdwn gets."""
    lines: list[str] = []

    def add(blocks: Sequence[Block]) -> None:
        for block in blocks:
            if isinstance(block, (Text, Context)):
                lines.append(block.text)
            elif isinstance(block, Section):
                lines.append(block.text)
                lines.extend(f"{label}: {value}" for label, value in block.fields)

    add(reply.blocks)
    if reply.ask is not None:
        question = reply.ask.question
        add(question.intro)
        lines.append(question.fields[0].label if len(question.fields) == 1 else question.title)
    return _cut(escape("\n".join(line for line in lines if line.strip())), FALLBACK)
