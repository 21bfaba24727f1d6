"""Build and send Teams' activities to the bot, over real HTTP, with or without a Bot Framework JWT.

    activity = message("hi", service_url=teams.url)                          # personal chat
    activity = message("start", conversation_type="channel", mentions_bot=True, service_url=teams.url)
    async with TeamsSender(connector=teams, app_id=APP_ID) as sender:        # signs with teams' key
        status, text = await sender.post(bot_url, activity)
        status, _ = await sender.post(bot_url, activity, forge="signature")   # expect a refusal
    status, _ = TeamsSender().post_sync(bot_url, card_submit({"choice": "a"}, reply_to_id="1700..."))

Shapes follow Microsoft's documented Teams payloads (msteams-docs: conversation messages,
conversation events, installationUpdate): ids like `29:...` (users), `28:<app id>` (the bot),
`a:...` (personal chats), `19:...@thread.tacv2` (teams and channels, `;messageid=` for threads).
Builders return plain JSON dicts (camelCase, as on the wire); tweak them before posting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tests.fakes.sender import Sender

if TYPE_CHECKING:
    from tests.fakes.teams import FakeConnector

__all__ = [
    "APP_ID", "BOT_ID", "BOT_NAME", "CHANNEL_ID", "DEFAULT_SERVICE_URL", "TEAM_ID", "TENANT", "TeamsSender",
    "card_execute", "card_submit", "conversation_update", "installation_update", "message",
    "personal_conversation_id",
]  # fmt: skip

APP_ID = "c0c0a7e5-0000-4000-8000-00000000c0c0"  # the bot's Microsoft App ID in tests
BOT_ID = f"28:{APP_ID}"
BOT_NAME = "Cocreate"
TENANT = "t-1"
TEAM_ID = "19:team-1@thread.tacv2"
CHANNEL_ID = TEAM_ID  # a team's General channel has the team's id
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/emea/"  # pass teams.url to reach the fake
TIMEZONE = "Europe/Copenhagen"

_ids = itertools.count(int(time.time() * 1000))

Activity = dict[str, Any]


def _next_id() -> str:
    """Teams message ids are millisecond timestamps."""
    return str(next(_ids))


def _aad(value: str) -> str:
    return str(uuid.UUID(hashlib.sha256(value.encode()).hexdigest()[:32]))


def _name(user_id: str) -> str:
    return user_id.split(":", 1)[-1].replace("-", " ").replace("_", " ").title()


def personal_conversation_id(user_id: str = "29:mo", bot_id: str = BOT_ID) -> str:
    """A stable `a:...` id for the 1:1 chat of the user and the bot."""
    return "a:1" + hashlib.sha256(f"{user_id}|{bot_id}".encode()).hexdigest()[:40]


def _group_conversation_id(user_id: str) -> str:
    return "19:" + hashlib.sha256(f"group|{user_id}".encode()).hexdigest()[:32] + "@thread.v2"


def _timestamps() -> dict[str, str]:
    now = dt.datetime.now(dt.timezone.utc)
    local = now.astimezone(dt.timezone(dt.timedelta(hours=2)))
    return {
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "localTimestamp": local.isoformat(timespec="milliseconds"),
    }


def _client_info(locale: str, timezone: str) -> dict[str, Any]:
    return {"type": "clientInfo", "locale": locale, "country": locale.split("-")[-1], "platform": "Web",
            "timezone": timezone}  # fmt: skip


def _account(user_id: str, name: str | None, aad_id: str | None) -> dict[str, Any]:
    return {"id": user_id, "name": name or _name(user_id), "aadObjectId": aad_id or _aad(user_id)}


def _envelope(
    kind: str,
    *,
    user_id: str,
    name: str | None,
    aad_id: str | None,
    conversation: dict[str, Any],
    channel_data: dict[str, Any],
    service_url: str,
    activity_id: str | None,
    bot_id: str,
    bot_name: str,
    locale: str = "en-US",
    timezone: str = TIMEZONE,
) -> Activity:
    return {
        "type": kind, "id": activity_id or _next_id(), **_timestamps(), "serviceUrl": service_url,
        "channelId": "msteams", "from": _account(user_id, name, aad_id), "conversation": conversation,
        "recipient": {"id": bot_id, "name": bot_name}, "entities": [_client_info(locale, timezone)],
        "channelData": channel_data, "locale": locale, "localTimezone": timezone,
    }  # fmt: skip


def _where(
    conversation_type: str,
    *,
    user_id: str,
    tenant: str,
    conversation_id: str | None,
    team_id: str | None,
    channel_id: str | None,
    thread_id: str | None,
    bot_id: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(conversation, channelData) for a personal chat, group chat or team channel."""
    tenant_data = {"tenant": {"id": tenant}}
    if conversation_type == "personal":
        conversation = {"conversationType": "personal", "tenantId": tenant,
                        "id": conversation_id or personal_conversation_id(user_id, bot_id)}  # fmt: skip
        return conversation, tenant_data
    if conversation_type == "groupChat":
        conversation = {"isGroup": True, "conversationType": "groupChat", "tenantId": tenant,
                        "id": conversation_id or _group_conversation_id(user_id)}  # fmt: skip
        return conversation, tenant_data
    if conversation_type != "channel":
        raise ValueError(f"conversation_type must be personal, groupChat or channel, not {conversation_type!r}")
    team = team_id or TEAM_ID
    channel = channel_id or team
    if conversation_id is None:
        conversation_id = f"{channel};messageid={thread_id}" if thread_id else channel
    conversation = {"isGroup": True, "conversationType": "channel", "tenantId": tenant, "id": conversation_id}
    channel_data = {"teamsChannelId": channel, "teamsTeamId": team, "channel": {"id": channel},
                    "team": {"id": team}} | tenant_data  # fmt: skip
    return conversation, channel_data


