"""Build and send Slack's requests to the bot, signed, over real HTTP.

    sender = SlackSender(secret=SIGNING_SECRET)
    status, text = await sender.post(bot_url, slash_command("start", response_url=slack.response_url("r1")))
    status, text = await sender.post(bot_url, event(dm_message("hi")), retry_num=1)   # a Slack retry
    status, _ = sender.post_sync(bot_url, view_submission("cb", state_values={...}), forge=True)  # 401

Builders return a `SlackRequest` (body bytes, content type, decoded payload) whose shapes follow
Slack's documented payloads: slash commands and interactivity are form-encoded (interactivity
as `payload=<json>`), events are a JSON `event_callback` envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.fakes.sender import Sender

__all__ = [
    "FORM", "JSON", "SlackRequest", "SlackSender", "app_home_opened", "app_uninstalled",
    "block_action", "dm_message", "event", "plain_text", "selected", "sign", "slash_command",
    "tokens_revoked", "url_verification", "view_submission",
]  # fmt: skip

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
APP_ID = "A_TEST"
VERIFICATION_TOKEN = "verification-token-deprecated"
SLACKBOT_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/commands/T_TEST/1/fake"  # pass slack.response_url(...)

_counter = itertools.count(1)


def _trigger_id() -> str:
    return f"{int(time.time())}.{next(_counter)}.{uuid.uuid4().hex}"


def _ts() -> str:
    return f"{time.time():.6f}"


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`)."""
    body = body.encode() if isinstance(body, str) else body
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SlackRequest:
    body: bytes
    content_type: str
    payload: dict[str, Any]  # form fields, the interactivity payload, or the event envelope


Body = SlackRequest | bytes | str


def _form(fields: dict[str, Any]) -> SlackRequest:
    return SlackRequest(urlencode(fields).encode(), FORM, fields)


def _interactive(payload: dict[str, Any]) -> SlackRequest:
    return SlackRequest(urlencode({"payload": json.dumps(payload)}).encode(), FORM, payload)


def _user(user: str, team: str, user_team: str | None) -> dict[str, Any]:
    # Slack Connect users may belong to another team than the workspace (user.team_id).
    name = user.lower()
    return {"id": user, "username": name, "name": name, "team_id": user_team or team}


# ---------------------------------------------------------------- slash commands & interactivity


def slash_command(
    text: str = "",
    user: str = "U_MO",
    team: str = "T_TEST",
    channel: str = "C_GENERAL",
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    command: str = "/cocreate",
    channel_name: str = "general",
) -> SlackRequest:
    return _form({
        "token": VERIFICATION_TOKEN, "team_id": team, "team_domain": team.lower(),
        "channel_id": channel, "channel_name": channel_name, "user_id": user, "user_name": user.lower(),
        "command": command, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id or _trigger_id(),
    })  # fmt: skip


