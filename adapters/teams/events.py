"""Pure functions from Bot Framework activities to neutral events and references.

Teams has no slash commands: the command words arrive as message text, with an
`<at>Cocreate</at>` mention in channels (stripped before the engine sees it). A card's
Action.Submit arrives as a message whose `value` holds the inputs and our ActionRef.
"""

from __future__ import annotations

import re
from typing import Any, Callable
from zoneinfo import ZoneInfo

from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference

from bot.types import ConversationRef, Interaction, Message

PLATFORM = "teams"
CHANNEL_ID = "msteams"
_MENTION = re.compile(r"<at>[^<]*</at>")


def tenant_of(activity: Activity) -> str:
    data = activity.channel_data or {}
    tenant = (data.get("tenant") or {}).get("id") if isinstance(data, dict) else None
    return tenant or getattr(activity.conversation, "tenant_id", None) or ""


def reference(activity: Activity) -> ConversationRef:
    """Where this activity came from: enough to answer now and to write again later."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    sender = activity.from_property or ChannelAccount(id="")
    extra: dict[str, Any] = {
        "service_url": activity.service_url,
        "bot_id": activity.recipient.id if activity.recipient else "",
        "bot_name": activity.recipient.name if activity.recipient else "",
        "kind": activity.conversation.conversation_type or "personal",
    }
    if sender.name:
        extra["name"] = sender.name
    if isinstance(activity.locale, str) and 0 < len(activity.locale) <= 35:
        extra["locale"] = activity.locale  # the Teams client's language, e.g. "da-DK"
    if sender.aad_object_id:
        extra["aad_id"] = sender.aad_object_id
    channel = (data.get("channel") or {}).get("id")
    if channel:
        extra["channel"] = channel  # a coalition's team channel, from app.yaml `channels.teams`
    team = (data.get("team") or {}).get("id")
    if team:
        extra["team"] = team
    return ConversationRef(PLATFORM, tenant_of(activity), activity.conversation.id, sender.id, extra=extra)


def timezone_of(activity: Activity) -> str | None:
    """The sender's time zone (an IANA name) from the `clientInfo` entity Teams puts on
    their messages (else the activity's `localTimezone`); None if absent or not a zone."""
    names = []
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == "clientInfo":
            names.append((getattr(entity, "additional_properties", None) or {}).get("timezone"))
    names.append(activity.local_timezone)
    for name in names:
        if isinstance(name, str) and 0 < len(name) <= 64:
            try:
                ZoneInfo(name)
            except (KeyError, ValueError, OSError):  # unknown (a KeyError) or malformed
                continue
            return name
    return None


def command_text(activity: Activity, mention: Callable[[str, str], str] | None = None) -> str:
    """The text without the bot's @mention (Teams puts `<at>Name</at>` into channel messages);
    another person's mention as `mention(user id, name)` (`add @Anna`), else left out."""
    text = activity.text or ""
    bot = activity.recipient.id if activity.recipient else None
    for user, name, tag in mentioned(activity):
        if mention and user != bot:
            text = text.replace(tag, f" {mention(user, name)} ", 1)
    return " ".join(_MENTION.sub(" ", text).split())


def mentioned(activity: Activity) -> list[tuple[str, str, str]]:
    """(user id, name, the `<at>…</at>` text) of each mention entity of the activity."""
    found = []
    for entity in activity.entities or []:
        props = getattr(entity, "additional_properties", None) or {}
        who = props.get("mentioned") if getattr(entity, "type", None) == "mention" else None
        if isinstance(who, dict) and who.get("id") and isinstance(props.get("text"), str):
            found.append((str(who["id"]), str(who.get("name") or ""), props["text"]))
    return found


def event_id(activity: Activity) -> str:
    # Teams retries an activity it got no answer to within 15 s, with the same id.
    return f"teams:{activity.conversation.id}:{activity.id}"


def message(activity: Activity, mention: Callable[[str, str], str] | None = None) -> Message:
    return Message(reference(activity), event_id(activity), command_text(activity, mention))


def interaction(activity: Activity, action, values: dict[str, Any]) -> Interaction:
    return Interaction(reference(activity), event_id(activity), action, values, activity.reply_to_id)


def to_sdk(ref: ConversationRef) -> ConversationReference:
    """Our stored reference as the SDK's, for continue_conversation."""
    extra = ref.extra
    return ConversationReference(
        channel_id=CHANNEL_ID,
        service_url=extra.get("service_url"),
        conversation=ConversationAccount(id=ref.conversation, tenant_id=ref.tenant,
                                         conversation_type=extra.get("kind"),
                                         is_group=extra.get("kind") != "personal"),
        bot=ChannelAccount(id=extra.get("bot_id"), name=extra.get("bot_name")),
        user=ChannelAccount(id=ref.user, name=extra.get("name")),
    )
