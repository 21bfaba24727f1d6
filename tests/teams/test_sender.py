"""The outbox's Teams sender through botbuilder's CloudAdapter against the fake Bot
Connector over real HTTP (authentication off), with a real store."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from adapters.ratelimit import HEADROOM

from adapters.teams.app import TeamsBot
from adapters.teams.sender import NO_ADDRESS, TeamsSender
from adapters.teams.settings import TeamsSettings
from bot.config import TeamsLimits, load_config
from bot.engine import Engine
from bot.ports import Delivered, DeliveryError
from bot.types import ConversationRef
from bot.ui import Reply, Text
from flows.prompts import PRINCIPLES, PROMPTS, flat
from flows.registry import all_flows
from storage.repository import open_store
from tests.fakes.teams import FakeConnector
from tests.flows.conftest import DATA

CROWD = 25  # extra members "p01".. with Teams users "29:p01"..
CHANNEL = "19:team-1@thread.tacv2"  # harbour's Teams channel in tests/data/app.yaml
TENANT = "t-1"


def crowd_config(tmp_path):
    """tests/data/app.yaml with CROWD more members in the harbour coalition."""
    text = (DATA / "app.yaml").read_text()
    extra = "".join(f'  - id: p{i:02d}\n    name: Person {i}\n    platforms: {{teams: "29:p{i:02d}"}}\n'
                    for i in range(1, CROWD + 1))
    text = text.replace("coalitions:\n", extra + "coalitions:\n", 1)
    text = text.replace("    members: [mo]\n", f"    members: [mo, {', '.join(f'p{i:02d}' for i in range(1, CROWD + 1))}]\n", 1)
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return load_config(path, flat(PROMPTS), PRINCIPLES)


@pytest.fixture
async def teams():
    async with FakeConnector(tenant_id=TENANT) as fake:
        yield fake


@pytest.fixture
async def bot(sqlite_url, tmp_path):
    store = open_store(sqlite_url)
    bot = TeamsBot(Engine(store, crowd_config(tmp_path), all_flows()), TeamsSettings())
    yield bot
    await bot.aclose()
    await store.close()


@pytest.fixture
def sender(bot):
    return TeamsSender(bot, TeamsLimits())


def extra(teams: FakeConnector, kind: str, **more) -> dict:
    return {"service_url": teams.url, "bot_id": "28:bot", "bot_name": "Cocreate", "kind": kind, **more}


async def personal(bot, teams, member: str) -> ConversationRef:
    """The member wrote to the bot once: their 1:1 chat is known."""
    ref = ConversationRef("teams", TENANT, f"a:{member}", f"29:{member}", extra=extra(teams, "personal"))
    await bot.engine.store.save_reference(ref, member, "personal", datetime.now(timezone.utc))
    return ref


async def roster(bot, teams, member: str) -> None:
    """The member is in a team the app was added to, and never wrote."""
    ref = ConversationRef("teams", TENANT, CHANNEL, f"29:{member}", extra=extra(teams, "roster", channel=CHANNEL))
    await bot.engine.store.save_reference(ref, member, "roster", datetime.now(timezone.utc))


def said(teams: FakeConnector, conversation: str) -> str:
    return " ".join(str(m.get("text")) + str(m.get("attachments")) for m in teams.messages(conversation))


async def test_to_a_member_with_a_personal_chat(sender, bot, teams):
    await personal(bot, teams, "mo")
    where = await sender.to_member("mo", Reply.text("Time for a check-in"), "42")
    [call] = teams.calls("reply")
    [message] = teams.messages("a:mo")
    assert call.conversation_id == "a:mo" and where == Delivered("teams", "a:mo", message["id"])
    assert "Time for a check-in" in said(teams, "a:mo")
    assert sender.reaches("mo") and not sender.reaches("nobody") and not sender.can_check_sent
    assert await sender.already_sent("mo", "42", datetime.now(timezone.utc)) is None


async def test_a_member_known_from_a_roster_gets_a_chat_opened(sender, bot, teams):
    await roster(bot, teams, "lea")
    where = await sender.to_member("lea", Reply.text("Welcome"), "1")
    [create] = teams.calls("create")
    assert create.body["members"] == [{"id": "29:lea"}] and where.conversation.startswith("a:new-")
    assert "Welcome" in said(teams, where.conversation)
    stored = await bot.engine.store.reference_for("teams", "lea", "personal")
    assert stored.conversation == where.conversation  # the next send goes straight there
    await sender.to_member("lea", Reply.text("Again"), "2")
    assert len(teams.calls("create")) == 1


async def test_no_address_is_permanent(sender):
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("cora", Reply.text("hi"), "1")
    assert raised.value.permanent and raised.value.reason == NO_ADDRESS


async def test_a_403_is_permanent_and_marks_the_member_without_telling_leaders(sender, bot, teams):
    await personal(bot, teams, "mo")
    await personal(bot, teams, "lea")  # mo's leader: reachable, yet not messaged from here
    teams.fail("reply", 403)
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert raised.value.permanent and raised.value.reason == "BotNotInConversationRoster"
    assert await bot.engine.store.unreachable("teams") == [("mo", "BotNotInConversationRoster")]
    assert len(teams.calls("reply")) == 1 and teams.messages("a:lea") == []


async def test_a_roster_member_who_cannot_be_reached(sender, bot, teams):
    await roster(bot, teams, "lea")
    teams.fail("create", 403)
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("lea", Reply.text("hi"), "1")
    assert raised.value.permanent
    [(member, reason)] = await bot.engine.store.unreachable("teams")
    assert member == "lea" and reason.startswith("cannot open a chat")


async def test_a_429_comes_back_with_retry_after_without_sleeping(sender, bot, teams):
    await personal(bot, teams, "mo")
    teams.throttle("reply", retry_after=7)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert raised.value.retry_after == 7 and not raised.value.permanent
    assert time.monotonic() - started < 1 and len(teams.calls("reply")) == 1
    teams.fail("reply", 502)
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "1")
    assert not raised.value.permanent


async def test_the_tenant_budget_holds_before_any_429(bot, teams):
    members = [f"p{i:02d}" for i in range(1, CROWD + 1)]
    for member in members:
        await personal(bot, teams, member)
    teams.limit_tenant((20, 1.0))  # what the fake enforces over all conversations together
    sender = TeamsSender(bot, TeamsLimits(per_tenant_per_second=20))
    started = time.monotonic()
    await asyncio.gather(*(sender.to_member(m, Reply.text(f"to {m}"), str(n)) for n, m in enumerate(members)))
    assert teams.throttled() == 0 and len(teams.calls("reply")) == CROWD
    assert time.monotonic() - started >= 1.0  # 25 sends in windows of 10 per 0.51 s
    sender.share = 0.5
    assert sender.tenants.windows == [(5, 5 / 10 * (1 + HEADROOM))]


async def test_conversation_windows_are_the_bots_own(sender, bot):
    assert sender.conversations is bot.limiter
    assert bot.limiter.windows[0] == (7, 1.0 * (1 + HEADROOM))


async def test_update_replaces_the_activity(sender, bot, teams):
    await personal(bot, teams, "mo")
    where = await sender.to_member("mo", Reply.text("3 of 10 answered"), "5")
    await sender.update(where, Reply.text("4 of 10 answered"))
    [update] = teams.calls("update")
    assert (update.conversation_id, update.activity_id) == (where.conversation, where.message_id)
    [message] = teams.messages("a:mo")
    assert "4 of 10" in str(message["text"]) and message["id"] == where.message_id


async def test_to_channel_posts_the_headline_and_details_in_its_thread(sender, bot, teams):
    ref = ConversationRef("teams", TENANT, f"{CHANNEL};messageid=1", "29:mo", extra=extra(teams, "channel", channel=CHANNEL))
    await bot.engine.store.save_reference(ref, "mo", "channel", datetime.now(timezone.utc))
    reply = Reply(blocks=(Text("*Round closed*"), Text("7 answers"), Text("2 decisions")))
    where = await sender.to_channel("harbour", reply, "9")
    assert where.conversation == CHANNEL and "Round closed" in said(teams, CHANNEL) and "7 answers" not in said(teams, CHANNEL)
    assert "2 decisions" in said(teams, f"{CHANNEL};messageid={where.message_id}")
    assert await sender.to_channel("elders", reply, "10") is None  # no Teams channel in app.yaml


async def test_to_channel_without_a_stored_address_is_none(sender):
    assert await sender.to_channel("harbour", Reply.text("news"), "1") is None


async def test_an_update_is_tried_again_after_a_5xx_and_a_post_is_not(sender, bot, teams):
    """msrest's retry policy, as requests applied it: a PUT may be repeated, a POST that
    reached Teams may not (it would post twice)."""
    await personal(bot, teams, "mo")
    where = await sender.to_member("mo", Reply.text("3 of 10 answered"), "5")
    teams.fail("update", 503)
    teams.respond("update", None)  # and then 200 with no body at all
    await sender.update(where, Reply.text("4 of 10 answered"))
    assert [c.answered for c in teams.calls("update")] == [503, 200]
    assert "4 of 10" in str(teams.calls("update")[-1].body)
    teams.fail("reply", 503)
    with pytest.raises(DeliveryError) as raised:
        await sender.to_member("mo", Reply.text("hi"), "6")
    assert not raised.value.permanent and [c.answered for c in teams.calls("reply")] == [201, 503]


async def test_sends_wait_for_the_connector_together_not_in_a_few_threads(bot):
    """No thread-pool ceiling: 40 sends to a connector 150 ms away overlap. msrest's requests
    ran in asyncio's default pool, min(32, cores + 4) threads: with 6, at least 7 x 150 ms."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(6))  # a 2-core machine's
    async with FakeConnector(tenant_id=TENANT, latency_ms=150) as slow:
        refs = [ConversationRef("teams", TENANT, f"a:p{i:02d}", f"29:p{i:02d}", extra=extra(slow, "personal"))
                for i in range(40)]
        started = time.monotonic()
        await asyncio.gather(*(bot.post(ref, Reply.text("Time for a check-in")) for ref in refs))
        took = time.monotonic() - started
    assert len(slow.calls("reply")) == 40 and took < 0.9
