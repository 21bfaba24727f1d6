"""`schedule`: leaders see their coalition's schedules and pause, resume or move them."""

from __future__ import annotations

from tests.support import Chat


async def test_leaders_list_pause_move_and_resume_their_schedules(engine, store, clock):
    lea = Chat(engine, "lea")  # clock: Monday 2 March 2026, 10:00 in Copenhagen
    out = await lea.say("schedule")
    assert "Schedules for Harbour Youth" in out
    assert "- `weekly-principle`: principle of the week, Monday at 9:00\u202fAM, every week; next: Mon, Mar 9 at 9:00\u202fAM" in out
    assert "- `monthly-story`: ambassador story invitation, Tuesday at 10:00\u202fAM, every month (first in the month); " \
           "next: Tue, Mar 3 at 10:00\u202fAM" in out
    out = await lea.say("schedule pause weekly-principle")
    assert "Paused weekly-principle for Harbour Youth" in out
    assert "`weekly-principle`: principle of the week, Monday at 9:00\u202fAM, every week; paused" in await lea.say("schedule")
    out = await lea.say("schedule time weekly-principle 7:45")
    assert "weekly-principle now goes out at 7:45\u202fAM (each member's local time) for Harbour Youth" in out
    out = await lea.say("schedule resume weekly-principle")
    assert "Resumed weekly-principle for Harbour Youth. The next one is Mon, Mar 9 at 7:45\u202fAM" in out
    async with store.unit() as unit:
        overrides = await unit.overrides()
    assert {k: (v.paused, v.time) for k, v in overrides.items()} == {("weekly-principle", "harbour"): (False, "07:45")}


async def test_bad_schedule_commands_change_nothing_and_say_what_to_do(engine, store):
    lea = Chat(engine, "lea")
    assert "I don't know a schedule called 'weekly'" in await lea.say("schedule pause weekly")
    assert "is not a time of day. Write it as HH:MM" in await lea.say("schedule time weekly-principle 25:00")
    assert "Try `schedule`, `schedule pause <name>`" in await lea.say("schedule stop weekly-principle")
    async with store.unit() as unit:
        assert await unit.overrides() == {}


async def test_members_may_not_change_schedules(engine, store):
    out = await Chat(engine, "mo").say("schedule pause weekly-principle")
    assert "Only coalition leaders can see the coalition's schedules" in out
    async with store.unit() as unit:
        assert await unit.overrides() == {}