def block_action(
    action_id: str,
    value: str | None = None,
    user: str = "U_MO",
    team: str = "T_TEST",
    channel: str = "C_GENERAL",
    message_ts: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
    container: dict[str, Any] | None = None,
    *,
    block_id: str = "actions",
    action: dict[str, Any] | None = None,  # extra action fields, e.g. type/selected_option
    view: dict[str, Any] | None = None,  # set for actions inside a modal or App Home
    message: dict[str, Any] | None = None,
    user_team: str | None = None,
    state_values: dict[str, Any] | None = None,
) -> SlackRequest:
    """A `block_actions` payload: a button (by default) clicked in a message, or in `view`."""
    act = {"type": "button", "action_id": action_id, "block_id": block_id,
           "text": {"type": "plain_text", "text": action_id, "emoji": True}, "action_ts": _ts()}  # fmt: skip
    if value is not None:
        act["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions", "user": _user(user, team, user_team), "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN, "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team, "domain": team.lower()}, "enterprise": None, "is_enterprise_install": False,
        "state": {"values": state_values or {}}, "actions": [act | (action or {})],
    }  # fmt: skip
    if view is not None:
        payload["container"] = container or {"type": "view", "view_id": view.get("id", "V_TEST")}
        payload["view"] = view
        return _interactive(payload)
    ts = message_ts or _ts()
    payload["container"] = container or {
        "type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
    payload["channel"] = {"id": channel, "name": "general" if channel.startswith("C") else "directmessage"}
    payload["message"] = message or {
        "type": "message", "user": "U_BOT", "bot_id": "B_BOT", "app_id": APP_ID, "team": team,
        "text": "", "ts": ts, "blocks": []}  # fmt: skip
    payload["response_url"] = response_url
    return _interactive(payload)


def view_submission(
    callback_id: str,
    private_metadata: str = "",
    state_values: dict[str, Any] | None = None,
    user: str = "U_MO",
    team: str = "T_TEST",
    view_id: str = "V_TEST",
    view_hash: str = "1700000000.abcdef12",
    *,
    blocks: list[dict[str, Any]] | None = None,
    user_team: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
) -> SlackRequest:
    """A modal's `view_submission`; `state_values` is `{block_id: {action_id: {...}}}`
    (see `plain_text` and `selected`)."""
    return _interactive({
        "type": "view_submission", "team": {"id": team, "domain": team.lower()},
        "user": _user(user, team, user_team), "api_app_id": APP_ID, "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(), "enterprise": None, "is_enterprise_install": False,
        "view": {
            "id": view_id, "team_id": team, "type": "modal", "blocks": blocks or [],
            "private_metadata": private_metadata, "callback_id": callback_id,
            "state": {"values": state_values or {}}, "hash": view_hash,
            "title": {"type": "plain_text", "text": "Cocreate", "emoji": True},
            "clear_on_close": False, "notify_on_close": False, "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None, "root_view_id": view_id, "app_id": APP_ID, "external_id": "",
            "app_installed_team_id": team, "bot_id": "B_BOT",
        },
        "response_urls": response_urls or [],
    })  # fmt: skip


def plain_text(value: str | None) -> dict[str, Any]:
    """A `plain_text_input` element's entry in `state.values`."""
    return {"type": "plain_text_input", "value": value}


def selected(value: str, text: str | None = None) -> dict[str, Any]:
    """A `static_select` element's entry in `state.values`."""
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


# ---------------------------------------------------------------- Events API


def event(
    event: dict[str, Any],
    event_id: str | None = None,
    team: str = "T_TEST",
    *,
    event_time: int | None = None,
    bot_user: str = "U_BOT",
) -> SlackRequest:
    """Wrap an event in Slack's `event_callback` envelope (JSON body)."""
    envelope = {
        "token": VERIFICATION_TOKEN, "team_id": team, "context_team_id": team,
        "context_enterprise_id": None, "api_app_id": APP_ID, "event": event, "type": "event_callback",
        "event_id": event_id or f"Ev{next(_counter):010d}", "event_time": event_time or int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": bot_user,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": f"4-{uuid.uuid4().hex}",
    }  # fmt: skip
    return SlackRequest(json.dumps(envelope).encode(), JSON, envelope)


def url_verification(challenge: str = "challenge-token") -> SlackRequest:
    payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return SlackRequest(json.dumps(payload).encode(), JSON, payload)


def dm_message(
    text: str, user: str = "U_MO", channel: str = "D_MO", ts: str | None = None, team: str = "T_TEST"
) -> dict[str, Any]:
    """A `message.im` event: the user wrote to the bot in its DM."""
    ts = ts or _ts()
    rich_text = {"type": "rich_text", "block_id": "rt", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}  # fmt: skip
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
            "ts": ts, "event_ts": ts, "team": team, "client_msg_id": str(uuid.uuid4()),
            "blocks": [rich_text]}  # fmt: skip


def app_home_opened(user: str = "U_MO", channel: str = "D_MO", tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab, "event_ts": _ts()}


def app_uninstalled() -> dict[str, Any]:
    return {"type": "app_uninstalled", "event_ts": _ts()}


def tokens_revoked(bot_ids: Sequence[str] = ("U_BOT",), user_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Slack lists the *user* ids whose tokens were revoked (for bots, the bot user id)."""
    tokens = {"oauth": list(user_ids), "bot": list(bot_ids)}
    return {"type": "tokens_revoked", "tokens": tokens, "event_ts": _ts()}


# ---------------------------------------------------------------- sending


class SlackSender(Sender):
    """POSTs signed requests to `{base_url}{path}` like Slack does; returns `(status, text)`.

    Use as `async with SlackSender(...)` to reuse one connection pool; otherwise each `post`
    opens and closes its own session. `post_sync` uses urllib (for sync tests).
    """

    def __init__(self, secret: str | None = None, path: str = "/slack/events", timeout: float = 10.0) -> None:
        self.secret, self.path, self.timeout = secret, path, timeout

    def prepare(
        self,
        base_url: str,
        body: Body,
        content_type: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        forge: bool = False,
        stale: bool = False,
        signed: bool = True,
    ) -> tuple[str, bytes, dict[str, str]]:
        """URL, body and headers of the request `post` would send.

        `forge` signs with a wrong secret, `stale` back-dates the timestamp by 6 minutes,
        `signed=False` sends no signature; `retry_num` adds Slack's retry headers."""
        if isinstance(body, SlackRequest):
            content_type = content_type or body.content_type
            body = body.body
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type or FORM, "User-Agent": SLACKBOT_AGENT}
        if signed:
            secret = secret or self.secret
            if secret is None:
                raise ValueError("no signing secret")
            if stale:  # Bolt rejects timestamps older than 5 minutes
                timestamp = (timestamp or int(time.time())) - 6 * 60
            all_headers |= sign(data, "forged-" + secret if forge else secret, timestamp)
        if retry_num is not None:
            all_headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return base_url.rstrip("/") + self.path, data, all_headers | (headers or {})

    async def post(
        self,
        base_url: str,
        body: Body,
        content_type: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,  # retry_num, retry_reason, forge, stale, signed: see `prepare`
    ) -> tuple[int, str]:
        url, data, headers = self.prepare(base_url, body, content_type, secret, timestamp, headers, **options)
        return await self._post(url, data, headers)

    def post_sync(
        self,
        base_url: str,
        body: Body,
        content_type: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> tuple[int, str]:
        """Like `post`, with urllib (blocking)."""
        url, data, headers = self.prepare(base_url, body, content_type, secret, timestamp, headers, **options)
        return self._post_sync(url, data, headers)
