"""The outbox's Slack side: direct messages, coalition channel posts and in-place updates,
within Slack's rate limits, with every failure reported as a `DeliveryError`.

Rate limits are kept before each call, never discovered by a 429 (`adapters.ratelimit`):

* chat.postMessage: one window per channel (`per_channel_per_second`; a member's DM is
  keyed by their user id) and one per workspace (`per_workspace_per_minute` x `share`),
  both counted at the same instant just before the call;
* conversations.open, conversations.history and chat.update (Tier 3, about 50 a minute
  per workspace each): one window per workspace and method at `opens_per_minute` x `share`.

Every rate becomes `ratelimit.smooth(rate)`: at most n calls in n / rate seconds (n half a
second's worth, at least 1; windows 2% longer than the rate says). Bursts stay within a
token bucket of that rate whose burst is one second's worth, so a replica keeping its
share never sees a 429; e.g. 600 a minute -> 5 per 0.525 s, 1 a second per channel -> 1
per 1.05 s, 50 opens a minute -> 1 per 1.26 s.

The client sends without slack_sdk's retry handlers: a 429 becomes a `DeliveryError` with
Slack's Retry-After, connection errors and 5xx a transient one (the outbox reschedules
the row), and Slack's error codes that no retry can fix a permanent one.

Tokens: the bot token in single-workspace and Socket Mode. In OAuth mode each member's
workspace is the team of their latest stored Slack reference; its bot token comes from
the installation store (cached a minute), refreshed here before it expires when token
rotation is on (bolt refreshes only while handling a request) and saved back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.ratelimit import Budgeted, Limiter, hold, smooth
from adapters.slack import render
from adapters.slack.app import PERMANENT, SlackBot
from adapters.slack.events import PLATFORM
from adapters.slack.installations import TOKEN_REFRESH_MINUTES
from bot.config import SlackLimits
from bot.ports import Delivered, DeliveryError
from bot.ui import Reply

log = logging.getLogger(__name__)

EVENT_TYPE = "cocreate_outbox"  # message metadata: {"event_type": ..., "event_payload": {"tag": ...}}
TOKEN_TTL = 60.0  # seconds a bot token read from the installation store is reused
# The token no longer works: look it up (or refresh it) again before the next send.
STALE_TOKEN = {"invalid_auth", "token_revoked", "token_expired", "not_authed", "account_inactive"}
HISTORY_PAGES = 5  # conversations.history pages (100 messages each) already_sent looks through
NO_INSTALLATION = "no_installation"  # no Slack installation for the member's workspace yet


@dataclass
class _Token:
    token: str
    expires_at: float | None  # epoch seconds (token rotation), else None
    fetched: float  # time.monotonic()


class SlackSender(Budgeted):
    """`bot.ports.Sender` for Slack. `share` (0 < share <= 1) is this replica's part of the
    workspace budgets; the delivery loop sets it (e.g. 1 / live workers). Assigning `share`
    or `limits` changes the windows at once."""

    platform = PLATFORM
    can_check_sent = True

    def __init__(self, bot: SlackBot, limits: SlackLimits | None = None, *, share: float = 1.0) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.config = bot.engine.config
        self.store = bot.engine.store
        self.oauth = self.settings.mode == "oauth"
        self.installations = bot.app.installation_store if self.oauth else None
        self.rotator: AsyncTokenRotator | None = None
        if self.oauth and self.settings.token_rotation:
            self.rotator = AsyncTokenRotator(
                client_id=self.settings.client_id, client_secret=self.settings.client_secret,
                client=AsyncWebClient(base_url=self._base_url, retry_handlers=[]))
        self.channels = Limiter([(1, 1.0)])  # key "<team>/<channel or user id>"
        self.workspace = Limiter([(1, 1.0)])  # key "<team>"
        self.tier3 = Limiter([(1, 1.0)])  # key "<team>/<method>"
        self._limits = limits or self.config.delivery.slack
        self.share = share  # sets every window
        self._clients: dict[str, tuple[str, AsyncWebClient]] = {}  # team -> (token, client)
        self._tokens: dict[str, _Token] = {}  # OAuth: team -> its bot token
        self._token_locks: dict[str, asyncio.Lock] = {}
        self._dms: dict[tuple[str, str], str] = {}  # (team, user id) -> their DM with the app
        self._team_of: dict[str, str] = {}  # conversation id -> team, as sent to (OAuth)

    # -- configuration ---------------------------------------------------------------------

    def _configure(self) -> None:
        limits, share = self._limits, self._share
        self.channels.set_windows(smooth(limits.per_channel_per_second))
        self.workspace.set_windows(smooth(limits.per_workspace_per_minute * share / 60))
        self.tier3.set_windows(smooth(limits.opens_per_minute * share / 60))

    @property
    def _base_url(self) -> str:
        return self.settings.api_url or AsyncWebClient.BASE_URL

    # -- Sender ----------------------------------------------------------------------------

    def reaches(self, member_id: str) -> bool:
        return bool(self.config.address(member_id, PLATFORM)) and self.gone(member_id) is None

    def gone(self, member_id: str) -> str | None:
        """Why the member cannot be reached on Slack any more: the app was uninstalled from
        their workspace (with one workspace: from the workspace)."""
        for reason, members in (self.bot.departures or {}).values():
            if not self.oauth or member_id in members:
                return reason
        return None

    async def refresh(self) -> None:
        """Where the app was uninstalled (the delivery loop asks every heartbeat)."""
        self.bot.departures = await self.store.departures(PLATFORM)

    async def to_member(self, member_id: str, reply: Reply, tag: str) -> Delivered:
        user = self._user(member_id)
        team = await self._member_team(member_id)
        client = await self._client(team)
        data = await self._call(
            team, client.chat_postMessage, [(self.channels, f"{team}/{user}"), (self.workspace, team)],
            channel=user, metadata=_metadata(tag), **render.message(reply))
        channel = data.get("channel") or user
        self._dms[(team, user)] = channel
        self._team_of[channel] = team
        return Delivered(PLATFORM, channel, data.get("ts"))

    async def to_channel(self, coalition_id: str, reply: Reply, tag: str) -> Delivered | None:
        coalition = self.config.coalition(coalition_id)
        channel = coalition.channels.get(PLATFORM) if coalition else None
        if not channel:
            return None
        team = await self._channel_team(coalition_id, channel)
        client = await self._client(team)
        slots = [(self.channels, f"{team}/{channel}"), (self.workspace, team)]
        headline, details = reply.blocks[:1], reply.blocks[1:]
        posted = await self._call(team, client.chat_postMessage, slots, channel=channel, metadata=_metadata(tag),
                                  **render.message(Reply(blocks=headline)))
        where = Delivered(PLATFORM, posted.get("channel") or channel, posted.get("ts"))
        self._team_of[where.conversation] = team
        if details:
            try:
                await self._call(team, client.chat_postMessage, slots, channel=channel, thread_ts=where.message_id,
                                 **render.message(Reply(blocks=details)))
            except DeliveryError as error:
                # The headline is out: sending it again would post it twice. Better a
                # headline without its details than two headlines.
                log.warning("slack: the details of %s in %s were not posted: %s", tag, channel, error.reason)
        return where

    async def update(self, where: Delivered, reply: Reply) -> None:
        if not (where.conversation and where.message_id):
            raise DeliveryError("nothing to update: no channel or message id", permanent=True)
        team = await self._conversation_team(where.conversation)
        client = await self._client(team)
        await self._call(team, client.chat_update, [(self.tier3, f"{team}/chat.update")],
                         channel=where.conversation, ts=where.message_id, **render.message(reply))

    async def already_sent(self, member_id: str, tag: str, since: datetime) -> Delivered | None:
        user = self._user(member_id)
        team = await self._member_team(member_id)
        client = await self._client(team)
        channel = await self._dm(team, client, user)
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = await self._call(
                team, client.conversations_history, [(self.tier3, f"{team}/conversations.history")],
                channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=100,
                **({"cursor": cursor} if cursor else {}))
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == EVENT_TYPE and str((meta.get("event_payload") or {}).get("tag")) == str(tag):
                    return Delivered(PLATFORM, channel, message.get("ts"))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not (page.get("has_more") and cursor):
                break
        return None

    # -- addresses -------------------------------------------------------------------------

    def _user(self, member_id: str) -> str:
        user = self.config.address(member_id, PLATFORM)
        if not user:
            raise DeliveryError("no_account", permanent=True)  # app.yaml gives them no Slack id
        return user

    async def _dm(self, team: str, client: AsyncWebClient, user: str) -> str:
        """The member's DM with the app (conversations.open, remembered)."""
        if (team, user) not in self._dms:
            opened = await self._call(team, client.conversations_open, [(self.tier3, f"{team}/conversations.open")],
                                      users=user)
            self._dms[(team, user)] = (opened.get("channel") or {}).get("id") or user
        return self._dms[(team, user)]

    async def _member_team(self, member_id: str) -> str:
        """The member's workspace ("" with a single workspace)."""
        if not self.oauth:
            return ""
        ref = await self.store.reference_for(PLATFORM, member_id, None)
        if ref is None or not ref.tenant:
            raise DeliveryError(NO_INSTALLATION, permanent=True)
        return ref.tenant

    async def _channel_team(self, coalition_id: str, channel: str) -> str:
        """The workspace of a coalition's channel: where someone last wrote from it, else
        where its leaders and members last wrote from."""
        if not self.oauth:
            return ""
        ref = await self.store.channel_reference(PLATFORM, channel)
        if ref is not None and ref.tenant:
            return ref.tenant
        coalition = self.config.coalition(coalition_id)
        for member_id in (*coalition.leaders, *coalition.members) if coalition else ():
            ref = await self.store.reference_for(PLATFORM, member_id, None)
            if ref is not None and ref.tenant:
                return ref.tenant
        raise DeliveryError(NO_INSTALLATION, permanent=True)  # for this coalition's workspace

    async def _conversation_team(self, conversation: str) -> str:
        if not self.oauth:
            return ""
        if conversation in self._team_of:
            return self._team_of[conversation]
        for coalition in self.config.coalitions:
            if coalition.channels.get(PLATFORM) == conversation:
                return await self._channel_team(coalition.id, conversation)
        ref = await self.store.channel_reference(PLATFORM, conversation)
        if ref is not None and ref.tenant:
            return ref.tenant
        if len(self._tokens) == 1:  # one workspace in use: it must be that one
            return next(iter(self._tokens))
        raise DeliveryError(f"unknown Slack workspace of conversation {conversation}", permanent=True)

    # -- tokens and clients ----------------------------------------------------------------

    async def _client(self, team: str) -> AsyncWebClient:
        token = await self._token(team)
        known = self._clients.get(team)
        if known is None or known[0] != token:
            # No retry handlers: a 429 or an error goes back to the outbox, which reschedules.
            # The bot's connection pool (closed by SlackBot.aclose).
            client = AsyncWebClient(token=token, base_url=self._base_url, session=self.bot.http(), retry_handlers=[])
            self._clients[team] = known = (token, client)
        return known[1]

    async def _token(self, team: str) -> str:
        if not self.oauth:
            if not self.settings.bot_token:
                raise DeliveryError("no_token", permanent=True)  # SLACK_BOT_TOKEN is not set
            return self.settings.bot_token
        cached = self._tokens.get(team)
        if cached is not None and self._fresh(cached):
            return cached.token
        lock = self._token_locks.setdefault(team, asyncio.Lock())
        async with lock:  # one lookup (and one refresh) per workspace at a time
            cached = self._tokens.get(team)
            if cached is None or not self._fresh(cached):
                cached = self._tokens[team] = await self._installed_token(team)
            return cached.token

    def _fresh(self, cached: _Token) -> bool:
        if time.monotonic() - cached.fetched > TOKEN_TTL:
            return False
        margin = TOKEN_REFRESH_MINUTES * 60 if self.rotator else 0
        return cached.expires_at is None or cached.expires_at > time.time() + margin

    async def _installed_token(self, team: str) -> _Token:
        store = self.installations
        if store is None:
            raise DeliveryError(NO_INSTALLATION, permanent=True)
        installation = await store.async_find_installation(enterprise_id=None, team_id=team)
        bot = None if installation is not None else await store.async_find_bot(enterprise_id=None, team_id=team)
        if installation is not None and self.rotator is not None:
            try:
                refreshed = await self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=TOKEN_REFRESH_MINUTES)
            except SlackTokenRotationError as error:
                raise DeliveryError(f"refreshing the bot token failed: {error.api_error.response.get('error')}") from None
            if refreshed is not None:
                await store.async_save(refreshed)
                installation = refreshed
                log.info("slack: refreshed the bot token of team %s", team)
        elif bot is not None and self.rotator is not None:
            try:
                refreshed_bot = await self.rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=TOKEN_REFRESH_MINUTES)
            except SlackTokenRotationError as error:
                raise DeliveryError(f"refreshing the bot token failed: {error.api_error.response.get('error')}") from None
            if refreshed_bot is not None:
                await store.async_save_bot(refreshed_bot)
                bot = refreshed_bot
        holder = installation or bot
        token = holder.bot_token if holder is not None else None
        if not token:
            raise DeliveryError(NO_INSTALLATION, permanent=True)
        return _Token(token, holder.bot_token_expires_at, time.monotonic())

    # -- calls -----------------------------------------------------------------------------

    async def _call(self, team: str, method, slots: list[tuple[Limiter, str]], **kwargs: Any) -> dict:
        try:
            async with hold(*slots):
                return (await method(**kwargs)).data
        except SlackApiError as error:
            failure = _failure(error)
            if failure.reason in STALE_TOKEN:
                self._tokens.pop(team, None)
            raise failure from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise DeliveryError(f"cannot reach Slack: {error!r}") from None


def _metadata(tag: str) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"tag": str(tag)}}


def _failure(error: SlackApiError) -> DeliveryError:
    """What a refused call means for the outbox."""
    response = error.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    retry_after = _retry_after(getattr(response, "headers", None))
    if status == 429 or code == "ratelimited":
        return DeliveryError(code or "ratelimited", retry_after=retry_after if retry_after is not None else 1.0)
    if code in PERMANENT:
        return DeliveryError(code, permanent=True)
    if code:
        return DeliveryError(code, retry_after=retry_after)  # internal_error, fatal_error, token_expired...
    return DeliveryError(f"HTTP {status}" if status else str(error), retry_after=retry_after)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
