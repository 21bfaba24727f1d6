"""The outbox's Slack sender against the fake Web API over real HTTP, with a real store."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from adapters.ratelimit import HEADROOM
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackBot
from adapters.slack.installations import oauth_settings
from adapters.slack.sender import EVENT_TYPE, NO_INSTALLATION, SlackSender
from adapters.slack.settings import BOT_SCOPES, SlackSettings
from bot.config import SlackLimits, load_config
from bot.engine import Engine
from bot.ports import Delivered, DeliveryError
from bot.types import ConversationRef
from bot.ui import Reply, Text
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows
from storage.installations import SqlInstallations
from storage.repository import open_store
from tests.fakes.slack import FakeSlack
from tests.flows.conftest import DATA

CROWD = 25  # extra members "p01".. with Slack users "U_P01"..
FAST = SlackLimits(per_channel_per_second=100, per_workspace_per_minute=6000, opens_per_minute=6000)


def crowd_config(tmp_path):
    """tests/data/app.yaml with CROWD more members in the harbour coalition."""
    text = (DATA / "app.yaml").read_text()
    extra = "".join(f'  - id: p{i:02d}\n    name: Person {i}\n    platforms: {{slack: U_P{i:02d}, teams: "29:p{i:02d}"}}\n'
                    for i in range(1, CROWD + 1))
    text = text.replace("coalitions:\n", extra + "coalitions:\n", 1)
    text = text.replace("    members: [mo]\n", f"    members: [mo, {', '.join(f'p{i:02d}' for i in range(1, CROWD + 1))}]\n", 1)
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return load_config(path, flat(PROMPTS), PRINCIPLES)


@pytest.fixture
async def slack():
    async with FakeSlack(real_ts=True) as fake:
        yield fake


@pytest.fixture
async def engine(sqlite_url, tmp_path):
    store = open_store(sqlite_url)
    yield Engine(store, crowd_config(tmp_path), all_flows())
    await store.close()


@pytest.fixture
async def bot(engine, slack):
    settings = SlackSettings(signing_secret="secret", bot_token="xoxb-test", api_url=slack.url)
    bot = SlackBot(engine, settings)
    yield bot
    await bot.aclose()


@pytest.fixture
def sender(bot):
    return SlackSender(bot, FAST)


def texts(message: dict) -> str:
    return str(message.get("text")) + str(message.get("blocks"))


async def test_a_direct_message_carries_its_tag_and_says_where_it_is(sender, slack):
    where = await sender.to_member("mo", Reply.text("Time for a check-in"), "42")
    [call] = slack.calls("chat.postMessage")
    assert call.args["channel"] == "U_MO" and call.token == "xoxb-test"
    assert call.args["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"tag": "42"}}
    assert where.platform == "slack" and where.conversation == "DU_MO" and where.message_id == call_ts(slack)
    [message] = slack.messages("DU_MO")
    assert "Time for a check-in" in texts(message)
    assert sender.reaches("mo") and not sender.reaches("nobody")


def call_ts(slack: FakeSlack) -> str:
    return slack.messages("DU_MO")[-1]["ts"]


async def test_workspace_and_channel_limits_hold_before_any_429(bot, slack):
    # The fake enforces the very budgets the sender keeps: 20 a second for the workspace
    # (a token bucket with one second's burst) and 1 a second per channel.
    slack.limit("chat.postMessage", per_second=20, key=None)
    slack.limit("chat.postMessage", per_second=1, key="channel")
    sender = SlackSender(bot, SlackLimits(per_channel_per_second=1, per_workspace_per_minute=1200))
    members = [f"p{i:02d}" for i in range(1, CROWD + 1)] + ["mo", "mo"]
    started = time.monotonic()
    sent = await asyncio.gather(*(sender.to_member(m, Reply.text(f"to {m}"), str(n)) for n, m in enumerate(members)))
    elapsed = time.monotonic() - started
    assert slack.rate_limited() == 0 and slack.posted() == len(members) == len(sent)
    # 27 sends at 20/s in windows of 10 per 0.51 s: three windows; mo's second waits 1 s.
    assert elapsed >= 1.0
    arrivals = sorted(c.at for c in slack.calls("chat.postMessage"))
    assert max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals) <= 20
    [first, second] = [c.at for c in slack.calls("chat.postMessage") if c.args["channel"] == "U_MO"]
    assert second - first >= 1.0


async def test_share_divides_the_workspace_budget(sender):
    sender.share = 0.5
    assert sender.workspace.windows == [(25, 25 / 50 * (1 + HEADROOM))]  # 6000 a minute = 100/s, half of it
    with pytest.raises(ValueError):
        sender.share = 0


async def test_a_429_is_returned_with_retry_after_not_retried(sender, slack):
    slack.rate_limit("chat.postMessage", retry_after=7)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert raised.value.retry_after == 7 and not raised.value.permanent
    assert len(slack.calls("chat.postMessage")) == 1 and time.monotonic() - started < 1


@pytest.mark.parametrize("code", ["account_inactive", "user_not_found", "cannot_dm_bot", "invalid_auth"])
async def test_errors_no_retry_can_fix_are_permanent(sender, slack, code):
    slack.fail("chat.postMessage", code)
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert raised.value.permanent and raised.value.reason == code


async def test_other_errors_are_transient(sender, slack, engine):
    slack.fail("chat.postMessage", "internal_error")
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert not raised.value.permanent and raised.value.reason == "internal_error"

    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("lonely", Reply.text("hi"), "1")  # not in app.yaml
    assert raised.value.permanent and raised.value.reason == "no_account"


async def test_a_connection_error_is_transient(engine):
    settings = SlackSettings(signing_secret="secret", bot_token="xoxb-test", api_url="http://127.0.0.1:9/api/")
    bot = SlackBot(engine, settings)
    try:
        with pytest.raises(DeliveryError) as raised:
            await SlackSender(bot, FAST).to_member("mo", Reply.text("hi"), "1")
        assert not raised.value.permanent and "cannot reach Slack" in raised.value.reason
    finally:
        await bot.aclose()


async def test_already_sent_finds_the_tagged_message_only(sender, slack):
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    sent = await sender.to_member("mo", Reply.text("tagged"), "7")
    untagged = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    await untagged.chat_postMessage(channel="U_MO", text="no metadata")
    await sender.to_member("lea", Reply.text("for someone else"), "8")

    assert await sender.already_sent("mo", "7", since) == sent
    assert await sender.already_sent("mo", "8", since) is None  # tag 8 went to lea
    assert await sender.already_sent("mo", "9", since) is None
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert await sender.already_sent("mo", "7", later) is None  # older than `since`
    history = slack.calls("conversations.history")
    assert history[0].args["channel"] == "DU_MO" and history[0].args["include_all_metadata"] in ("1", "true")


async def test_already_sent_after_a_restart_opens_the_dm(bot, slack):
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    await SlackSender(bot, FAST).to_member("mo", Reply.text("tagged"), "7")
    fresh = SlackSender(bot, FAST)  # a new process: it does not know the DM yet
    found = await fresh.already_sent("mo", "7", since)
    assert found is not None and found.conversation == "DU_MO"
    [opened] = slack.calls("conversations.open")
    assert opened.args["users"] == "U_MO"
    await fresh.already_sent("mo", "8", since)
    assert len(slack.calls("conversations.open")) == 1  # remembered


async def test_update_replaces_the_message(sender, slack):
    where = await sender.to_member("mo", Reply.text("3 of 10 answered"), "5")
    await sender.update(where, Reply.text("4 of 10 answered"))
    [call] = slack.calls("chat.update")
    assert (call.args["channel"], call.args["ts"]) == (where.conversation, where.message_id)
    [message] = slack.messages("DU_MO")
    assert "4 of 10" in texts(message) and "edited" in message


async def test_to_channel_posts_the_headline_and_details_in_its_thread(sender, slack):
    reply = Reply(blocks=(Text("*Round closed*"), Text("7 answers"), Text("2 decisions")))
    where = await sender.to_channel("harbour", reply, "9")
    headline, details = slack.calls("chat.postMessage")
    assert headline.args["channel"] == details.args["channel"] == "C_HARBOUR"
    assert "Round closed" in texts(headline.args) and "7 answers" not in texts(headline.args)
    assert details.args["thread_ts"] == where.message_id and "2 decisions" in texts(details.args)
    assert where == Delivered("slack", "C_HARBOUR", where.message_id)
    assert await sender.to_channel("elders", reply, "10") is None  # no Slack channel in app.yaml


# -- OAuth: a workspace's token from our database, refreshed before it expires ------------


@pytest.fixture
async def oauth(engine, slack):
    slack.token_rotation = True
    settings = SlackSettings(signing_secret="secret", client_id="111.222", client_secret="client-secret",
                             api_url=slack.url, token_rotation=True)
    bot = SlackBot(engine, settings, **oauth_settings(SqlInstallations.of(engine.store), settings))
    yield bot
    await bot.aclose()


# slack_sdk's oauth.v2.access call (in its AsyncTokenRotator) authenticates with aiohttp's
# BasicAuth, which aiohttp 3.14 deprecates: not ours to fix.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_refreshes_an_expiring_token_and_saves_it(oauth, slack, engine):
    store = oauth.app.installation_store
    await store.async_save(Installation(
        app_id="A_TEST", team_id="T_TEST", bot_token="xoxe.xoxb-old", bot_refresh_token="xoxe-1-old",
        bot_token_expires_at=int(time.time()) + 600, bot_id="B_BOT", bot_user_id="U_BOT",
        bot_scopes=",".join(BOT_SCOPES), user_id="U_LEA", installed_at=1_767_225_600.5, token_type="bot"))
    now = datetime.now(timezone.utc)
    for member, user in (("mo", "U_MO"), ("p01", "U_P01")):
        await engine.store.save_reference(ConversationRef("slack", "T_TEST", user, user), member, "personal", now)
    sender = SlackSender(oauth, FAST)

    await sender.to_member("mo", Reply.text("hi"), "1")
    [refresh] = slack.calls("oauth.v2.access")
    assert refresh.args["grant_type"] == "refresh_token" and refresh.args["refresh_token"] == "xoxe-1-old"
    [post] = slack.calls("chat.postMessage")
    assert post.token.startswith("xoxe.xoxb-1-fake") and post.token != "xoxe.xoxb-old"
    saved = await store.async_find_bot(enterprise_id=None, team_id="T_TEST")
    assert saved.bot_token == post.token and saved.bot_token_expires_at > time.time() + 40_000

    await sender.to_member("p01", Reply.text("again"), "2")  # fresh now: no second refresh
    assert len(slack.calls("oauth.v2.access")) == 1
    assert slack.calls("chat.postMessage")[-1].token == post.token

    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("lea", Reply.text("hi"), "3")  # lea never wrote: her workspace is unknown
    assert raised.value.permanent and raised.value.reason == NO_INSTALLATION
