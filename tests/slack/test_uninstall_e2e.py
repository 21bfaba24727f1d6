"""The Slack app uninstalled (or its bot token revoked) in the middle of things, against a real
`cocreate serve` and the fake Web API: the workspace's addresses go, a check-in round opened
afterwards skips its Slack members with the reason instead of failing at Slack and telling the
leaders about each one, and the first event from the workspace after a reinstall ends it."""

from __future__ import annotations

import subprocess
import time
from datetime import date, timedelta

import pytest

from tests.fakes.slack_client import app_uninstalled, dm_message, event, tokens_revoked
from tests.slack.test_profile_e2e import stored
from tests.slack.test_slack_e2e import eventually, send
from tests.support import COCREATE


def open_round(tmp_path, env) -> None:
    today = date.today()
    typed = ["experiment", "Job café", "Open a café", "Apprenticeships", "young people", "Bakery",
             (today - timedelta(days=1)).isoformat(), (today + timedelta(days=30)).isoformat(), "Contracts", "",
             "checkin", ""]
    opened = subprocess.run([str(COCREATE), "chat", "--user", "lea"], input="\n".join(typed), capture_output=True,
                            text=True, timeout=60, cwd=tmp_path, env=env)
    assert "is open: I am asking 2 members now" in opened.stdout, opened.stdout + opened.stderr


@pytest.mark.parametrize("gone", [app_uninstalled, tokens_revoked])
async def test_after_an_uninstall_slack_members_are_skipped_quietly_until_it_is_back(
        tmp_path, slack_env, server, fake_slack, gone):
    for user in ("U_MO", "U_LEA"):
        await send(server, event(dm_message("help", user=user, channel=f"D{user}")))
    await fake_slack.wait_for("chat.postMessage", count=2)
    assert len(await stored(server.database_url, lambda s: s.unreachable("slack"))) == 0

    assert (await send(server, event(gone())))[0] == 200
    departed = await eventually_stored(server, lambda s: s.departures("slack"))
    assert list(departed) == ["T_TEST"] and departed["T_TEST"][0] == gone()["type"]
    assert await stored(server.database_url, lambda s: s.reference_for("slack", "mo", None)) is None
    fake_slack.clear()

    open_round(tmp_path, slack_env)
    rows = await eventually_stored(server, lambda s: finished_invites(s), timeout=10)
    by = {r.target: r for r in rows}
    assert (by["member:mo"].state, by["member:mo"].error) == ("skipped", f"slack: {gone()['type']}")
    # Lea opened the round at the terminal, which delivers her own rows too: whichever took hers first.
    assert (by["member:lea"].state, by["member:lea"].platform or by["member:lea"].error) in (
        ("sent", "console"), ("skipped", f"slack: {gone()['type']}"))
    time.sleep(0.5)
    assert fake_slack.calls("chat.postMessage") == []  # nothing tried, nobody told
    notices = await stored(server.database_url, lambda s: s.outbox(target="member:lea"))
    assert [r for r in notices if r.kind == "notice"] == []

    # Reinstalled: the next event from the workspace ends the departure.
    await send(server, event(dm_message("status", user="U_MO", channel="DU_MO")))
    await eventually_stored(server, lambda s: none_left(s))


async def eventually_stored(server, read, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        found = await stored(server.database_url, read)
        if found or time.monotonic() > deadline:
            assert found, "never happened"
            return found
        time.sleep(0.05)


async def finished_invites(store):
    rows = [r for r in await store.outbox() if r.occurrence == "invite"]
    return rows if rows and all(r.state not in ("queued", "sending", "retry") for r in rows) else None


async def none_left(store):
    return await store.departures("slack") == {}
