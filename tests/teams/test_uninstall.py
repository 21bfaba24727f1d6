"""The Teams app removed: from a member's personal scope, or from the coalition's team (and a
member leaving the team), against a real `cocreate serve` and the fake Bot Connector. Those
addresses go; a member left with none is skipped by the outbox with the reason, not tried and
reported; their next message brings them back."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from bot.ports import Outgoing
from storage.repository import open_store
from tests.fakes.teams_client import APP_ID, TEAM_ID, conversation_update, installation_update
from tests.teams.test_teams_e2e import post, say


async def stored(server, read):
    store = open_store(server.database_url)
    try:
        return await read(store)
    finally:
        await store.close()


async def test_a_member_who_removes_the_app_is_not_written_to_until_they_come_back(teams_server, connector):
    await say(teams_server, connector, "help")  # Mo's personal chat
    assert await stored(teams_server, lambda s: s.reference_for("teams", "mo", "personal"))
    removed = installation_update("remove", user_id="29:mo", service_url=connector.url)
    assert await post(teams_server, connector, removed) == 200
    assert await stored(teams_server, lambda s: s.reference_for("teams", "mo", None)) is None
    departed = await stored(teams_server, lambda s: s.departures("teams"))
    assert departed == {"user:29:mo": ("removed the app", ("mo",))}
    connector.clear()

    # The outbox: skipped with the reason, nothing tried, nobody told.
    now = datetime.now(timezone.utc)
    await stored(teams_server, lambda s: s.enqueue([Outgoing("test", "1", "member:mo", "harbour", "notice",
                                                             {"member": "x", "platform": "teams", "reason": "r"}, now)],
                                                   now))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        [row] = await stored(teams_server, lambda s: s.outbox(source="test"))
        if row.state not in ("queued", "sending"):
            break
        time.sleep(0.05)
    assert (row.state, row.error) == ("skipped", "teams: removed the app")
    assert [c for c in connector.calls() if c.kind in ("send", "reply", "create")] == []

    # Back: Mo writes again (reinstalled the app), and is reached as before.
    await say(teams_server, connector, "status")
    assert await stored(teams_server, lambda s: s.departures("teams")) == {}


async def test_the_bot_removed_from_the_team_takes_the_channel_and_roster_addresses_with_it(
        teams_server, connector):
    added = conversation_update(members_added=[f"28:{APP_ID}", "29:cora"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, added) == 200
    assert await stored(teams_server, lambda s: s.reference_for("teams", "cora", "roster"))
    left = conversation_update(members_removed=["29:cora"], team_id=TEAM_ID, service_url=connector.url)
    assert await post(teams_server, connector, left) == 200
    assert await stored(teams_server, lambda s: s.reference_for("teams", "cora", None)) is None
    assert (await stored(teams_server, lambda s: s.departures("teams")))["user:29:cora"][1] == ("cora",)

    await say(teams_server, connector, "status", user="29:lea", conversation_type="channel", team_id=TEAM_ID,
              channel_id=TEAM_ID)
    assert await stored(teams_server, lambda s: s.channel_reference("teams", TEAM_ID))
    gone = installation_update("remove", team_id=TEAM_ID, user_id="29:lea", service_url=connector.url)
    assert await post(teams_server, connector, gone) == 200
    assert await stored(teams_server, lambda s: s.channel_reference("teams", TEAM_ID)) is None
    assert "team:" + TEAM_ID in await stored(teams_server, lambda s: s.departures("teams"))
