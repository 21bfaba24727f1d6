"""Stay inside a platform's documented rate limits instead of discovering them by 429s.

`Limiter([(7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)])` allows, per key (e.g. a Teams
conversation), at most 7 sends in any 1 s, 8 in any 2 s, and so on; `await wait(key)`
returns when one more send is allowed and counts it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from typing import Callable, Sequence


class Limiter:
    def __init__(self, windows: Sequence[tuple[int, float]], clock: Callable[[], float] = time.monotonic):
        self.windows = sorted(windows, key=lambda w: w[1])
        self.clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def delay(self, key: str) -> float:
        """Seconds until one more send to `key` fits every window (0 if it fits now)."""
        sent, now = self._sent[key], self.clock()
        longest = self.windows[-1][1]
        while sent and sent[0] <= now - longest:
            sent.popleft()
        wait = 0.0
        for count, seconds in self.windows:
            recent = [t for t in sent if t > now - seconds] if len(sent) >= count else ()
            if len(recent) >= count:
                wait = max(wait, recent[-count] + seconds - now)
        return wait

    async def wait(self, key: str) -> None:
        async with self._locks[key]:  # one sender at a time per key, so counts stay true
            while (pause := self.delay(key)) > 0:
                await asyncio.sleep(pause)
            self._sent[key].append(self.clock())
