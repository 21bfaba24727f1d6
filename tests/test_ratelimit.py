"""The limiter keeps every window, with a controllable clock (no real waiting)."""

from __future__ import annotations

import asyncio

from adapters.ratelimit import Limiter

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