def message(
    text: str,
    user_id: str = "29:mo",
    aad_id: str | None = None,
    name: str | None = None,
    conversation_id: str | None = None,
    conversation_type: str = "personal",  # "personal" | "channel" | "groupChat"
    tenant: str = TENANT,
    service_url: str = DEFAULT_SERVICE_URL,
    mentions_bot: bool = False,
    team_id: str | None = None,
    channel_id: str | None = None,
    activity_id: str | None = None,
    reply_to_id: str | None = None,
    *,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
    locale: str = "en-US",
    timezone: str = TIMEZONE,
) -> Activity:
    """A user's message. In a channel, a top-level post is its own thread
    (`<channel>;messageid=<its id>`); `reply_to_id` makes it a reply in that thread.
    `mentions_bot` prefixes `<at>Cocreate</at> ` and adds the mention entity (and, like Teams,
    the text/html attachment a formatted message carries)."""
    activity_id = activity_id or _next_id()
    thread = reply_to_id or activity_id
    conversation, channel_data = _where(
        conversation_type, user_id=user_id, tenant=tenant, conversation_id=conversation_id, team_id=team_id,
        channel_id=channel_id, thread_id=thread, bot_id=bot_id,
    )  # fmt: skip
    activity = _envelope(
        "message", user_id=user_id, name=name, aad_id=aad_id, conversation=conversation,
        channel_data=channel_data, service_url=service_url, activity_id=activity_id, bot_id=bot_id,
        bot_name=bot_name, locale=locale, timezone=timezone,
    )  # fmt: skip
    activity |= {"text": text, "textFormat": "plain"}
    if mentions_bot:
        tag = f"<at>{bot_name}</at>"
        activity["text"] = f"{tag} {text}".rstrip()
        mention = {"type": "mention", "text": tag, "mentioned": {"id": bot_id, "name": bot_name}}
        activity["entities"].insert(0, mention)
        span = f'<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">{bot_name}</span>'
        html = f"<div><div>{span} {text}</div></div>"
        activity["attachments"] = [{"contentType": "text/html", "content": html}]
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def card_submit(
    value: dict[str, Any],
    reply_to_id: str,
    user_id: str = "29:mo",
    conversation_id: str | None = None,
    conversation_type: str = "personal",
    tenant: str = TENANT,
    service_url: str = DEFAULT_SERVICE_URL,
    team_id: str | None = None,
    channel_id: str | None = None,
    activity_id: str | None = None,
    *,
    name: str | None = None,
    aad_id: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
    locale: str = "en-US",
    timezone: str = TIMEZONE,
) -> Activity:
    """What Teams posts when a user presses an Adaptive Card `Action.Submit`: a message with
    the card's inputs and the action's `data` merged in `value`, no text, `replyToId` = the card's
    activity id. Like every message, it carries the client's `locale` and time zone."""
    conversation, channel_data = _where(
        conversation_type, user_id=user_id, tenant=tenant, conversation_id=conversation_id, team_id=team_id,
        channel_id=channel_id, thread_id=reply_to_id, bot_id=bot_id,
    )  # fmt: skip
    activity = _envelope(
        "message", user_id=user_id, name=name, aad_id=aad_id, conversation=conversation,
        channel_data=channel_data | {"source": {"name": "message"}, "legacy": {"replyToId": f"1:{reply_to_id}"}},
        service_url=service_url, activity_id=activity_id, bot_id=bot_id, bot_name=bot_name, locale=locale,
        timezone=timezone,
    )  # fmt: skip
    return activity | {"replyToId": reply_to_id, "value": value}


