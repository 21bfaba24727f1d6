"""Pure functions that turn Slack payloads into neutral events and say where replies go.

A member has one conversation with the bot across Slack (their DM, the slash command in
any channel, a modal), so a flow started with `/cocreate story` in a channel can be
answered in the DM. The channel a request came from travels in `extra` so the engine can
tell which coalition's channel it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.types import ActionRef, ConversationRef, Interaction, Message

PLATFORM = "slack"
FORM_CALLBACK = "cocreate_form"


@dataclass
class Origin:
    """Where a request came from, and so where its replies go."""

    user: str
    channel: str  # where to post: the command's channel for ephemerals, else the user's DM
    trigger_id: str | None = None  # lets us open one modal, within 3 s of the click
    response_url: str | None = None  # ephemeral replies to a command or a click
    replace: bool = False  # a click on a message: the first reply replaces that message
    meta: dict[str, str] = field(default_factory=dict)  # carried in a modal's private_metadata


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict):
        return team.get("id") or ""
    user = body.get("user")
    return body.get("team_id") or team or (user.get("team_id") if isinstance(user, dict) else None) or ""


def conversation(team: str, user: str, channel: str | None, user_team: str | None = None,
                 name: str | None = None) -> ConversationRef:
    extra: dict[str, Any] = {}
    if channel:
        extra["channel"] = channel
    if user_team:
        extra["user_team"] = user_team  # differs from `team` for Slack Connect members
    if name:
        extra["name"] = name
    return ConversationRef(PLATFORM, team, user, user, extra=extra)


def missing(body: dict[str, Any]) -> str | None:
    """What a signed request lacks that every request of its kind carries (who sent it), or
    None: such a request is refused, never half-handled."""
    if "command" in body:
        return None if body.get("user_id") else "user_id"
    if body.get("type") in ("block_actions", "view_submission", "view_closed"):
        return None if isinstance(body.get("user"), dict) and body["user"].get("id") else "user.id"
    return None


# --- Slack's escaped text ------------------------------------------------------------------
# Message text (and slash command text, with should_escape) comes as Slack formats it:
# `&`, `<`, `>` as entities, and mentions, channels and links in angle brackets.
_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}


def unescape(text: str, mention: Callable[[str, str], str] | None = None) -> str:
    """What the member typed: `<@U1|ann>` as `mention(user id, name)` (default "@ann"),
    `<#C1|general>` as "#general", `<mailto:a@b.dk|a@b.dk>` and `<https://x|x>` as the address,
    a labelled link as "label (address)", `<!here>` as "@here", then the entities."""

    def token(match: re.Match[str]) -> str:
        inner, _, label = match[1].partition("|")
        if inner.startswith("@"):
            user = inner[1:]
            return mention(user, label) if mention else f"@{label or user}"
        if inner.startswith("#"):
            return f"#{label or inner[1:]}"
        if inner.startswith("!"):
            return f"@{label or inner[1:].split('^')[0]}"
        address = inner[len("mailto:"):] if inner.startswith("mailto:") else inner
        return address if not label or label in (inner, address) else f"{label} ({address})"

    return re.sub("&(lt|gt|amp);", lambda m: _ENTITIES[m[0]], _TOKEN.sub(token, text))


def mentioned(text: str) -> list[str]:
    """The user ids mentioned in Slack-escaped text, in order."""
    return [m[1][1:].partition("|")[0] for m in _TOKEN.finditer(text) if m[1].startswith("@")]


def from_command(body: dict[str, Any], mention: Callable[[str, str], str] | None = None) -> tuple[Message, Origin]:
    """`/cocreate story` -> Message("story", command=True). An empty command means help.
    `mention`: what a mentioned user becomes in the text (see `unescape`)."""
    team, user, channel = team_of(body), body["user_id"], body.get("channel_id")
    ref = conversation(team, user, channel, body.get("user_team_id"), body.get("user_name"))
    text = unescape((body.get("text") or "").strip(), mention) or "help"
    origin = Origin(user, channel or user, body.get("trigger_id"), body.get("response_url"))
    # Slack does not retry slash commands; the trigger id is unique per invocation.
    return Message(ref, f"slack:cmd:{team}:{body.get('trigger_id')}", text, command=True), origin


def _interaction_ref(body: dict[str, Any], channel: str | None) -> ConversationRef:
    user = body["user"]
    return conversation(team_of(body), user["id"], channel, user.get("team_id"),
                        user.get("username") or user.get("name"))


def action_origin(body: dict[str, Any]) -> Origin:
    channel = (body.get("channel") or {}).get("id")
    user = body["user"]["id"]
    return Origin(user, channel or user, body.get("trigger_id"), body.get("response_url"), replace=True,
                  meta={"c": channel} if channel else {})


def from_answer(body: dict[str, Any], action: dict[str, Any], ref_action: ActionRef,
                field_id: str, value: str) -> tuple[Interaction, Origin]:
    origin = action_origin(body)
    ref = _interaction_ref(body, origin.meta.get("c"))
    event_id = f"slack:act:{team_of(body)}:{body['user']['id']}:{action.get('action_ts')}"
    return Interaction(ref, event_id, ref_action, {field_id: value}), origin


def from_button_command(body: dict[str, Any], command: str) -> tuple[Message, Origin]:
    origin = action_origin(body)
    ref = _interaction_ref(body, origin.meta.get("c"))
    action_ts = body["actions"][0].get("action_ts")
    return Message(ref, f"slack:btn:{team_of(body)}:{origin.user}:{action_ts}", command, command=True), origin


def form_metadata(view: dict[str, Any]) -> dict[str, str]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def from_submission(body: dict[str, Any], values: dict[str, Any]) -> tuple[Interaction, Origin]:
    """A modal submitted. A retried delivery of the same submission has the same view hash."""
    view = body["view"]
    meta = form_metadata(view)
    channel = meta.get("c")
    ref = _interaction_ref(body, channel)
    user = body["user"]["id"]
    event_id = f"slack:view:{team_of(body)}:{view.get('id')}:{view.get('hash')}"
    origin = Origin(user, user, meta=meta)  # confirmations after a modal go to the DM
    return Interaction(ref, event_id, ActionRef.decode(meta["a"]), values), origin


def from_dm(body: dict[str, Any], event: dict[str, Any]) -> tuple[Message, Origin] | None:
    """A member typing in their DM with the bot; None for anything else (edits, bots, channels)."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return None
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel:
        return None
    ref = conversation(team_of(body), user, channel, event.get("user_team"))
    return Message(ref, f"slack:ev:{body.get('event_id')}", unescape(event.get("text") or "")), Origin(user, channel)
