"""A conversation driver for tests: type, click and submit as a member would."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

from adapters.console.render import render
from bot.engine import Engine
from bot.types import Capabilities, ConversationRef, Interaction, Message
from bot.ui import Reply

_ids = itertools.count(1)
FORMS = Capabilities(can_open_forms=True, can_show_buttons=True, can_update_messages=True)


class Clock:
    def __init__(self, now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Chat:
    """One member in one conversation. `say` types; `submit` answers the open question."""

    def __init__(self, engine: Engine, user: str, caps: Capabilities = Capabilities(),
                 platform: str = "console", coalition: str | None = None):
        self.engine, self.caps = engine, caps
        extra = {"coalition": coalition} if coalition else {}
        self.ref = ConversationRef(platform, "local", f"{platform}:{user}", user, extra=extra)
        self.replies: list[Reply] = []

    async def say(self, text: str, event_id: str | None = None) -> str:
        event = Message(self.ref, event_id or f"e{next(_ids)}", text)
        return self._keep(await self.engine.handle(event, self.caps))

    async def answer(self, *lines: str) -> str:
        """Type several answers in a row; returns what the bot said after the last one."""
        out = ""
        for line in lines:
            out = await self.say(line)
        return out

    async def submit(self, values: dict, event_id: str | None = None, action=None) -> str:
        """Click or submit a form for the open question (or for an older `action`)."""
        action = action or self.ask.action
        event = Interaction(self.ref, event_id or f"e{next(_ids)}", action, values)
        return self._keep(await self.engine.handle(event, self.caps))

    @property
    def ask(self):
        asks = [r.ask for r in self.replies if r.ask]
        return asks[-1] if asks else None

    def _keep(self, replies: list[Reply]) -> str:
        self.replies = replies
        return "\n".join(render(r) for r in replies)
