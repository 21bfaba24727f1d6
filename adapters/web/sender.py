"""The web platform's outbound side for the outbox: a message for a web member is added to
their conversation (they see it when they open the page) and, when email is set up and they
gave an address, announced by email with a link to the chat and one to stop the emails.

The conversation entry carries the outbox row id, so a send retried after a crash adds the
message once; the email goes once it is recorded as emailed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from adapters.web import codec
from adapters.web.mail import Mailer
from adapters.web.render import text_of
from bot.ports import Delivered, WebAccess
from bot.tokens import digest, new_token
from bot.ui import Reply

log = logging.getLogger(__name__)

PLATFORM = "web"


class WebSender:
    platform = PLATFORM
    can_check_sent = True

    def __init__(self, access: WebAccess, mailer: Mailer | None, base_url: Callable[[], str], movement: str,
                 clock: Callable[[], datetime] | None = None):
        self.access, self.mailer, self.base_url = access, mailer, base_url
        self.movement = movement
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.people: frozenset[str] = frozenset()  # who has used the web (refreshed by `refresh`)

    async def refresh(self) -> None:
        """Who can be reached here: everyone who joined or signed in on the web."""
        self.people = frozenset(await self.access.people())

    def reaches(self, member_id: str) -> bool:
        return member_id.startswith(f"{PLATFORM}:") or member_id in self.people

    async def to_member(self, member_id: str, reply: Reply, tag: str) -> Delivered:
        now = self.clock()
        await self.access.record(member_id, [("bot", codec.dump(reply))], now, tag=tag)
        entry = await self.access.entry(tag)
        if entry is None:  # recorded and removed in between: nothing more to do
            return Delivered(PLATFORM, member_id, None)
        if entry.emailed_at is None:
            await self._email(member_id, reply, entry.id, now)
        return Delivered(PLATFORM, member_id, str(entry.id))

    async def _email(self, member_id: str, reply: Reply, entry_id: int, now: datetime) -> None:
        if self.mailer is None:
            return
        person = await self.access.person(member_id)
        if person is None or not person.email or person.unsubscribed:
            return
        token = new_token()
        await self.access.issue_link(digest(token), "unsubscribe", member_id, now, None)
        base = self.base_url()
        words = reply.word  # the chrome is in the member's language (the outbox dressed the reply)
        stop = f"{base}/unsubscribe/{token}"
        body = "\n\n".join([text_of(reply), words("email_open", link=f"{base}/chat"), words("email_stop", link=stop)])
        await self.mailer.send(person.email, words("email_subject", movement=self.movement), body,
                               sender_name=self.movement, unsubscribe=stop)
        await self.access.emailed(entry_id, now)

    async def to_channel(self, coalition_id: str, reply: Reply, tag: str) -> Delivered | None:
        return None  # the web has no channels: the coalition's news goes to its Slack or Teams channel

    async def update(self, where: Delivered, reply: Reply) -> None:
        if where.message_id:
            await self.access.replace_entry(int(where.message_id), codec.dump(reply))

    async def already_sent(self, member_id: str, tag: str, since) -> Delivered | None:
        entry = await self.access.entry(tag)
        if entry is None or (self.mailer is not None and entry.emailed_at is None):
            return None  # not recorded, or its email may still be due: sending again adds neither twice
        return Delivered(PLATFORM, member_id, str(entry.id))
