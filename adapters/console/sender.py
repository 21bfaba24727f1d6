"""The terminal chat's outbound side: messages the bot sends on its own (check-ins,
reminders, scheduled prompts) are printed for the person at the keyboard, when they next
type. Messages for other members stay queued until they open the chat themselves."""

from __future__ import annotations

from typing import Callable

from bot.ports import Delivered
from bot.ui import Reply


class ConsoleSender:
    platform = "console"
    can_check_sent = False

    def __init__(self, config, member_id: str, show: Callable[[Reply, str], None]):
        self.config, self.member_id, self.show = config, member_id, show

    def reaches(self, member_id: str) -> bool:
        return member_id == self.member_id

    async def to_member(self, member_id: str, reply: Reply, tag: str) -> Delivered:
        self.show(reply, reply.word("console_from_bot"))
        return Delivered(self.platform, f"console:{member_id}", tag)

    async def to_channel(self, coalition_id: str, reply: Reply, tag: str) -> Delivered | None:
        return None  # the terminal has no channels: summaries go to leaders instead

    async def update(self, where: Delivered, reply: Reply) -> None:
        self.show(reply, reply.word("console_updated"))  # a terminal cannot edit what it printed

    async def already_sent(self, member_id: str, tag: str, since) -> Delivered | None:
        return None
