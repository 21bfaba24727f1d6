"""TeamsBot's turn logic with botbuilder's own TestAdapter: no process, no HTTP."""

from __future__ import annotations

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from adapters.teams.app import TeamsBot
from adapters.teams.settings import TeamsSettings
from bot.engine import Engine
from flows.registry import all_flows
from storage.repository import open_store
from tests.flows.conftest import DATA


@pytest.fixture
async def bot(sqlite_url):
    from bot.config import load_config
    from flows.prompts import PRINCIPLES, PROMPTS, flat

    store = open_store(sqlite_url)
    engine = Engine(store, load_config(DATA / "app.yaml", flat(PROMPTS), PRINCIPLES), all_flows())
    teams = TeamsBot(engine, TeamsSettings())
    yield teams
    await teams.aclose()
    await store.close()


def activity(text: str, user: str = "29:mo", **kw) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, from_property=ChannelAccount(id=user, name="Mo"),
                    conversation=ConversationAccount(id=f"a:{user}", conversation_type="personal"),
                    channel_id="msteams", service_url="https://smba.example/", id=kw.pop("id", None), **kw)


async def test_a_command_word_with_a_mention_gets_an_answer(bot):
    adapter = TestAdapter(bot.on_turn)

    def is_help(reply, description):
        assert "here is what you can do" in reply.text

    flow = await adapter.send(activity("<at>Cocreate</at>  help"))
    await flow.assert_reply(is_help)


async def test_a_form_is_an_adaptive_card_and_every_turn_is_remembered(bot):
    adapter = TestAdapter(bot.on_turn)

    def is_card(reply, description):
        [attachment] = reply.attachments
        assert attachment.content_type == "application/vnd.microsoft.card.adaptive"
        assert attachment.content["version"] == "1.5"

    flow = await adapter.send(activity("strengths"))
    await flow.assert_reply(is_card)
    ref = await bot.engine.store.reference_for("teams", "mo", "personal")
    assert ref is not None and ref.conversation == "a:29:mo" and ref.extra["service_url"] == "https://smba.example/"


async def test_an_empty_message_is_ignored(bot):
    adapter = TestAdapter(bot.on_turn)
    flow = await adapter.send(activity("   "))
    await flow.assert_no_reply()
    assert adapter.activity_buffer == []


async def test_a_turn_the_database_missed_leaves_the_zone_and_language_to_the_next(bot, monkeypatch):
    from botbuilder.schema import Entity

    from bot.ports import StorageUnavailable

    adapter = TestAdapter(bot.on_turn)
    client = Entity(type="clientInfo")
    client.additional_properties = {"timezone": "America/New_York"}

    async def away(*_):
        raise StorageUnavailable("the database is restarting")

    def told(text):
        def check(reply, description):
            assert text in reply.text
        return check

    with monkeypatch.context() as patched:
        patched.setattr(bot.engine, "_dispatch", away)
        flow = await adapter.send(activity("help", id="t-1", entities=[client], locale="da-DK"))
        await flow.assert_reply(told("Intet blev gemt"))  # in their client's language
    assert await bot.engine.store.zones() == {} and await bot.engine.store.languages() == {}
    assert await bot.engine.store.reference_for("teams", "mo", "personal") is None  # nothing of the turn

    flow = await adapter.send(activity("help", id="t-2", entities=[client], locale="da-DK"))
    await flow.assert_reply(told("det her kan du"))
    assert await bot.engine.store.zones() == {"mo": "America/New_York"}
    assert (await bot.engine.store.languages())["mo"] == (None, "da-DK")
    assert await bot.engine.store.reference_for("teams", "mo", "personal") is not None
