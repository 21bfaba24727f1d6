"""The limiter keeps every window, with a controllable clock where it can (no real waiting),
and with short real windows where a call in flight matters."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.ratelimit import TRUSTED, Limiter, departing, hold

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


async def test_a_call_counts_while_in_flight():
    # The platform may see a call any time until its answer: the next one waits for that
    # answer, then for the rest of the window.
    limiter = Limiter([(1, 0.2)])
    stamps = {}

    async def call(name: str, takes: float) -> None:
        async with hold((limiter, "tenant")):
            stamps[name] = time.monotonic()
            await asyncio.sleep(takes)
        stamps[name + " done"] = time.monotonic()

    await asyncio.gather(call("slow", 0.15), call("next", 0.0))
    assert stamps["next"] >= stamps["slow done"]
    assert stamps["next"] - stamps["slow"] >= 0.2 - 0.01


def calls_taking(round_trips, monkeypatch):
    """One call after another through a 1-per-second limiter, each answered after its round
    trip (simulated time): when each one left."""
    clock = FakeTime()
    monkeypatch.setattr(asyncio, "sleep", clock.sleep)
    limiter = Limiter([(1, 1.0)], clock=clock)
    stamps = []

    async def go():
        for trip in round_trips:
            async with hold((limiter, "tenant")):
                stamps.append(clock.now)
                await asyncio.sleep(trip)

    asyncio.run(go())
    return stamps


def gaps(stamps):
    return [round(b - a, 6) for a, b in zip(stamps, stamps[1:])]


def test_latency_every_call_has_costs_no_budget_once_it_is_known(monkeypatch):
    # 150 ms there and back on every call: one call a second, not one per 1.15 s, once the
    # limiter has seen enough round trips to trust that 150 ms are the network's.
    stamps = calls_taking([0.15] * (TRUSTED + 5), monkeypatch)
    assert gaps(stamps)[:TRUSTED - 1] == [1.15] * (TRUSTED - 1)
    assert gaps(stamps)[TRUSTED:] == [1.0] * 4


def test_a_call_slower_than_the_others_counts_from_when_it_could_have_arrived(monkeypatch):
    # One call took 0.4 s longer than the rest: it may have reached the platform that much
    # after it left, so the next one waits a window from there.
    stamps = calls_taking([0.15] * TRUSTED + [0.55, 0.15, 0.15], monkeypatch)
    assert gaps(stamps)[TRUSTED - 1:] == [1.0, 1.4, 1.0]


def test_round_trips_that_differ_widely_are_not_taken_for_latency(monkeypatch):
    # Calls that wait for each other on a busy event loop: how long each one waited before
    # it left is unknown, so each counts from its answer.
    trips = [0.05 + 0.03 * (n % 10) for n in range(TRUSTED + 10)]
    stamps = calls_taking(trips, monkeypatch)
    assert gaps(stamps) == [round(1.0 + trip, 6) for trip in trips[:-1]]


async def test_hold_counts_in_every_limiter_or_waits_for_all():
    channel, workspace = Limiter([(1, 0.3)]), Limiter([(10, 1.0)])
    started = time.monotonic()
    for _ in range(2):
        async with hold((channel, "C1"), (workspace, "T1")):
            pass
    assert time.monotonic() - started >= 0.3 - 0.01  # the channel's window held the second
    assert workspace.delay("T1") == 0 and channel.delay("C1") > 0  # counted in both


async def test_a_call_held_until_departure_does_its_preparing_first_and_counts_when_it_leaves():
    # Two calls through a 1-per-0.3 s limiter, each preparing its request for 0.2 s first (on
    # a busy loop: building and serialising the message). Held at departure, the second one
    # prepares while the first is counted, and leaves one window after the first left.
    limiter = Limiter([(1, 0.3)])
    left = []

    async def call() -> None:
        async with hold((limiter, "tenant"), at_departure=True):
            await asyncio.sleep(0.2)  # preparing: not counted, nothing waited for yet
            await departing()
            left.append(time.monotonic())
            await departing()  # a retry of the same call: counted once

    started = time.monotonic()
    await asyncio.gather(call(), call())
    assert left[0] - started == pytest.approx(0.2, abs=0.05)
    assert left[1] - left[0] >= 0.3 - 0.01  # the window kept
    assert left[1] - started < 0.2 + 0.3 + 0.1  # not prepare + window + prepare
    assert limiter.delay("tenant") > 0  # both counted


async def test_a_call_held_until_departure_that_never_left_counts_nothing():
    limiter = Limiter([(1, 10.0)])
    with pytest.raises(RuntimeError):
        async with hold((limiter, "tenant"), at_departure=True):
            raise RuntimeError("the message could not be built")
    assert limiter.delay("tenant") == 0
    await departing()  # outside any hold: nothing to count
    assert limiter.delay("tenant") == 0
