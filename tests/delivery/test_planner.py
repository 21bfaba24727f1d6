"""Schedules become outbox rows: each member at their own local time, once, across
daylight-saving changes and restarts; leaders' pauses and moves apply to their coalition."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from bot.records import ScheduleChanged

from tests.delivery.conftest import make_config
from bot.scheduler import Planner

UTC = timezone.utc


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def run(planner, clock, start, end, step=timedelta(hours=1)):
    """Tick the planner from `start` to `end`, as the running scheduler would."""
    clock.now = start
    while clock.now <= end:
        await planner.tick()
        clock.now += step


async def prompts(store, schedule="weekly-principle"):
    return sorted(((r.target, r.occurrence, r.due_at) for r in await store.outbox(source=f"schedule:{schedule}")))


async def test_monday_nine_oclock_reaches_every_member_once(planner, store, clock):
    await run(planner, clock, at(2026, 3, 2, 6), at(2026, 3, 2, 12))
    monday = at(2026, 3, 2, 8)  # 09:00 in Copenhagen (CET)
    assert await prompts(store) == [("member:cora", "2026-03-02", monday), ("member:lea", "2026-03-02", monday),
                                    ("member:mo", "2026-03-02", monday)]
    await run(planner, clock, at(2026, 3, 2, 12), at(2026, 3, 3, 0))  # and a second scheduler, or a retry
    assert len(await prompts(store)) == 3
    [row, *_] = await store.outbox(source="schedule:weekly-principle")
    assert row.payload == {"kind": "principle", "number": 2}  # week 8 since the anchor: the 2nd principle


async def test_the_principle_rotates_through_all_seven(planner, store, clock):
    await run(planner, clock, at(2026, 3, 1), at(2026, 4, 20, 12), step=timedelta(hours=6))
    numbers = [r.payload["number"] for r in await store.outbox(source="schedule:weekly-principle") if r.target == "member:mo"]
    assert numbers == [2, 3, 4, 5, 6, 7, 1, 2]


async def test_each_member_at_their_own_local_time(planner, store, clock):
    await store.save_zone("mo", "America/New_York", "slack", at(2026, 3, 1))
    await run(planner, clock, at(2026, 3, 2, 0), at(2026, 3, 2, 18))
    due = {t: d for t, _, d in await prompts(store)}
    assert due["member:lea"] == at(2026, 3, 2, 8)  # 09:00 CET
    assert due["member:mo"] == at(2026, 3, 2, 14)  # 09:00 EST


async def test_spring_and_autumn_changes_neither_skip_nor_double(planner, store, clock):
    await store.save_zone("mo", "America/New_York", "slack", at(2026, 3, 1))
    await run(planner, clock, at(2026, 3, 20), at(2026, 4, 7), step=timedelta(minutes=127))
    rows = await prompts(store)
    lea = [d for t, _, d in rows if t == "member:lea"]
    mo = [d for t, _, d in rows if t == "member:mo"]
    # Copenhagen: CET until 29 March, then CEST. New York: EDT since 8 March.
    assert lea == [at(2026, 3, 23, 8), at(2026, 3, 30, 7), at(2026, 4, 6, 7)]
    assert mo == [at(2026, 3, 23, 13), at(2026, 3, 30, 13), at(2026, 4, 6, 13)]
    await run(planner, clock, at(2026, 10, 20), at(2026, 11, 10), step=timedelta(minutes=133))
    rows = await prompts(store)
    lea = [d for t, o, d in rows if t == "member:lea" and o >= "2026-10"]
    mo = [d for t, o, d in rows if t == "member:mo" and o >= "2026-10"]
    assert lea == [at(2026, 10, 26, 8), at(2026, 11, 2, 8), at(2026, 11, 9, 8)]  # CET from 25 October
    assert mo == [at(2026, 10, 26, 13), at(2026, 11, 2, 14), at(2026, 11, 9, 14)]  # EST from 1 November


async def test_a_time_inside_the_spring_gap_still_runs_once(store, clock, tmp_path):
    config = make_config(tmp_path, [{"id": "night", "kind": "story", "days": ["sun"], "time": "02:30"}])
    planner = Planner(store, config, clock)
    await run(planner, clock, at(2026, 3, 27), at(2026, 3, 30), step=timedelta(minutes=50))
    [(_, day, due)] = [r for r in await prompts(store, "night") if r[0] == "member:lea"]
    assert (day, due) == ("2026-03-29", at(2026, 3, 29, 1, 30))  # 03:30 CEST: the clock skipped 02:30


async def test_after_downtime_recent_runs_are_sent_once_and_old_ones_skipped(planner, store, clock, caplog):
    await run(planner, clock, at(2026, 3, 2, 6), at(2026, 3, 2, 6))
    clock.now = at(2026, 3, 2, 12)  # down from 06:00 to 12:00: 09:00 local was 4 hours ago
    await planner.tick()
    assert len(await prompts(store)) == 3
    clock.now = at(2026, 3, 10, 12)  # down for a week: last Monday is long past the 6 h grace
    with caplog.at_level(logging.WARNING):
        await planner.tick()
    assert len(await prompts(store)) == 3
    assert "weekly-principle: skipped 3 message(s) missed by more than 6:00:00" in caplog.text


async def test_a_new_schedule_does_not_send_what_it_missed(planner, store, clock):
    clock.now = at(2026, 3, 2, 12)  # first start after 09:00
    await planner.tick()
    assert await prompts(store) == []


async def test_leaders_pause_and_move_a_schedule_for_their_coalition(planner, store, clock):
    async with store.unit() as unit:
        await unit.add([ScheduleChanged("weekly-principle", "harbour", "lea", time="10:30")], clock.now)
        await unit.add([ScheduleChanged("weekly-principle", "elders", "cora", paused=True)], clock.now)
    await run(planner, clock, at(2026, 3, 2, 0), at(2026, 3, 3, 0))
    assert await prompts(store) == [("member:lea", "2026-03-02", at(2026, 3, 2, 9, 30)),
                                    ("member:mo", "2026-03-02", at(2026, 3, 2, 9, 30))]
    async with store.unit() as unit:
        await unit.add([ScheduleChanged("weekly-principle", "elders", "cora", paused=False)], clock.now)
    await run(planner, clock, at(2026, 3, 3, 0), at(2026, 3, 9, 12))
    assert ("member:cora", "2026-03-09", at(2026, 3, 9, 8)) in await prompts(store)
    assert not [r for r in await prompts(store) if r[0] == "member:cora" and r[1] == "2026-03-02"]


async def test_monthly_story_goes_out_on_the_first_tuesday(planner, store, clock):
    await run(planner, clock, at(2026, 3, 1), at(2026, 5, 10), step=timedelta(hours=5))
    days = sorted({o for t, o, _ in await prompts(store, "monthly-story")})
    assert days == ["2026-03-03", "2026-04-07", "2026-05-05"]
