"""Slack settings from the environment, and which of the three modes they select:
single workspace (bot token + signing secret), Socket Mode (an app-level token, no public
URL) or multi-workspace OAuth (client id + secret; installations in our own database).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

# The bot scopes the code uses, no more: chat.postMessage (to channels, and to a user id
# for their DM with the app), the /cocreate command, message.im events for typed answers
# (im:history, which also lets the outbox read the DM back to see whether a message arrived:
# conversations.history), conversations.open to find that DM (im:write), and users.info for
# a member's time zone from their profile (users:read), so prompts arrive in their own day,
# and users.lookupByEmail plus the email in that profile (users:read.email), so app.yaml can
# name people by email instead of Slack ids.
BOT_SCOPES = ("chat:write", "commands", "files:write", "im:history", "im:write", "users:read", "users:read.email")
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "message.im", "tokens_revoked")


class SlackSettingsError(ValueError):
    """A missing or contradictory environment variable; the message names it."""


@dataclass(frozen=True)
class SlackSettings:
    signing_secret: str | None = None
    bot_token: str | None = None
    app_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_url: str | None = None
    token_rotation: bool = False
    state_secret: str | None = None

    @property
    def mode(self) -> str:
        if self.client_id:
            return "oauth"
        if self.app_token:
            return "socket"
        return "single"


def from_env(env: Mapping[str, str] = os.environ) -> SlackSettings | None:
    """None when no Slack variable is set at all (Slack is simply off)."""
    get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731
    s = SlackSettings(
        signing_secret=get("SLACK_SIGNING_SECRET"),
        bot_token=get("SLACK_BOT_TOKEN"),
        app_token=get("SLACK_APP_TOKEN"),
        client_id=get("SLACK_CLIENT_ID"),
        client_secret=get("SLACK_CLIENT_SECRET"),
        api_url=get("SLACK_API_URL"),
        token_rotation=(get("SLACK_TOKEN_ROTATION") or "").lower() in ("1", "true", "yes"),
        state_secret=get("SLACK_STATE_SECRET"),
    )
    if not any((s.signing_secret, s.bot_token, s.app_token, s.client_id, s.client_secret)):
        return None
    if s.api_url and not s.api_url.endswith("/"):
        s = SlackSettings(**{**s.__dict__, "api_url": s.api_url + "/"})
    if s.mode == "oauth":
        if not s.client_secret:
            raise SlackSettingsError("SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is missing")
        if not s.signing_secret:
            raise SlackSettingsError("SLACK_SIGNING_SECRET is required with SLACK_CLIENT_ID")
    elif s.mode == "socket":
        if not s.app_token.startswith("xapp-"):
            raise SlackSettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        if not s.bot_token:
            raise SlackSettingsError("SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN (Socket Mode)")
    else:
        missing = [n for n, v in (("SLACK_BOT_TOKEN", s.bot_token), ("SLACK_SIGNING_SECRET", s.signing_secret)) if not v]
        if missing:
            raise SlackSettingsError(f"{' and '.join(missing)} missing: a single workspace needs both")
    return s
