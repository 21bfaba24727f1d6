"""Conversations a member would have, through the real engine on a real database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.engine import Engine
from bot.types import Capabilities, Message
from flows.registry import all_flows

from tests.support import FORMS, Chat, render


async def records(store, coalition="harbour"):
    return await store.export(coalition)


# -- join / mobilise ----------------------------------------------------------------------

async def test_join_one_question_at_a_time_then_sector_balance(engine, store):
    mo = Chat(engine, "mo")
    out = await mo.say("join")
    assert "Join Harbour Youth" in out and "Young people outside education and work" in out
    assert "1) Public sector" in out and "(1/3)" in out
    assert "(2/3)" in await mo.say("business")  # by name
    await mo.say("Harbour Bakery")
    out = await mo.say("Apprenticeships and a kitchen")
    assert "Welcome aboard, Mo Member! You are at the table for Business." in out
    assert "hidden treasure" in out
    await mo.say("1")  # yes, map one
    await mo.answer("The old library", "1", "public", "Rooms in the evening")
    out = await mo.say("no")
    assert "Who is at the table in Harbour Youth" in out and "Business: 1" in out
    assert "Still missing: Public sector, Civil society / association, Education / research, and Citizen / user" in out
    data = await records(store)
    assert [(m["member_id"], m["sector"], m["organisation"]) for m in data["members"]] == [
        ("mo", "business", "Harbour Bakery")]
    assert [(r["name"], r["kind"], r["sector"]) for r in data["resources"]] == [
        ("The old library", "place", "public")]


async def test_bad_answers_are_re_asked_and_never_stored(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("join")
    out = await mo.say("banana")
    assert "I didn't recognise 'banana'" in out and "1) Public sector" in out
    out = await mo.say("9")
    assert "number from 1 to 6" in out
    await mo.say("3")
    out = await mo.say("")
    assert "This one needs an answer." in out and "(2/3)" in out
    await mo.say("Red Cross youth")
    out = await mo.say("x" * 201)
    assert "That is 201 characters; please keep it to 200 or fewer." in out
    assert (await records(store))["members"] == []
    await mo.say("Volunteers")
    assert [m["sector"] for m in (await records(store))["members"]] == ["civil_society"]


async def test_map_alone_records_a_hidden_treasure(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("map")
    await mo.answer("Café Hav", "business", "2", "Cooking lessons for teenagers")
    out = await mo.say("no")
    assert "Thank you for mapping" in out
    assert [r["name"] for r in (await records(store))["resources"]] == ["Café Hav"]


# -- strengths, with a form-capable adapter --------------------------------------------------

async def test_strengths_form_reports_errors_per_field(engine, store):
    mo = Chat(engine, "mo", caps=FORMS)
    await mo.say("strengths")
    assert [f.id for f in mo.ask.question.fields] == ["success", "why", "enlarge", "challenge"]
    await mo.submit({"success": "The summer job fair", "why": ""})
    assert mo.ask.errors == {"why": "This one needs an answer.", "enlarge": "This one needs an answer."}
    assert (await records(store))["strengths"] == []
    out = await mo.submit({"success": "The summer job fair", "why": "Employers came to the youth club",
                           "enlarge": "Do it every quarter"})
    assert "Your experience is saved" in out
    [row] = (await records(store))["strengths"]
    assert (row["why"], row["challenge"]) == ("Employers came to the youth club", "")


async def test_typing_into_an_open_form_points_at_the_form(engine, store):
    mo = Chat(engine, "mo", caps=FORMS)
    await mo.say("strengths")
    out = await mo.say("it worked")
    assert "Please answer with the form above" in out
    assert mo.ask.question.fields[0].id == "success"


# -- frame the problem ------------------------------------------------------------------

async def test_framing_round_members_propose_leader_closes(engine, store):
    mo, lea = Chat(engine, "mo"), Chat(engine, "lea")
    await mo.say("frame")
    assert "close" not in [o.value for o in mo.ask.question.fields[0].options]  # leaders only
    await mo.say("1")
    out = await mo.answer("citizen", "Nobody asked me what I wanted to learn", "School feels irrelevant")
    assert "This round now has 1 open perspective(s)." in out
    await mo.say("2")  # propose a statement next
    out = await mo.answer("Young people are not asked what future they want", "5", "4", "5")
    assert "Transversal score: 4.7/5" in out
    out = await mo.say("frame close")
    assert "Only coalition leaders can close a framing round." in out and "Lea Leader" in out
    assert (await records(store))["frames"] == []

    await lea.say("frame")
    out = await lea.say("close")
    assert "links the 1 open perspective(s)" in out
    out = await lea.say("1")
    assert 'agreed frame: "Young people are not asked what future they want", built on 1' in out
    data = await records(store)
    [frame] = data["frames"]
    assert frame["perspective_ids"] == [data["perspectives"][0]["id"]]
    out = await lea.say("frame close")
    assert "nothing to close yet" in out


async def test_low_transversal_score_gets_advice(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("frame")
    await mo.say("propose")
    out = await mo.answer("Opening hours at the town hall", "1", "2", "1")
    assert "everyday operations are the better tool" in out


# -- start small ------------------------------------------------------------------------

async def test_experiment_timebox_is_checked(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("experiment")
    await mo.answer("Job café", "Open a café run by young people", "Three get an apprenticeship",
                    "young people, employers, young people", "Harbour Bakery", "2026-03-10")
    out = await mo.answer("2026-03-01", "Count contracts signed", "")
    assert "The end date is before the start date. Please choose an end on or after Mar 10, 2026." in out
    assert "(7/9)" in out  # asked again at the end date, earlier answers kept
    out = await mo.answer("2026-12-01", "Count contracts signed", "skip")
    assert "That timebox is 38 weeks. Start small: keep it to 12 weeks or less." in out
    out = await mo.answer("10.05.2026", "Count contracts signed", "skip")  # a Danish-style date is fine
    assert "Experiment Job café is registered, running Mar 10, 2026 to May 10, 2026" in out
    [row] = (await records(store))["experiments"]
    assert row["stakeholders"] == ["young people", "employers"] and row["owner"] == "Mo Member"


async def test_bad_date_is_re_asked(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("experiment")
    out = await mo.answer("T", "A", "E", "S", "P", "next tuesday")
    assert "Please give a date like 2026-12-01" in out


# -- impact check-in --------------------------------------------------------------------

async def register(chat, title="Job café", stakeholders="young people, employers"):
    await chat.say("experiment")
    await chat.answer(title, "do", "effect", stakeholders, "partners", "2026-03-01", "2026-04-30", "count", "")


async def test_a_leader_opens_a_round_and_each_member_answers_once(engine, store):
    mo, lea = Chat(engine, "mo"), Chat(engine, "lea")
    out = await lea.say("checkin")
    assert "There is no running experiment in Harbour Youth" in out
    await register(mo)
    out = await mo.say("checkin")
    assert "Only coalition leaders can ask every member of the coalition to check in" in out
    assert "There is no open check-in for you in Harbour Youth" in await mo.say("impact")
    out = await lea.say("checkin")  # one running experiment: chosen without asking
    assert "Check-in round on Job café is open: I am asking 2 members now" in out
    [round] = await store.rounds(open_only=True)
    rows = await store.outbox(source=f"round:{round.id}")
    assert sorted((r.occurrence, r.target, r.state) for r in rows) == [
        ("invite", "member:lea", "queued"), ("invite", "member:mo", "queued"), ("progress", "member:lea", "queued")]
    assert "still open. Close it first" in await lea.say("checkin")

    out = await mo.say(f"impact {round.id}")  # what the invitation's button types
    assert "Impact check-in: Job café" in out and "How do citizens perceive the impact" in out
    await mo.say("4")
    out = await mo.say("6")
    assert "whole number from 1 to 5" in out
    out = await mo.answer("5", "2")
    assert "Which of the intended effects" in out
    out = await mo.answer("Two apprenticeships", "skip", "https://example.org/report", "scale up")
    assert "Check-in saved for Job café. Decision: Scale up." in out
    [row] = (await records(store))["checkins"]
    assert row["citizen_impact"] == 4 and row["decision"] == "scale_up" and row["unintended"] == ""
    assert row["round_id"] == str(round.id) and row["member_id"] == "mo"
    assert row["effects"] == [{"stakeholder": "young people", "rating": 5}, {"stakeholder": "employers", "rating": 2}]
    assert "You already answered this check-in on Job café" in await mo.say("impact")

    assert "Closed the check-in round on Job café" in await lea.say("checkin close")
    assert "has closed, so I can't take answers" in await lea.say(f"impact {round.id}")
    assert "There is no open check-in round" in await lea.say("checkin close")
    assert len((await records(store))["checkins"]) == 1


async def test_an_answer_after_the_round_closed_is_not_recorded(engine, store):
    mo, lea = Chat(engine, "mo"), Chat(engine, "lea")
    await register(lea, stakeholders="pupils")
    await lea.say("checkin")
    await mo.say("impact")
    await mo.answer("3", "3", "Fewer drop-outs", "skip", "skip")
    await lea.say("checkin close")  # while Mo is still answering
    out = await mo.say("continue")
    assert "has closed, so I can't take answers" in out
    assert (await records(store))["checkins"] == []


async def test_checkin_picks_among_running_experiments_by_name(engine, store, clock):
    lea = Chat(engine, "lea")
    await register(lea, "Job café")
    await register(lea, "Homework club", "pupils")
    out = await lea.say("checkin")
    assert "1) Job café (until Apr 30, 2026)" in out and "2) Homework club" in out
    await lea.say("cancel")
    out = await lea.say("checkin homework club")
    assert "Check-in round on Homework club is open" in out
    await lea.say("checkin close")
    clock.now = datetime(2026, 5, 2, 9, tzinfo=timezone.utc)
    assert "no running experiment" in await lea.say("checkin")


# -- principle reflection ---------------------------------------------------------------

async def test_reflect_on_a_principle(engine, store):
    mo = Chat(engine, "mo")
    assert "pick a number from 1 to 7" in await mo.say("reflect 9")
    out = await mo.say("reflect")
    assert "7) #7" in out
    out = await mo.say("3")
    assert "Principle #3" in out
    out = await mo.say("The parents' evening changed our plan ✨")
    assert "Thank you for reflecting on principle #3." in out
    [row] = (await records(store))["reflections"]
    assert (row["principle"], row["text"]) == (3, "The parents' evening changed our plan ✨")


# -- ambassador story -------------------------------------------------------------------

async def test_story_share_and_withdraw(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("story")
    out = await mo.answer("Café in the harbour", "It started with one question…", "1, 7", "2 5", "coalition")
    out = await mo.say("2")
    assert "Who can see it: My coalition (anonymous)" in out
    [row] = (await records(store))["stories"]
    assert (row["principles"], row["sectors"], row["consent"], row["anonymous"]) == (
        [1, 7], ["business", "citizen"], "coalition", True)
    await mo.say("story withdraw")
    out = await mo.say("1")
    assert "Withdraw Café in the harbour?" in out
    out = await mo.say("withdraw it")
    assert "Withdrawn: Café in the harbour" in out
    [row] = (await records(store))["stories"]
    assert row["withdrawn_at"] is not None
    assert "no shared stories to withdraw" in await mo.say("story withdraw")


async def test_story_form_rejects_unknown_principle(engine, store):
    mo = Chat(engine, "mo", caps=FORMS)
    await mo.say("story")
    await mo.submit({"title": "T", "body": "B", "principles": ["1", "8"], "sectors": ["citizen"],
                     "consent": "public", "named": "yes"})
    assert "principles" in mo.ask.errors
    assert (await records(store))["stories"] == []


# -- engine rules -----------------------------------------------------------------------

async def test_cancel_leaves_nothing_half_written(engine, store):
    mo = Chat(engine, "mo")
    assert "nothing to cancel" in await mo.say("cancel")
    await mo.say("story")
    await mo.answer("Half a story", "It began")
    out = await mo.say("cancel")
    assert "Cancelled: share an ambassador story. Your unfinished answers were not saved." in out
    assert (await records(store))["stories"] == []
    assert await engine.current(mo.ref, mo.caps) == []


async def test_restart_resumes_at_the_same_question(engine, store, config, clock):
    mo = Chat(engine, "mo")
    await mo.say("story")
    await mo.answer("Kept across restarts", "Body")
    fresh = Engine(store, config, all_flows(), clock)  # a new process on the same database
    [reply] = await fresh.current(mo.ref, mo.caps)
    assert "Welcome back" in reply.blocks[0].text
    assert reply.ask.question.fields[reply.ask.field_index].id == "principles"
    again = Chat(fresh, "mo")
    await again.answer("7", "citizen", "public")
    assert "Who can see it: Public." in await again.say("yes")
    assert [s["title"] for s in (await records(store))["stories"]] == ["Kept across restarts"]


async def test_a_duplicate_delivery_is_recorded_once(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("reflect 1")
    first = await mo.say("Same answer", event_id="slack-retry-1")
    again = await mo.say("Same answer", event_id="slack-retry-1")
    assert "Thank you" in first and again == ""
    assert len((await records(store))["reflections"]) == 1


async def test_a_click_on_an_outdated_question_is_refused_politely(engine, store):
    mo = Chat(engine, "mo", caps=FORMS)
    await mo.say("reflect")
    old = mo.ask.action
    await mo.submit({"principle": "2"})
    out = await mo.submit({"principle": "5"}, action=old)
    assert "That question has moved on" in out
    assert mo.ask.question.title.startswith("Principle #2")
    await mo.submit({"text": "An answer"})
    out = await mo.submit({"text": "Another"}, action=old)
    assert "moved on" in out and "Type help to start something new" in out
    assert [r["principle"] for r in (await records(store))["reflections"]] == [2]


async def test_one_active_flow_per_conversation(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("join")
    out = await mo.say("/story")
    assert "You are in the middle of: join the coalition and say what you bring" in out
    assert "Which sector do you come from?" in out
    out = await mo.say("/status")
    assert "You haven't joined yet" in out and "Which sector do you come from?" in out


async def test_help_lists_what_this_member_may_do(engine):
    out = await Chat(engine, "mo").say("help")
    assert "join" in out and "reflect [number]" in out and "story [withdraw]" in out
    assert "checkin" not in out
    assert "checkin [experiment]" in await Chat(engine, "lea").say("help")
    assert "I don't know the command 'dance'" in await Chat(engine, "mo").say("dance")


async def test_status_lists_experiments_and_stories(engine, store):
    mo = Chat(engine, "mo")
    await register(mo)
    out = await mo.say("status")
    assert "Job café: running, Mar 1, 2026 to Apr 30, 2026, 0 check-in(s)" in out


async def test_unknown_people_can_join_an_open_coalition(engine, store):
    guest = Chat(engine, "zoe", coalition="elders")
    await guest.say("join")
    await guest.answer("citizen", "myself", "Time on Sundays", "no")
    [row] = (await records(store, "elders"))["members"]
    assert row["member_id"] == "console:zoe"


async def test_a_double_submit_records_once(engine, store):
    mo = Chat(engine, "mo", caps=FORMS)
    await mo.say("reflect 4")
    action = mo.ask.action
    from bot.types import Interaction
    events = [Interaction(mo.ref, f"click-{n}", action, {"text": "twice"}) for n in range(2)]
    results = await asyncio.gather(*(engine.handle(e, FORMS) for e in events))
    texts = [r[0].blocks[0].text for r in results]
    assert sum("Thank you" in t for t in texts) == 1 and sum("moved on" in t for t in texts) == 1
    assert len((await records(store))["reflections"]) == 1


async def test_text_round_trips_exactly(engine, store):
    mo = Chat(engine, "mo")
    typed = "Æblegrød 🍎 «مرحبا» 'quoted' \"x\"; DROP TABLE stories; --"
    await mo.say("reflect 5")
    await mo.say(typed)
    assert (await records(store))["reflections"][0]["text"] == typed


async def test_a_flow_keeps_its_coalition_wherever_it_continues(engine, store):
    """Started in one coalition's context, answered from another: recorded where it began."""
    lea_there = Chat(engine, "lea", coalition="elders")
    await lea_there.say("reflect 2")
    lea_home = Chat(engine, "lea")  # same conversation, no coalition chosen: her first is harbour
    assert lea_home.ref.key == lea_there.ref.key
    await lea_home.say("Loneliness is everyone's business")
    assert [r["principle"] for r in (await records(store, "elders"))["reflections"]] == [2]
    assert (await records(store, "harbour"))["reflections"] == []


