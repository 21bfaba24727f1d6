"""Neutral replies as JSON and back, so a member's web conversation can be stored and drawn
again on every page view (in the language it was said in, like any chat message).

The chrome (the words around a reply: buttons, hints) is not stored with every message; the
page draws it in the member's language of the day."""

from __future__ import annotations

from typing import Any, Mapping

from bot.types import ActionRef
from bot.ui import Ask, Block, Button, Buttons, Context, Divider, Field, Kind, Option, Question, Reply, Section, Text


def dump(reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = {"blocks": [_block(b) for b in reply.blocks]}
    if reply.ask is not None:
        body["ask"] = _ask(reply.ask)
    return body


def load(body: Mapping[str, Any], chrome: Mapping[str, str] | None = None) -> Reply:
    ask = body.get("ask")
    chrome = dict(chrome or {})
    return Reply(blocks=tuple(_unblock(b) for b in body.get("blocks", ())),
                 ask=_unask(ask, chrome) if ask else None, chrome=chrome)


def _block(block: Block) -> dict[str, Any]:
    match block:
        case Text(text):
            return {"t": "text", "text": text}
        case Section(text, fields):
            return {"t": "section", "text": text, "fields": [list(f) for f in fields]}
        case Context(text):
            return {"t": "context", "text": text}
        case Divider():
            return {"t": "divider"}
        case Buttons(buttons):
            return {"t": "buttons", "buttons": [[b.label, b.command, b.primary] for b in buttons]}
    raise TypeError(f"cannot store {block!r}")


def _unblock(data: Mapping[str, Any]) -> Block:
    kind = data["t"]
    if kind == "text":
        return Text(data["text"])
    if kind == "section":
        return Section(data["text"], tuple(tuple(f) for f in data.get("fields", ())))
    if kind == "context":
        return Context(data["text"])
    if kind == "divider":
        return Divider()
    return Buttons(tuple(Button(label, command, bool(primary)) for label, command, primary in data["buttons"]))


def _ask(ask: Ask) -> dict[str, Any]:
    q = ask.question
    return {
        "title": q.title, "submit": q.submit, "intro": [_block(b) for b in q.intro],
        "fields": [_field(f) for f in q.fields], "action": ask.action.encode(),
        "errors": dict(ask.errors), "index": ask.field_index,
    }


def _unask(data: Mapping[str, Any], chrome: Mapping[str, str]) -> Ask:
    question = Question(data["title"], tuple(_unfield(f) for f in data["fields"]),
                        tuple(_unblock(b) for b in data.get("intro", ())), data.get("submit"))
    return Ask(question, ActionRef.decode(data["action"]), dict(data.get("errors") or {}),
               data.get("index"), dict(chrome))


def _field(f: Field) -> dict[str, Any]:
    return {"id": f.id, "label": f.label, "kind": f.kind.value, "required": f.required,
            "options": [[o.value, o.label] for o in f.options], "max_length": f.max_length,
            "hint": f.hint, "initial": f.initial, "scale_labels": list(f.scale_labels) if f.scale_labels else None}


def _unfield(d: Mapping[str, Any]) -> Field:
    return Field(d["id"], d["label"], Kind(d["kind"]), d["required"], tuple(Option(v, l) for v, l in d["options"]),
                 d.get("max_length"), d.get("hint"), d.get("initial"),
                 tuple(d["scale_labels"]) if d.get("scale_labels") else None)
