"""What the Slack adapter keeps after answering a member, for the outbox to reach them later:
their time zone from their Slack profile (users.info) and their conversation reference (in
OAuth mode the outbox finds their workspace by it). Over real HTTP, against a real
`cocreate serve` and the fake Slack Web API; the work happens after the ack and the reply.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.app import SlackBot
from adapters.slack.installations import DbInstallationStore, oauth_settings
from adapters.slack.sender import NO_INSTALLATION, SlackSender
from adapters.slack.settings import BOT_SCOPES, SlackSettings
from bot.engine import Engine
from bot.ports import DeliveryError
from bot.ui import Reply
from flows.registry import all_flows
from storage.installations import SqlInstallations
from storage.repository import open_store
from tests.fakes.slack_client import dm_message, event, slash_command
from tests.slack.conftest import SECRET, start_server, stop_server
from tests.slack.test_slack_e2e import send
from tests.support import APP_YAML


async def stored(database_url, read):
    store = open_store(database_url)
    try:
        return await read(store)
    finally:
        await store.close()


async def command(server, slack, text, user="U_MO", rid="r"):
    status, _ = await send(server, slash_command(text, user=user, channel="C_HARBOUR",
                                                 response_url=slack.response_url(rid)))
    assert status == 200


async def eventually(read, timeout=5.0, count=1):
    """What `read` returns once it is there (a mapping: with at least `count` entries)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await read()
        if (found and (not isinstance(found, dict) or len(found) >= count)) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_a_members_time_zone_and_address_are_kept_after_the_reply(server, fake_slack):
    fake_slack.users["U_MO"] = {"tz": "America/New_York"}
    await command(server, fake_slack, "status")
    [lookup] = await fake_slack.wait_for("users.info")
    assert lookup.args["user"] == "U_MO" and lookup.token == "xoxb-test"
    methods = [c.method for c in fake_slack.calls()]
    assert methods.index("response_url") < methods.index("users.info")  # the member was answered first
    assert await eventually(lambda: stored(server.database_url, lambda s: s.zones())) == {"mo": "America/New_York"}
    ref = await stored(server.database_url, lambda s: s.reference_for("slack", "mo", None))
    assert (ref.tenant, ref.conversation, ref.user, ref.extra["channel"]) == ("T_TEST", "U_MO", "U_MO", "C_HARBOUR")

    # Within the day, the profile is not looked up again (nor the address saved again: hourly).
    fake_slack.users["U_MO"] = {"tz": "Asia/Tokyo"}
    await command(server, fake_slack, "status", rid="again")
    await send(server, event(dm_message("status")))  # a typed DM counts the same
    await fake_slack.wait_for("chat.postMessage")
    await asyncio.sleep(0.3)
    assert len(fake_slack.calls("users.info")) == 1

    # Someone app.yaml does not know is looked up too: once they joined in chat, check-ins
    # and prompts reach them, in their own day and language.
    await command(server, fake_slack, "status", user="U_STRANGER", rid="stranger")
    await fake_slack.wait_for("users.info", count=2)
    assert [c.args["user"] for c in fake_slack.calls("users.info")] == ["U_MO", "U_STRANGER"]
    zones = await eventually(lambda: stored(server.database_url, lambda s: s.zones()), count=2)
    assert zones == {"mo": "America/New_York", "slack:U_STRANGER": "Europe/Copenhagen"}


async def test_a_profile_that_cannot_be_read_is_only_logged(server, fake_slack):
    def profile(call):  # mo's app was installed before users:read was asked for; lea's zone is odd
        if call.args["user"] == "U_MO":
            return {"ok": False, "error": "missing_scope", "needed": "users:read"}
        return {"ok": True, "user": {"id": call.args["user"], "tz": "Not/A_Zone"}}

    fake_slack.respond("users.info", profile)
    await command(server, fake_slack, "status")
    await command(server, fake_slack, "status", user="U_LEA", rid="lea")
    await fake_slack.wait_for("users.info", count=2)
    assert len(fake_slack.calls("response_url")) == 2  # both were answered
    await asyncio.sleep(0.3)
    assert "users.info for U_MO failed: missing_scope (reinstall the app to grant users:read)" in server.logs()
    assert await stored(server.database_url, lambda s: s.zones()) == {}  # an unknown zone is not kept


async def test_oauth_the_outbox_finds_a_members_workspace_from_their_last_request(
        tmp_path, slack_env, fake_slack, sqlite_url):
    installed = Installation(app_id="A_TEST", team_id="T_TEST", bot_token="xoxb-T_TEST-installed", bot_id="B_BOT",
                             bot_user_id="U_BOT", bot_scopes=",".join(BOT_SCOPES), user_id="U_LEA",
                             installed_at=time.time(), token_type="bot")
    await stored(sqlite_url, lambda s: DbInstallationStore(SqlInstallations.of(s)).async_save(installed))
    env = {k: v for k, v in slack_env.items() if k != "SLACK_BOT_TOKEN"}
    env.update(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    server = start_server(tmp_path, env)
    try:
        await send(server, event(dm_message("help")))
        [lookup] = await fake_slack.wait_for("users.info")
        assert lookup.token == "xoxb-T_TEST-installed"  # the workspace's own token
        ref = await eventually(lambda: stored(sqlite_url, lambda s: s.reference_for("slack", "mo", None)))
        assert ref is not None and ref.tenant == "T_TEST"
    finally:
        stop_server(server)
    assert "Traceback" not in server.logs(), server.logs()

    # The outbox of any replica now reaches mo in that workspace, with its token; lea never wrote.
    from bot.cli import load

    store = open_store(sqlite_url)
    settings = SlackSettings(signing_secret=SECRET, client_id="111.222", client_secret="client-secret",
                             api_url=fake_slack.url)
    bot = SlackBot(Engine(store, load(str(APP_YAML)), all_flows()), settings,
                   **oauth_settings(SqlInstallations.of(store), settings))
    try:
        sender = SlackSender(bot)
        where = await sender.to_member("mo", Reply.text("Time for a check-in"), "1")
        post = fake_slack.calls("chat.postMessage")[-1]
        assert (post.args["channel"], post.token, where.conversation) == ("U_MO", "xoxb-T_TEST-installed", "DU_MO")
        with pytest.raises(DeliveryError) as refused:
            await sender.to_member("lea", Reply.text("hi"), "2")
        assert refused.value.permanent and refused.value.reason == NO_INSTALLATION
    finally:
        await bot.aclose()
        await store.close()