async def test_odd_digits_are_refused_politely(engine):
    mo = Chat(engine, "mo")
    assert "pick a number from 1 to 7" in await mo.say("reflect ²")
    await mo.say("join")
    assert "I didn't recognise '①'" in await mo.say("①")


async def test_stories_are_announced_to_the_coalition_only_as_consent_allows(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("story")
    await mo.answer("Private notes", "Only for me", "1", "citizen", "only me", "yes")
    assert [r for r in mo.replies if r.to_coalition] == []
    await mo.say("story")
    await mo.answer("Shared café", "We opened a café together", "7", "business", "coalition", "no")
    [news] = [r for r in mo.replies if r.to_coalition]
    text = " ".join(b.text for b in news.blocks)
    assert news.to_coalition == "harbour" and "Shared café" in text and "We opened a café together" in text
    assert "Mo Member" not in text and "anonymously" in text  # anonymous stays anonymous


async def test_experiments_and_frames_are_announced(engine):
    lea = Chat(engine, "lea")
    await register(lea, "Job café")
    [news] = [r for r in lea.replies if r.to_coalition]
    assert "New experiment: *Job café*" in news.blocks[0].text and "employers" in news.blocks[1].text


# -- what an adapter keeps in the turn's transaction (`Engine.handle(keep=...)`) -----------------

async def test_what_the_adapter_keeps_is_written_with_the_turn_and_seen_by_it(engine, store):
    mo = Chat(engine, "mo")
    kept = []

    async def keep(unit, member_id):
        kept.append(member_id)
        await unit.save_locale(member_id, "da-DK", datetime.now(timezone.utc))

    replies = await engine.handle(Message(mo.ref, "keep-1", "help"), mo.caps, keep=keep)
    assert kept == ["mo"]
    assert "denne liste" in "\n".join(render(r) for r in replies)  # the turn read what was kept
    assert (await store.languages())["mo"] == (None, "da-DK")
    assert await engine.handle(Message(mo.ref, "keep-1", "help"), mo.caps, keep=keep) == []
    assert kept == ["mo"]  # a duplicate delivery keeps nothing again


async def test_what_the_adapter_keeps_fails_alone_and_the_turn_stands(engine, store, caplog):
    mo = Chat(engine, "mo")

    async def keep(unit, member_id):
        await unit.save_zone(member_id, "Europe/Copenhagen", "slack", datetime.now(timezone.utc))
        raise RuntimeError("the adapter's bug")

    await mo.say("reflect 1")
    replies = await engine.handle(Message(mo.ref, "keep-2", "An answer kept anyway"), mo.caps, keep=keep)
    assert "Thank you" in "\n".join(render(r) for r in replies)
    assert [r["text"] for r in (await records(store))["reflections"]] == ["An answer kept anyway"]
    assert await store.zones() == {}  # undone with the failure, and only that
    assert "keeping what the adapter knows of mo failed" in caplog.text


async def test_what_the_adapter_remembers_waits_for_the_turn_to_be_saved(engine, store, monkeypatch):
    from bot.ports import StorageUnavailable

    mo = Chat(engine, "mo")
    remembered = []

    async def keep(unit, member_id):
        await unit.save_locale(member_id, "da-DK", datetime.now(timezone.utc))
        return lambda: remembered.append(member_id)

    async def away(*_):
        raise StorageUnavailable("the database is restarting")

    with monkeypatch.context() as patched:  # the turn's writes fail after the adapter's
        patched.setattr(engine, "_dispatch", away)
        [reply] = await engine.handle(Message(mo.ref, "keep-3", "help"), mo.caps, keep=keep)
    assert "Nothing was recorded" in render(reply)
    assert remembered == [] and await store.languages() == {}  # so the adapter writes it again
    await engine.handle(Message(mo.ref, "keep-3", "help"), mo.caps, keep=keep)
    assert remembered == ["mo"] and (await store.languages())["mo"] == (None, "da-DK")
