"""Events a bot has acknowledged but not yet handled, bounded so acks stay fast under a burst.

Slack wants an ack within 3 s and gets it at once; the engine's work follows in the
background. Left unbounded, a burst faster than the engine piles up thousands of tasks that
all compete with the acks for the event loop (and for the collector). So only `running`
events are worked on at a time, up to `waiting` more wait for a turn without using any CPU,
and past that the adapter refuses the event: it tells the member to send it again and
records nothing of it, so nothing is lost and nothing is handled twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable

log = logging.getLogger(__name__)

RUNNING = 32  # events worked on at once: enough to fill a group commit and to cover network waits
WAITING = 1000  # events acknowledged and waiting for a turn (COCREATE_BACKLOG); ~10 s of work here


class Backlog:
    def __init__(self, name: str, running: int = RUNNING, waiting: int = WAITING):
        self.name = name
        self.limit = running + waiting
        self.tasks: set[asyncio.Task] = set()
        self.refused = 0
        self._turns = asyncio.Semaphore(running)

    @property
    def full(self) -> bool:
        """True when a new event must be refused. Counted, and logged once per overload: it
        ends when the backlog is down to half (not at the first free place, which a burst
        takes again at once)."""
        if len(self.tasks) < self.limit:
            if self.refused and len(self.tasks) <= self.limit // 2:
                log.warning("%s: taking events again (%d refused while busy)", self.name, self.refused)
                self.refused = 0
            return False
        if not self.refused:
            log.warning("%s: %d events acknowledged and not yet handled: refusing new ones", self.name,
                        len(self.tasks))
        self.refused += 1
        return True

    def spawn(self, work: Awaitable[None]) -> asyncio.Task:
        """Run `work` when a turn is free. Callers check `full` first, except for work that must
        never be refused (an uninstall)."""
        task = asyncio.ensure_future(self._in_turn(work))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _in_turn(self, work: Awaitable[None]) -> None:
        async with self._turns:
            await work

    async def drain(self, timeout: float) -> None:
        """Let acknowledged work finish before the process exits."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)

