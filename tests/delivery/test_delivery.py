"""The delivery loop: each outbox row reaches its member once, at a humane hour, survives
429s and restarts, and what cannot be delivered is reported to the coalition's leaders."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.delivery import MIN_HELD, Delivery
from bot.ports import FAILED, QUEUED, RETRY, SENDING, SENT, SKIPPED, DeliveryError, Outgoing
from bot.ui import Buttons

from tests.delivery.conftest import Recorder, make_config
from tests.support import Chat

UTC = timezone.utc


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def register(chat, title="Job café", stakeholders="young people"):
    await chat.say("experiment")
    await chat.answer(title, "do", "effect", stakeholders, "partners", "2026-03-01", "2026-04-30", "count", "")


async def open_round(engine, store):
    lea = Chat(engine, "lea")
    await register(lea)
    assert "is open" in await lea.say("checkin")
    [round] = await store.rounds(open_only=True)
    return round


async def states(store, source):
    return {(r.occurrence, r.target): r.state for r in await store.outbox(source=source)}


async def test_a_round_reaches_every_member_once_and_the_leader_watches_it(engine, store, delivery, recorder):
    round = await open_round(engine, store)
    assert await delivery.run_once() == 3
    invite = recorder.texts("mo")[0]
    assert "Impact check-in: Job café" in invite and "(Harbour Youth)" in invite
    [(_, reply, _)] = [s for s in recorder.sent if s[0] == "mo"]
    [buttons] = [b for b in reply.blocks if isinstance(b, Buttons)]
    assert buttons.buttons[0].command == f"impact {round.id}"
    assert len(recorder.texts("lea")) == 2  # the invitation and the progress message
    assert await delivery.run_once() == 0  # nothing is sent twice
    # One update, or none when the progress message went out after both invitations anyway.
    assert await delivery.refresh_progress() == (0 if any("sent 2/2" in t for t in recorder.texts("lea")) else 1)
    shown = [t for t in recorder.texts("lea") if "unreachable" in t]  # the progress message, as sent
    shown += [update.blocks[0].text for where, update in recorder.updates if where.message_id]
    assert "sent 2/2 · 0 unreachable · 0 answered" in shown[-1]
    mo = Chat(engine, "mo")
    await mo.say(f"impact {round.id}")
    await mo.answer("4", "5", "More apprenticeships", "skip", "skip", "continue")
    assert await delivery.refresh_progress() == 1
    assert "0 unreachable · 1 answered" in recorder.updates[-1][1].blocks[0].text
    assert await delivery.refresh_progress() == 0  # unchanged: no needless update


async def test_quiet_hours_and_days_off_wait_for_the_members_morning(engine, store, delivery, recorder, clock):
    clock.now = at(2026, 3, 6, 19, 30)  # Friday 20:30 in Copenhagen
    round = await open_round(engine, store)
    await delivery.run_once()
    assert recorder.texts("mo") == []  # not on Friday night
    [mo] = [r for r in await store.outbox(source=f"round:{round.id}") if r.target == "member:mo"]
    assert mo.state == RETRY and mo.due_at == at(2026, 3, 9, 7) and mo.attempts == 1  # Monday 08:00
    assert len(recorder.texts("lea")) == 1  # the leader's own progress message is not held back
    clock.now = at(2026, 3, 9, 7)
    await delivery.run_once()
    assert len(recorder.texts("mo")) == 1


async def test_a_429_waits_for_retry_after_then_sends_once(engine, store, delivery, recorder, clock):
    recorder.fail["mo"] = [DeliveryError("ratelimited", retry_after=30)]
    round = await open_round(engine, store)
    await delivery.run_once()
    [mo] = [r for r in await store.outbox(source=f"round:{round.id}") if r.target == "member:mo"]
    assert mo.state == RETRY and mo.error == "ratelimited"
    assert timedelta(seconds=30) <= mo.due_at - clock.now <= timedelta(seconds=38)  # plus jitter
    await delivery.run_once()
    assert recorder.texts("mo") == []  # not before Retry-After
    clock.now += timedelta(seconds=40)
    await delivery.run_once()
    assert len(recorder.texts("mo")) == 1
    assert (await states(store, f"round:{round.id}"))[("invite", "member:mo")] == SENT


async def test_transient_errors_back_off_then_give_up_and_report(engine, store, delivery, recorder, clock):
    recorder.fail["mo"] = [DeliveryError("HTTP 503")] * 6
    round = await open_round(engine, store)
    pauses = []
    for _ in range(6):
        await delivery.run_once()
        [mo] = [r for r in await store.outbox(source=f"round:{round.id}") if r.target == "member:mo"]
        if mo.state != RETRY:
            break
        pauses.append((mo.due_at - clock.now).total_seconds())
        clock.now = mo.due_at
    assert [round_down(p) for p in pauses] == [2, 4, 8, 16, 32]  # exponential, with jitter on top
    assert mo.state == FAILED and mo.error == "gave up after 6 attempts: HTTP 503"


def round_down(seconds: float) -> int:
    return 2 ** (int(seconds).bit_length() - 1)


async def test_a_permanent_failure_is_never_retried_and_leaders_are_told(engine, store, delivery, recorder, clock):
    recorder.fail["mo"] = [DeliveryError("account_inactive", permanent=True)]
    round = await open_round(engine, store)
    await delivery.run_once()
    assert (await states(store, f"round:{round.id}"))[("invite", "member:mo")] == FAILED
    clock.now += timedelta(minutes=1)  # the leaders' summary waits a minute for others
    await delivery.run_once()
    assert any("I could not reach Mo Member on Slack: their account is deactivated." in t for t in recorder.texts("lea"))
    clock.now += timedelta(hours=1)
    await delivery.run_once()
    assert recorder.texts("mo") == []
    await delivery.refresh_progress()  # an update, unless the progress message went out after the failure
    shown = [t for t in recorder.texts("lea") if "unreachable" in t and "could not" not in t]
    shown += [update.blocks[0].text for _, update in recorder.updates]
    assert "sent 1/2 · 1 unreachable" in shown[-1]


async def test_many_refusals_are_one_summary_for_each_leader(engine, store, delivery, recorder, clock):
    lea = Chat(engine, "lea")
    for n in range(4):  # people added by email whom no platform reaches yet, and Mo who blocked the app
        assert "is now a member" in await lea.say(f"add p{n}@by.dk Person {n}")
    recorder.fail["mo"] = [DeliveryError("account_inactive", permanent=True)]
    round = await open_round(engine, store)
    await delivery.run_once()
    failed = [r for r in await store.outbox(source=f"round:{round.id}") if r.state == FAILED]
    assert len(failed) == 5 and {r.platform for r in failed} == {"slack", None}
    await delivery.run_once()
    assert not [t for t in recorder.texts("lea") if "could not reach" in t]  # gathering the rest first
    clock.now += timedelta(minutes=1)
    await delivery.run_once()
    [summary] = [t for t in recorder.texts("lea") if "could not reach" in t]
    assert summary.startswith("I could not reach 5 members of Harbour Youth in the last hour.")
    assert "- Mo Member on Slack: their account is deactivated" in summary
    assert "- Person 3 on Chat:" in summary
    clock.now += timedelta(minutes=5)
    await delivery.run_once()
    assert len([t for t in recorder.texts("lea") if "could not reach" in t]) == 1  # once


async def test_reminders_go_only_to_members_who_have_not_answered(engine, store, delivery, planner, recorder, clock):
    round = await open_round(engine, store)
    await delivery.run_once()
    lea = Chat(engine, "lea")
    await lea.say(f"impact {round.id}")
    await lea.answer("3", "4", "A first job", "Long waits", "skip", "continue")
    clock.now += timedelta(hours=47)
    await planner.tick()
    await delivery.run_once()
    assert len(recorder.texts("mo")) == 1  # not yet
    clock.now += timedelta(hours=2)
    await planner.tick()
    await delivery.run_once()
    assert "A gentle reminder" in recorder.texts("mo")[-1]
    assert not any("A gentle reminder" in t for t in recorder.texts("lea"))
    clock.now += timedelta(hours=60)
    await planner.tick()
    await delivery.run_once()
    assert sum("A gentle reminder" in t for t in recorder.texts("mo")) == 1  # at most the configured one


async def test_a_reminder_queued_before_the_answer_is_not_sent(engine, store, delivery, planner, recorder, clock):
    round = await open_round(engine, store)
    await delivery.run_once()
    clock.now += timedelta(hours=49)
    await planner.tick()  # the reminder is queued...
    mo = Chat(engine, "mo")
    await mo.say(f"impact {round.id}")
    await mo.answer("3", "4", "A first job", "skip", "skip", "continue")  # ...then Mo answers
    await delivery.run_once()
    assert not any("reminder" in t for t in recorder.texts("mo"))
    assert (await states(store, f"round:{round.id}"))[("reminder-1", "member:mo")] == SKIPPED


async def test_a_closed_round_posts_its_summary_to_the_channel_once(engine, store, delivery, planner, recorder, clock):
    round = await open_round(engine, store)
    await delivery.run_once()
    for who, impact, intended, decision in (("lea", "4", "Two apprenticeships", "continue"),
                                            ("mo", "2", "Young people came back", "adjust")):
        chat = Chat(engine, who)
        await chat.say(f"impact {round.id}")
        await chat.answer(impact, "4", intended, "Employers want more", "skip", decision)
    await Chat(engine, "lea").say("checkin close")
    await planner.tick()
    await planner.tick()
    await delivery.run_once()
    [(coalition, summary)] = recorder.channel_posts
    text = "\n".join(b.text for b in summary.blocks)
    assert coalition == "harbour"
    assert "2 answer(s), citizens' perceived impact 3.0/5 on average" in text
    assert "> Two apprenticeships" in text and "> Employers want more" in text
    assert "- Continue: 1" in text and "- Adjust: 1" in text
    clock.now += timedelta(days=8)
    await planner.tick()
    await delivery.run_once()
    assert len(recorder.channel_posts) == 1


async def test_a_round_closes_by_itself_after_its_time(engine, store, planner, clock):
    round = await open_round(engine, store)
    clock.now = round.closes_at
    await planner.tick()
    assert await store.rounds(open_only=True) == []
    assert "has closed" in await Chat(engine, "mo").say(f"impact {round.id}")


async def test_a_send_interrupted_by_a_crash_is_looked_up_before_it_is_sent_again(
        engine, store, delivery, recorder, clock):
    round = await open_round(engine, store)
    claimed = await store.claim("dead-worker", clock.now, 10, timedelta(minutes=2))
    [mo] = [r for r in claimed if r.target == "member:mo"]
    await recorder.to_member("mo", None, str(mo.id))  # it arrived, then the worker died
    clock.now += timedelta(minutes=3)
    await delivery.run_once()
    assert [s[0] for s in recorder.sent].count("mo") == 1
    row = next(r for r in await store.outbox(source=f"round:{round.id}") if r.target == "member:mo")
    assert row.state == SENT and row.message_id == "found"


class Gated(Recorder):
    """A platform that takes messages only once `go` is set (a slow one), and whose look-ups
    for a message that may have arrived wait for `look`."""

    def __init__(self, config):
        super().__init__(config)
        self.go, self.look = asyncio.Event(), asyncio.Event()
        self.looked: list[str] = []  # tags looked up

    async def to_member(self, member_id, reply, tag):
        await self.go.wait()
        return await super().to_member(member_id, reply, tag)

    async def already_sent(self, member_id, tag, since):
        self.looked.append(tag)
        await self.look.wait()
        return await super().already_sent(member_id, tag, since)


async def prompts(store, clock, count: int) -> None:
    """`count` story prompts for Mo, due now (one fanout's worth of rows)."""
    rows = [Outgoing("schedule:bulk", f"{n:03d}", "member:mo", "harbour", "prompt", {"kind": "story"}, clock.now)
            for n in range(count)]
    assert await store.enqueue(rows, clock.now) == count


async def eventually(condition, what: str):
    for _ in range(1000):
        found = condition()
        if found := (await found if asyncio.iscoroutine(found) else found):
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def by_state(store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await store.outbox(source="schedule:bulk"):
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts


async def test_a_worker_holds_only_what_it_can_send_soon_and_the_rest_waits_in_the_outbox(store, config, clock):
    # What a worker holds is what a crash would strand: each such row must be looked up on
    # the platform before anyone may send it again.
    platform = Gated(config)
    await prompts(store, clock, 200)
    delivery = Delivery(store, config, {"slack": platform}, clock=clock, worker="w1")
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run(stop))
    try:
        held = await eventually(lambda: _sending(store), "the first claim")
        assert held <= MIN_HELD and (await by_state(store))[QUEUED] == 200 - held
        platform.go.set()
        await eventually(lambda: _all_sent(store, 200), "every row sent")
    finally:
        stop.set()
        await running
    assert len(platform.sent) == 200 and len({tag for _, _, tag in platform.sent}) == 200


async def test_rows_a_dead_worker_held_are_looked_up_without_holding_up_the_others(store, config, clock):
    platform = Gated(config)
    platform.go.set()
    await prompts(store, clock, 60)
    stranded = await store.claim("dead-worker", clock.now, 8, timedelta(minutes=2))  # then it died
    clock.now += timedelta(minutes=3)  # and its lease ran out
    delivery = Delivery(store, config, {"slack": platform}, clock=clock, worker="w1", concurrency=8)
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run(stop))
    try:
        # The 52 rows nobody had claimed go out while the look-ups still wait for the platform
        # (as many as the worker sends at once: they must not take its places).
        await eventually(lambda: len(platform.sent) == 52 and len(platform.looked) == 8, "the other rows")
        assert sorted(platform.looked) == sorted(str(r.id) for r in stranded)  # only those are looked up
        platform.look.set()
        await eventually(lambda: _all_sent(store, 60), "every row sent")
    finally:
        stop.set()
        await running
    assert len(platform.sent) == 60 and len({tag for _, _, tag in platform.sent}) == 60


