"""`schedule`: leaders see their coalition's schedules and pause, resume or move them."""

from __future__ import annotations

from tests.support import Chat


async def test_leaders_list_pause_move_and_resume_their_schedules(engine, store, clock):
    lea = Chat(engine, "lea")  # clock: Monday 2 March 2026, 10:00 in Copenhagen
    out = await lea.say("schedule")
    assert "Schedules for Harbour Youth" in out
    assert "- `weekly-principle`: principle of the week, Mon at 09:00, every week; next: Mon 09 Mar 09:00" in out
    assert "- `monthly-story`: ambassador story invitation, Tue at 10:00, every month (first in the month); " \
           "next: Tue 03 Mar 10:00" in out
    out = await lea.say("schedule pause weekly-principle")
    assert "Paused weekly-principle for Harbour Youth" in out
    assert "`weekly-principle`: principle of the week, Mon at 09:00, every week; paused" in await lea.say("schedule")
    out = await lea.say("schedule time weekly-principle 7:45")
    assert "weekly-principle now goes out at 07:45 (each member's local time) for Harbour Youth" in out
    out = await lea.say("schedule resume weekly-principle")
    assert "Resumed weekly-principle for Harbour Youth. The next one is Mon 09 Mar 07:45" in out
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
