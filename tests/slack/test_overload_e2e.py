"""A burst faster than the engine, through the real `cocreate serve`: past the backlog, events
are refused at once with a note to send them again, and leave nothing behind; sent again, each
is handled exactly once."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from storage.models import ConversationRefRow, ProcessedEvent
from storage.repository import open_store
from tests.fakes.slack_client import block_action, dm_message, event, slash_command
from tests.slack.conftest import start_server, stop_server
from tests.slack.test_slack_e2e import send

RUNNING = 32  # adapters.backlog.RUNNING
WAITING = 4
SLOW = 4.0  # seconds each newcomer's profile look-up takes: the engine's work piles up
REFUSED = "send it again in a moment"


async def stored(server) -> tuple[int, set[str]]:
    """Events marked handled, and the Slack users with a saved conversation reference."""
    store = open_store(server.database_url)
    try:
        async with store.engine.connect() as db:
            handled = await db.scalar(select(func.count()).select_from(ProcessedEvent))
            users = set(await db.scalars(select(ConversationRefRow.user)))
            return handled, users
    finally:
        await store.close()


def replies_to(slack, rid: str) -> list:
    return [c for c in slack.calls("response_url") if c.path.endswith(f"/{rid}")]


async def until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_burst_past_the_backlog_is_refused_cleanly_and_taken_when_sent_again(tmp_path, slack_env, fake_slack):
    assert fake_slack.response_url("x").endswith("/x")
    fake_slack.slow("users.info", SLOW, times=10_000)
    server = start_server(tmp_path, {**slack_env, "COCREATE_BACKLOG": str(WAITING)})
    try:
        users = [f"U_NEW{i:03}" for i in range(60)]
        started = time.monotonic()
        acks = await asyncio.gather(*(
            send(server, slash_command("status", user=u, channel="C_HARBOUR", response_url=fake_slack.response_url(u)))
            for u in users))
        burst = time.monotonic() - started
        assert burst < SLOW, f"the burst took {burst:.1f} s: too slow a machine for this test"
        assert all(status == 200 for status, _ in acks)
        refused = [u for u, (_, body) in zip(users, acks) if REFUSED in str(body)]
        taken = [u for u, (_, body) in zip(users, acks) if not body]
        assert len(taken) == RUNNING + WAITING and len(refused) == len(users) - len(taken), acks
        assert "Many people are writing at once" in str(acks[users.index(refused[0])][1])

        # While it is full, a click and a DM are refused too, each with the note where the
        # member is.
        clicked = "U_CLICK"
        status, _ = await send(server, block_action("command_status", value="status", user=clicked,
                                                    channel="C_HARBOUR", response_url=fake_slack.response_url(clicked)))
        assert status == 200
        await until(lambda: replies_to(fake_slack, clicked))
        assert REFUSED in str(replies_to(fake_slack, clicked)[0].args)
        status, _ = await send(server, event(dm_message("status", user="U_DM", channel="D_DM")))
        assert status == 200
        await until(lambda: [c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == "D_DM"])
        [note] = [c for c in fake_slack.calls("chat.postMessage") if c.args.get("channel") == "D_DM"]
        assert REFUSED in str(note.args)

        # Every event taken is answered once; nothing of a refused one was recorded.
        await until(lambda: all(replies_to(fake_slack, u) for u in taken), timeout=SLOW * 4 + 10)
        assert all(len(replies_to(fake_slack, u)) == 1 for u in taken)
        assert not any(replies_to(fake_slack, u) for u in refused)
        handled, referenced = await stored(server)
        assert handled == len(taken)
        assert referenced.isdisjoint(refused + [clicked, "U_DM"]) and set(taken) <= referenced

        # Sent again once the server has caught up: handled, once each.
        fake_slack.clear()
        again = await asyncio.gather(*(
            send(server, slash_command("status", user=u, channel="C_HARBOUR", response_url=fake_slack.response_url(u)))
            for u in refused))
        assert all(status == 200 and not body for status, body in again), again
        await until(lambda: all(replies_to(fake_slack, u) for u in refused), timeout=SLOW * 2 + 10)
        await asyncio.sleep(0.5)  # a second reply would show by now
        assert all(len(replies_to(fake_slack, u)) == 1 for u in refused)
        assert not any(replies_to(fake_slack, u) for u in taken)
        handled, referenced = await stored(server)
        assert handled == len(users) and set(users) <= referenced
    finally:
        stop_server(server)
    logs = server.logs()
    assert logs.count("refusing new ones") == 1 and "taking events again" in logs, logs
    assert "Traceback" not in logs


def test_a_bad_backlog_setting_is_named(tmp_path, slack_env):
    import subprocess

    from tests.support import COCREATE

    result = subprocess.run([str(COCREATE), "serve", "--port", "0"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**slack_env, "COCREATE_BACKLOG": "lots"})
    assert result.returncode != 0
    assert "COCREATE_BACKLOG must be a whole number of events (0 or more), got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr
