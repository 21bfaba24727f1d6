"""Faults a deployment hits with Teams, through a real `cocreate serve`: the Bot Connector
unreachable. A handled failure is one WARNING line with the ids needed to act, never a
chain of tracebacks (tracebacks are for bugs)."""

from __future__ import annotations

import socket

import pytest

from tests.fakes.teams_client import APP_ID, TeamsSender, message, personal_conversation_id
from tests.teams.test_sender import bot, sender  # noqa: F401 (fixtures: the outbox's Teams sender)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unreachable_connector_is_one_warning_line_per_send(teams_server, connector):
    gone = f"http://127.0.0.1:{closed_port()}"  # where this conversation's connector would be
    activity = message("help", user_id="29:mo", service_url=gone)
    async with TeamsSender(connector=connector, app_id=APP_ID) as sender:
        status, _ = await sender.post(teams_server.url, activity)
    assert status in (200, 201)
    # Answering goes to `gone`: refused. Then a message through the reachable fake still works.
    ok = message("help", user_id="29:lea", service_url=connector.url)
    async with TeamsSender(connector=connector, app_id=APP_ID) as sender:
        assert (await sender.post(teams_server.url, ok))[0] in (200, 201)
    assert "help" in str(connector.messages(personal_conversation_id("29:lea"))).lower()
    logs = teams_server.logs()
    assert "Traceback" not in logs, logs
    lines = [line for line in logs.splitlines() if personal_conversation_id("29:mo") in line]
    assert len(lines) == 1 and "WARNING" in lines[0] and "Connection refused" in lines[0], lines
    assert "Retrying" not in logs  # urllib3's own retries are not lines of ours


async def test_the_outboxs_send_to_an_unreachable_connector_says_why_in_a_few_words(bot, sender, caplog):
    from datetime import datetime, timezone

    from bot.ports import DeliveryError
    from bot.types import ConversationRef
    from bot.ui import Reply

    gone = f"http://127.0.0.1:{closed_port()}"
    ref = ConversationRef("teams", "t-1", "a:mo", "29:mo",
                          extra={"service_url": gone, "bot_id": "28:bot", "bot_name": "Cocreate", "kind": "personal"})
    await bot.engine.store.save_reference(ref, "mo", "personal", datetime.now(timezone.utc))
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("Time for a check-in"), "7")
    assert raised.value.reason == "connector unreachable: Connection refused"
    assert not raised.value.permanent  # the outbox tries again later
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]