def card_execute(
    verb: str,
    data: dict[str, Any] | None = None,
    reply_to_id: str | None = None,
    user_id: str = "29:mo",
    conversation_type: str = "personal",
    tenant: str = TENANT,
    service_url: str = DEFAULT_SERVICE_URL,
    *,
    conversation_id: str | None = None,
    team_id: str | None = None,
    channel_id: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
    locale: str = "en-US",
    timezone: str = TIMEZONE,
) -> Activity:
    """An Adaptive Card `Action.Execute` (Universal Actions): an `adaptiveCard/action` invoke,
    which the bot must answer in the HTTP response (status 200 + an invoke body)."""
    conversation, channel_data = _where(
        conversation_type, user_id=user_id, tenant=tenant, conversation_id=conversation_id, team_id=team_id,
        channel_id=channel_id, thread_id=reply_to_id, bot_id=bot_id,
    )  # fmt: skip
    activity = _envelope(
        "invoke", user_id=user_id, name=None, aad_id=None, conversation=conversation,
        channel_data=channel_data | {"source": {"name": "message"}}, service_url=service_url,
        activity_id=f"f:{uuid.uuid4()}", bot_id=bot_id, bot_name=bot_name, locale=locale, timezone=timezone,
    )  # fmt: skip
    activity |= {"name": "adaptiveCard/action",
                 "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data or {}},
                           "trigger": "manual"}}  # fmt: skip
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def _member(member: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(member, dict):
        return member
    return {"id": member} if member.startswith("28:") else {"id": member, "aadObjectId": _aad(member)}


def conversation_update(
    members_added: Sequence[str | dict[str, Any]] | None = None,
    team_id: str | None = None,
    *,
    members_removed: Sequence[str | dict[str, Any]] | None = None,
    channel_id: str | None = None,
    team_name: str = "Test Team",
    user_id: str = "29:mo",
    conversation_id: str | None = None,
    tenant: str = TENANT,
    service_url: str = DEFAULT_SERVICE_URL,
    event_type: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
) -> Activity:
    """Members (the bot by default) added to / removed from a team (`team_id`), or a personal
    chat (no team). ids as strings: `28:...` stays bare like Teams sends the bot."""
    if members_added is None and members_removed is None:
        members_added = [bot_id]
    channel_data: dict[str, Any] = {"tenant": {"id": tenant}}
    if team_id:
        channel = channel_id or team_id
        conversation = {"isGroup": True, "conversationType": "channel", "tenantId": tenant,
                        "id": conversation_id or channel}  # fmt: skip
        channel_data = {
            "settings": {"selectedChannel": {"id": channel}},
            "team": {"aadGroupId": _aad(team_id), "name": team_name, "id": team_id},
            "eventType": event_type or ("teamMemberAdded" if members_added else "teamMemberRemoved"),
        } | channel_data  # fmt: skip
    else:
        conversation = {"conversationType": "personal", "tenantId": tenant,
                        "id": conversation_id or personal_conversation_id(user_id, bot_id)}  # fmt: skip
        if event_type:
            channel_data["eventType"] = event_type
    activity = _envelope(
        "conversationUpdate", user_id=user_id, name=None, aad_id=None, conversation=conversation,
        channel_data=channel_data, service_url=service_url, activity_id=f"f:{uuid.uuid4()}", bot_id=bot_id,
        bot_name=bot_name,
    )  # fmt: skip
    del activity["entities"], activity["locale"], activity["localTimezone"]
    if members_added:
        activity["membersAdded"] = [_member(m) for m in members_added]
    if members_removed:
        activity["membersRemoved"] = [_member(m) for m in members_removed]
    return activity


def installation_update(
    action: str = "add",  # "add" | "remove" | "add-upgrade" | "remove-upgrade"
    team_id: str | None = None,
    *,
    channel_id: str | None = None,
    team_name: str = "Test Team",
    user_id: str = "29:mo",
    conversation_id: str | None = None,
    tenant: str = TENANT,
    service_url: str = DEFAULT_SERVICE_URL,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
    locale: str = "en-US",
) -> Activity:
    """The app installed in / removed from a team (`team_id`) or a user's personal scope, by
    someone whose Teams client speaks `locale`."""
    if team_id:
        channel = channel_id or team_id
        conversation = {"isGroup": True, "conversationType": "channel", "tenantId": tenant,
                        "id": conversation_id or channel}  # fmt: skip
        channel_data = {
            "settings": {"selectedChannel": {"id": channel}}, "channel": {"id": channel},
            "team": {"aadGroupId": _aad(team_id), "name": team_name, "id": team_id},
            "tenant": {"id": tenant}, "source": {"name": "message"},
        }  # fmt: skip
    else:
        conversation = {"conversationType": "personal", "tenantId": tenant,
                        "id": conversation_id or personal_conversation_id(user_id, bot_id)}  # fmt: skip
        channel_data = {"tenant": {"id": tenant}, "source": {"name": "message"}}
    activity = _envelope(
        "installationUpdate", user_id=user_id, name=None, aad_id=None, conversation=conversation,
        channel_data=channel_data, service_url=service_url, activity_id=f"f:{uuid.uuid4()}", bot_id=bot_id,
        bot_name=bot_name, locale=locale,
    )  # fmt: skip
    activity["entities"] = [{"type": "clientInfo", "locale": locale}]
    del activity["localTimezone"]
    return activity | {"action": action}


class TeamsSender(Sender):
    """POSTs activities as JSON to `{base_url}{path}` like the Bot Connector does; returns
    `(status, text)`.

    Authorization: `token=` (a JWT, or a full "Bearer ..." value) per call; otherwise, given a
    `connector` and `app_id`, a valid token minted by the fake for the activity's serviceUrl;
    `forge="signature"|"audience"|"expired"|"issuer"|"serviceurl"|"unknown_key"` mints a bad one
    (see FakeConnector.forged_token); `signed=False` sends none. Use as `async with` to reuse one
    connection pool; `post_sync` uses urllib (for sync tests)."""

    def __init__(
        self,
        connector: FakeConnector | None = None,
        app_id: str | None = None,
        path: str = "/api/messages",
        timeout: float = 10.0,
    ) -> None:
        self.connector, self.app_id, self.path, self.timeout = connector, app_id, path, timeout

    def prepare(
        self,
        base_url: str,
        activity: Activity | bytes | str,
        *,
        token: str | None = None,
        forge: str | None = None,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[str, bytes, dict[str, str]]:
        """URL, body and headers of the request `post` would send."""
        data = activity if isinstance(activity, bytes) else (
            activity.encode() if isinstance(activity, str) else json.dumps(activity).encode()
        )  # fmt: skip
        all_headers = {"Content-Type": "application/json; charset=utf-8",
                       "User-Agent": "Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)"}  # fmt: skip
        if signed and token is None and self.connector is not None and self.app_id:
            service_url = activity.get("serviceUrl", "") if isinstance(activity, dict) else ""
            if forge:
                token = self.connector.forged_token(forge, self.app_id, service_url)
            else:
                token = self.connector.token_for(self.app_id, service_url)
        elif forge:
            raise ValueError("forge needs a connector and an app_id")
        if signed and token:
            all_headers["Authorization"] = token if token.startswith("Bearer ") else f"Bearer {token}"
        return base_url.rstrip("/") + self.path, data, all_headers | (headers or {})

    async def post(self, base_url: str, activity: Activity | bytes | str, **options: Any) -> tuple[int, str]:
        """`options`: token, forge, signed, headers (see `prepare`)."""
        url, data, headers = self.prepare(base_url, activity, **options)
        return await self._post(url, data, headers)

    def post_sync(self, base_url: str, activity: Activity | bytes | str, **options: Any) -> tuple[int, str]:
        """Like `post`, with urllib (blocking)."""
        url, data, headers = self.prepare(base_url, activity, **options)
        return self._post_sync(url, data, headers)
