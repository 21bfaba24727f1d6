"""The limiter keeps every window, with a controllable clock where it can (no real waiting),
and with short real windows where a call in flight matters."""

from __future__ import annotations

import asyncio
import time

from adapters.ratelimit import Limiter, hold

TEAMS = [(7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0)]


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.now += seconds


def sends(limiter, time, key, count, monkeypatch):
    monkeypatch.setattr(asyncio, "sleep", time.sleep)
    stamps = []

    async def go():
        for _ in range(count):
            await limiter.wait(key)
            stamps.append(time.now)

    asyncio.run(go())
    return stamps


def within(stamps, seconds):
    """The most sends in any window of `seconds`."""
    return max(sum(1 for t in stamps if s <= t < s + seconds) for s in stamps)


def test_teams_windows_all_hold(monkeypatch):
    time = FakeTime()
    stamps = sends(Limiter(TEAMS, clock=time), time, "conv-1", 130, monkeypatch)
    assert within(stamps, 1.0) <= 7 and within(stamps, 2.0) <= 8 and within(stamps, 30.0) <= 60
    assert stamps[:7] == [0.0] * 7 and stamps[7] == 1.0  # a burst of 7, then the 8th waits
    assert 30.0 <= stamps[60] < 31.0  # the 61st waits for the 30 s window to roll, no longer
    assert stamps[-1] < 70  # 130 sends take just over two 30 s windows


def test_keys_are_independent(monkeypatch):
    time = FakeTime()
    limiter = Limiter([(1, 1.0)], clock=time)
    assert sends(limiter, time, "a", 1, monkeypatch) == [0.0]
    assert sends(limiter, time, "b", 1, monkeypatch) == [0.0]
    assert limiter.delay("a") == 1.0


async def test_a_call_counts_while_in_flight_and_from_its_completion():
    # A call the network delays must still land inside the window it was counted in: the
    # next one waits a whole window after the first one's answer, not after its start.
    limiter = Limiter([(1, 0.2)])
    stamps = {}

    async def call(name: str, takes: float) -> None:
        async with hold((limiter, "tenant")):
            stamps[name] = time.monotonic()
            await asyncio.sleep(takes)
        stamps[name + " done"] = time.monotonic()

    await asyncio.gather(call("slow", 0.15), call("next", 0.0))
    assert stamps["next"] - stamps["slow done"] >= 0.2 - 0.01


async def test_hold_counts_in_every_limiter_or_waits_for_all():
    channel, workspace = Limiter([(1, 0.3)]), Limiter([(10, 1.0)])
    started = time.monotonic()
    for _ in range(2):
        async with hold((channel, "C1"), (workspace, "T1")):
            pass
    assert time.monotonic() - started >= 0.3 - 0.01  # the channel's window held the second
    assert workspace.delay("T1") == 0 and channel.delay("C1") > 0  # counted in both