async def _sending(store) -> int:
    return (await by_state(store)).get(SENDING, 0)


async def _all_sent(store, count: int) -> bool:
    return await by_state(store) == {SENT: count}


async def test_a_scheduled_principle_prompt_invites_a_reflection(planner, delivery, recorder, clock, store):
    clock.now = at(2026, 3, 2, 7)
    await planner.tick()
    clock.now = at(2026, 3, 2, 8, 0, 30)
    await planner.tick()
    await delivery.run_once()
    [text] = recorder.texts("mo")
    assert "This week's principle, #2" in text
    [(_, reply, _)] = [s for s in recorder.sent if s[0] == "mo"]
    assert reply.blocks[-1].buttons[0].command == "reflect 2"


async def test_a_scheduled_digest_goes_to_leaders_only_when_there_is_news(store, clock, tmp_path, engine):
    from bot.delivery import Delivery
    from bot.scheduler import Planner
    from tests.delivery.conftest import Recorder

    config = make_config(tmp_path, [{"id": "friday-digest", "kind": "digest", "days": ["fri"], "time": "15:00"}])
    recorder = Recorder(config)
    planner = Planner(store, config, clock)
    delivery = Delivery(store, config, {"slack": recorder}, clock=clock, compose=engine.compose)
    clock.now = at(2026, 3, 6, 12)
    await planner.tick()
    clock.now = at(2026, 3, 6, 14, 1)
    await planner.tick()
    await delivery.run_once()
    assert recorder.sent == []  # a quiet week: nothing to say, so nothing is sent
    assert {r.state for r in await store.outbox(source="schedule:friday-digest")} == {SKIPPED}
    story = Chat(engine, "mo")
    await story.say("story")
    await story.answer("The bakery hired two", "It started with one question", "1", "2", "coalition", "1")
    clock.now = at(2026, 3, 13, 14, 1)
    await planner.tick()
    await delivery.run_once()
    assert [m for m, _, _ in recorder.sent] == ["lea"]  # Harbour's leader; Elders had a quiet week
    assert "Digest for Harbour Youth" in recorder.texts("lea")[0]


async def test_someone_who_joined_in_chat_is_invited_and_may_answer(engine, store, delivery, recorder, planner, clock):
    zoe = Chat(engine, "U_ZOE", platform="slack", coalition="harbour")  # not in app.yaml
    await zoe.say("join")
    await zoe.answer("citizen", "myself", "Time on Saturdays", "no")
    round = await open_round(engine, store)
    assert round is not None
    await delivery.run_once()
    assert "Impact check-in: Job café" in recorder.texts("slack:U_ZOE")[0]
    await zoe.say(f"impact {round.id}")
    out = await zoe.answer("5", "4", "Young people come by", "skip", "skip", "continue")
    assert "Check-in saved for Job café" in out
    clock.now = at(2026, 3, 9, 7)
    await planner.tick()
    clock.now = at(2026, 3, 9, 8, 0, 30)  # Monday 09:00 in Copenhagen
    await planner.tick()
    await delivery.run_once()
    assert "This week's principle" in recorder.texts("slack:U_ZOE")[-1]
