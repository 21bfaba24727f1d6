"""Turns through botbuilder's CloudAdapter leave nothing for the garbage collector: the SDK's
middleware chain kept every sent message's turn (activity, connector, replies) in a
reference cycle, and under a check-in round the collections of them paused every send."""

from __future__ import annotations

import gc

from botbuilder.core import TurnContext

from bot.ui import Reply
from tests.teams.test_sender import personal
from tests.teams.test_sender import bot, teams  # noqa: F401 (its fixtures)


async def test_a_message_sent_leaves_no_turn_behind(bot, teams):  # noqa: F811
    ref = await personal(bot, teams, "mo")
    await bot.post(ref, Reply.text("warming up"))  # the connector client, made once
    gc.collect()
    gc.disable()
    try:
        await bot.post(ref, Reply.text("Time for a check-in"))
        left = [o for o in gc.get_objects() if isinstance(o, TurnContext)]
    finally:
        gc.enable()
    assert left == []
    assert [m["text"] for m in teams.messages(ref.conversation)][-1] == "Time for a check-in"


async def test_send_middleware_still_runs_in_order_around_the_send(bot, teams):  # noqa: F811
    ref = await personal(bot, teams, "mo")
    seen = []

    async def work(turn: TurnContext) -> None:
        async def first(context, activities, next_send):
            seen.append(("first", [a.text for a in activities]))
            return await next_send()

        async def second(context, activities, next_send):
            seen.append(("second", len(teams.messages(ref.conversation))))
            return await next_send()

        turn.on_send_activities(first).on_send_activities(second)
        await turn.send_activity("hello")
        seen.append(("after", len(teams.messages(ref.conversation))))

    await bot.proactive(ref, work)
    assert seen == [("first", ["hello"]), ("second", 0), ("after", 1)]
