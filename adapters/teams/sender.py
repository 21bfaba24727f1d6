"""The outbox's Teams side: personal chats, coalition channel posts and in-place updates,
within Teams' rate limits, with every failure reported as a `DeliveryError`.

Unlike `TeamsBot.send` (used while answering), nothing here retries or sleeps on a 429:
the outbox reschedules the row after Retry-After. Limits are kept before each call
(`adapters.ratelimit`), never discovered by 429s:

* per conversation: Teams' documented windows (`TeamsLimits.per_conversation`, each 2%
  longer), in the very limiter `TeamsBot` keeps for its replies, so answers and proactive
  sends in one chat count together;
* per tenant: `per_tenant_per_second` x `share` as `ratelimit.smooth` windows (n sends in
  n / rate seconds, n half a second's worth), creating a chat included.

403 and 404 mean the member cannot be reached: they are marked unreachable in the store
(the delivery loop tells their leaders, through the outbox) and the error is permanent.
The Bot Connector cannot list a conversation's messages, so `already_sent` cannot look.
"""

from __future__ import annotations

import logging
from datetime import datetime

from adapters.ratelimit import Budgeted, Limiter, hold, padded, smooth
from adapters.teams import events
from adapters.teams.app import TRANSIENT, UNREACHABLE, TeamsBot, status_of, unreached
from bot.config import TeamsLimits
from bot.ports import Delivered, DeliveryError
from bot.types import ConversationRef
from bot.ui import Reply

log = logging.getLogger(__name__)

NO_ADDRESS = "no_address"  # no Teams address yet: they must install the app or write to it first
REFUSED = {400, 413}  # a malformed or too large message: sending it again cannot help


class TeamsSender(Budgeted):
    """`bot.ports.Sender` for Teams. `share` (0 < share <= 1) is this replica's part of the
    tenant budget; the delivery loop sets it. Assigning `share` or `limits` changes the
    windows at once."""

    platform = events.PLATFORM
    can_check_sent = False

    def __init__(self, bot: TeamsBot, limits: TeamsLimits | None = None, *, share: float = 1.0) -> None:
        self.bot = bot
        self.config = bot.engine.config
        self.store = bot.engine.store
        self.conversations: Limiter = bot.limiter  # key: conversation id (shared with the bot's replies)
        self.tenants = Limiter([(1, 1.0)])  # key: tenant id
        self._limits = limits or self.config.delivery.teams
        self.share = share  # sets every window

    # -- configuration ---------------------------------------------------------------------

    def _configure(self) -> None:
        self.conversations.set_windows(padded(self._limits.per_conversation))
        self.tenants.set_windows(smooth(self._limits.per_tenant_per_second * self._share))

    # -- Sender ----------------------------------------------------------------------------

    def reaches(self, member_id: str) -> bool:
        return bool(self.config.address(member_id, events.PLATFORM)) and self.gone(member_id) is None

    def gone(self, member_id: str) -> str | None:
        """Why the member cannot be reached in Teams any more: they removed the app, or left
        the team it reached them through, and no other address of theirs is left."""
        return next((reason for reason, members in (self.bot.departures or {}).values() if member_id in members), None)

    async def refresh(self) -> None:
        """Where the app was removed (the delivery loop asks every heartbeat)."""
        self.bot.departures = await self.store.departures(events.PLATFORM)

    async def to_member(self, member_id: str, reply: Reply, tag: str) -> Delivered:
        if not self.reaches(member_id):
            raise DeliveryError("no_account", permanent=True)  # app.yaml gives them no Teams id
        ref = await self._personal_chat(member_id)
        activity_id = await self._post(ref, reply, member_id)
        return Delivered(events.PLATFORM, ref.conversation, activity_id)

    async def to_channel(self, coalition_id: str, reply: Reply, tag: str) -> Delivered | None:
        post = await self.bot.channel_post(coalition_id)
        if post is None:
            return None  # no Teams channel in app.yaml, or the app is not in that team yet
        parent = await self._post(post, Reply(blocks=reply.blocks[:1]))
        if parent and len(reply.blocks) > 1:
            try:
                await self._post(self.bot.thread_of(post, parent), Reply(blocks=reply.blocks[1:]))
            except DeliveryError as error:
                # The headline is out: sending it again would post it twice. Better a
                # headline without its details than two headlines.
                log.warning("teams: the details of %s in %s were not posted: %s", tag, post.conversation, error.reason)
        return Delivered(events.PLATFORM, post.conversation, parent or None)

    async def update(self, where: Delivered, reply: Reply) -> None:
        if not (where.conversation and where.message_id):
            raise DeliveryError("nothing to update: no conversation or activity id", permanent=True)
        ref = await self.store.channel_reference(events.PLATFORM, where.conversation)
        if ref is None:
            raise DeliveryError(f"no stored address for conversation {where.conversation}", permanent=True)
        target = ConversationRef(ref.platform, ref.tenant, where.conversation, ref.user, extra=ref.extra)
        try:
            async with hold((self.conversations, target.conversation), (self.tenants, target.tenant), at_departure=True):
                await self.bot.replace(target, where.message_id, reply)
        except Exception as error:
            raise await self._failure(error) from None

    async def already_sent(self, member_id: str, tag: str, since: datetime) -> Delivered | None:
        return None  # the Bot Connector cannot list a conversation's messages

    # -- calls -----------------------------------------------------------------------------

    async def _personal_chat(self, member_id: str) -> ConversationRef:
        """The member's 1:1 chat with the bot; opened from a team roster if they never wrote."""
        ref = await self.store.reference_for(events.PLATFORM, member_id, "personal")
        if ref is not None:
            return ref
        roster = await self.store.reference_for(events.PLATFORM, member_id, "roster")
        if roster is None:
            raise DeliveryError(NO_ADDRESS, permanent=True)
        try:
            async with hold((self.tenants, roster.tenant), at_departure=True):
                created = await self.bot.create_personal_chat(roster, member_id)
        except Exception as error:
            raise await self._failure(error, member_id, "cannot open a chat: ") from None
        if created is None:
            raise DeliveryError("Teams opened no chat")
        return created

    async def _post(self, ref: ConversationRef, reply: Reply, member_id: str | None = None) -> str:
        try:
            async with hold((self.conversations, ref.conversation), (self.tenants, ref.tenant), at_departure=True):
                return await self.bot.post(ref, reply)
        except Exception as error:
            raise await self._failure(error, member_id) from None

    async def _failure(self, error: Exception, member_id: str | None = None, prefix: str = "") -> DeliveryError:
        """What a connector error means for the outbox (a member who refuses is marked)."""
        status, code, retry_after = status_of(error)
        away = unreached(error)
        reason = prefix + (code or (f"HTTP {status}" if status else f"connector unreachable: {away}" if away
                                    else repr(error)))
        if status in UNREACHABLE:
            if member_id is not None:
                await self.bot._unreachable(member_id, reason, report=False)  # leaders hear through the outbox
            return DeliveryError(reason, permanent=True)
        if status in REFUSED:
            return DeliveryError(reason, permanent=True)
        if status in TRANSIENT:
            return DeliveryError(reason, retry_after=retry_after)
        return DeliveryError(reason, retry_after=retry_after)  # 5xx, 401, a connection error: try later
