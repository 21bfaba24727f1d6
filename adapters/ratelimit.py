"""Stay inside a platform's documented rate limits instead of discovering them by 429s.

`Limiter([(7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)])` allows, per key (e.g. a Teams
conversation), at most 7 sends in any 1 s, 8 in any 2 s, and so on; `await wait(key)`
returns when one more send is allowed and counts it.

`smooth(rate)` turns a rate ("600 a minute" = 10/s) into windows that keep under a token
bucket of that rate whose burst is one second's worth; `async with hold((a, k1), (b, k2)):`
waits until every limiter allows one more call and counts it in all of them: as "now" while
it is in flight, and once answered at its start plus however much longer its round trip took
than the latency the limiter's recent calls all had. That latency (the network's) shifts
every arrival alike and costs no budget; a delay only some calls have (a busy event loop, a
slow hop) can bunch arrivals up, and is counted. bench/fanout.py measured 429s from Teams'
sliding window when calls counted at their start; counting them at their answer kept every
window but, with 150 ms of latency, lost a quarter of the budget.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, AsyncIterator, Callable, Sequence


class Limiter:
    def __init__(self, windows: Sequence[tuple[int, float]], clock: Callable[[], float] = time.monotonic):
        self.windows = sorted(windows, key=lambda w: w[1])
        self.clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._flying: dict[str, int] = {}
        self._trips: deque[float] = deque(maxlen=TRIPS)  # the latest round trips, seconds

    def delay(self, key: str) -> float:
        """Seconds until one more send to `key` fits every window (0 if it fits now).
        Calls in flight (`begin` without `end`) count as sent now."""
        sent, now = self._sent[key], self.clock()
        longest = self.windows[-1][1]
        while sent and sent[0] <= now - longest:
            sent.popleft()
        flying = self._flying.get(key, 0)
        wait = 0.0
        for count, seconds in self.windows:
            if flying >= count:  # the window is full of calls still on their way
                wait = max(wait, IN_FLIGHT_POLL)
                continue
            need = count - flying  # completed sends in the window that leave no room
            recent = [t for t in sent if t > now - seconds] if len(sent) >= need else ()
            if len(recent) >= need:
                wait = max(wait, recent[-need] + seconds - now)
        return wait

    def set_windows(self, windows: Sequence[tuple[int, float]]) -> None:
        """Change the limits at run time (cheap: sends already counted stay counted)."""
        self.windows = sorted(windows, key=lambda w: w[1])

    def begin(self, key: str) -> float:
        """A call to `key` leaves now (after `delay(key)` said it fits); returns when, for `end`."""
        self._flying[key] = self._flying.get(key, 0) + 1
        return self.clock()

    def end(self, key: str, began: float | None = None) -> None:
        """Its answer came back: from now on it counts at `began` plus the part of its round
        trip beyond the latency every call has (`_latency`; without `began`: at this moment).

        The platform saw the call at `began` + the latency every call has + this call's own
        extra delay (a busy event loop, a slow hop). The shared latency shifts every call
        alike, so it costs no budget; the extra is within the round trip beyond the shared
        one, so against later calls this one counts no earlier than the platform saw it."""
        self._flying[key] -= 1
        now = self.clock()
        at = now
        if began is not None:
            self._trips.append(now - began)
            at = now - self._latency()
        sent = self._sent[key]
        i = len(sent)
        while i and sent[i - 1] > at:  # keep them in order (the quickest trip may have changed)
            i -= 1
        sent.insert(i, at)

    def _latency(self) -> float:
        """The round trip every call has, as the recent ones tell: their floor, less how far
        the quickest quarter of them spreads above it (a floor they agree on is the network's;
        a spread one is also calls waiting for each other on a busy event loop). Nothing
        until TRUSTED trips were seen: the first burst may all have waited for each other."""
        if len(self._trips) < TRUSTED:
            return 0.0
        trips = sorted(self._trips)
        floor, quarter = trips[0], trips[len(trips) // 4]
        return max(0.0, floor - (quarter - floor))

    async def wait(self, key: str) -> None:
        async with self._locks[key]:  # one sender at a time per key, so counts stay true
            while (pause := self.delay(key)) > 0:
                await asyncio.sleep(pause)
            self._sent[key].append(self.clock())


# Windows run this much longer than the rate says, for clocks and rounding.
HEADROOM = 0.02
IN_FLIGHT_POLL = 0.005  # seconds between looks while a window is full of calls in flight
TRIPS = 100  # round trips a limiter remembers, to tell the latency every call has (`_latency`)
TRUSTED = 50  # round trips seen before any latency is taken off a call's count


def smooth(per_second: float, headroom: float = HEADROOM) -> list[tuple[int, float]]:
    """One window for a steady `per_second` rate: at most n sends in n / rate seconds
    (stretched by `headroom`), n = half a second's worth (at least 1).

    The platforms' budgets behave like token buckets whose burst is about one second's worth
    (Slack: "1 per second, bursts allowed"). A sliding window of n sends lets 2n through in
    just over one window; with n <= rate/2 that is at most rate + n <= one second's burst plus
    what refills meanwhile, so no burst empties the bucket, and the long-run rate is `rate`.
    """
    if per_second <= 0:
        raise ValueError("the rate must be positive")
    n = max(1, math.floor(per_second / 2))
    return [(n, n / per_second * (1 + headroom))]


def padded(windows: Sequence[tuple[int, float]], headroom: float = HEADROOM) -> list[tuple[int, float]]:
    """Documented sliding windows (e.g. Teams' 7 per 1 s), each stretched by `headroom`."""
    return [(int(n), float(seconds) * (1 + headroom)) for n, seconds in windows]


@asynccontextmanager
async def hold(*slots: tuple[Limiter, str], at_departure: bool = False) -> AsyncIterator[None]:
    """Around one call: wait until every (limiter, key) allows one more, then count the call
    in all of them while it is in flight and as `Limiter.end` says afterwards.

    Counting in all at once (no await between the last check and `begin`) matters: a call
    counted in one limiter while it waits for another would leave later than counted.

    `at_departure`: wait and count only when the transport's request leaves (`departing`), so
    the work before it (building and serialising the message) is done before the limiters let
    it go. Released in a burst, calls that still had that work to do left one after another,
    each later than counted, and every window lost the last one's delay."""
    held = _Held(slots)
    if not at_departure:
        await held.go()
    token = _HELD.set(held if at_departure else None)
    try:
        yield
    finally:
        _HELD.reset(token)
        for (limiter, key), at in zip(slots, held.began or ()):
            limiter.end(key, at)


async def departing() -> None:
    """A transport's request is about to leave: a `hold(..., at_departure=True)` around it waits
    for its limiters and counts it now (once, whatever retries follow)."""
    held = _HELD.get()
    if held is not None and held.began is None:
        await held.go()


class _Held:
    def __init__(self, slots: Sequence[tuple[Limiter, str]]):
        self.slots = slots
        self.began: list[float] | None = None

    async def go(self) -> None:
        while (pause := max((limiter.delay(key) for limiter, key in self.slots), default=0.0)) > 0:
            await asyncio.sleep(pause)
        self.began = [limiter.begin(key) for limiter, key in self.slots]


_HELD: ContextVar[_Held | None] = ContextVar("ratelimit_held", default=None)


class Budgeted:
    """A sender's rate budget: its platform `limits`, of which this replica uses `share`
    (0 < share <= 1; the delivery loop sets 1 / live replicas). Setting either re-applies
    the windows through `_configure`."""

    _limits: Any = None
    _share: float = 1.0

    @property
    def share(self) -> float:
        return self._share

    @share.setter
    def share(self, share: float) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self._share = share
        self._configure()

    @property
    def limits(self) -> Any:
        return self._limits

    @limits.setter
    def limits(self, limits: Any) -> None:
        self._limits = limits
        self._configure()

    def _configure(self) -> None:
        raise NotImplementedError
