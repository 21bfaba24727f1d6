"""The outbox on the web: a message for someone who uses the web chat is added to their
conversation once, however often it is sent; chat members get theirs on their own platform,
and on the web only when none of their platforms is connected. On both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.web import codec
from adapters.web.sender import WebSender
from bot.delivery import Delivery
from bot.ports import Outgoing, WebPerson
from storage.web import SqlWeb

from tests.delivery.conftest import Recorder


@pytest.fixture
def web(store):
    return SqlWeb(store)


async def person(web, store, clock, member_id: str, coalition: str = "harbour") -> None:
    """Someone who joined through an invite (a web member) or signed in (a chat member)."""
    from bot.records import Invite

    async with store.unit() as unit:
        [invite] = await unit.add([Invite(coalition, "lea", f"h-{member_id}", clock() + timedelta(days=1))], clock())
    assert await web.join(invite, WebPerson(member_id, member_id.title(), coalition), f"s-{member_id}", "c",
                          clock(), clock() + timedelta(days=1))


def note(member_id: str, clock, occurrence: str = "1") -> Outgoing:
    return Outgoing("notice:test", occurrence, f"member:{member_id}", "harbour", "notice",
                    {"member": "mo", "platform": "slack", "reason": "no_address"}, clock())


async def test_a_web_member_finds_the_message_in_their_conversation_once(store, web, config, clock):
    await person(web, store, clock, "web:abc")
    sender = WebSender(web, None, lambda: "https://c.example", "Test Movement", clock)
    delivery = Delivery(store, config, {"web": sender}, clock=clock, worker="w1")
    await store.enqueue([note("web:abc", clock)], clock())
    assert await delivery.run_once() == 1
    [row] = await store.outbox(target="member:web:abc")
    assert (row.state, row.platform) == ("sent", "web")
    # Sent again (a worker died after sending): the conversation still holds it once.
    again = await sender.to_member("web:abc", codec.load({"blocks": [{"t": "text", "text": "x"}]}), str(row.id))
    assert again.message_id == row.message_id
    [entry] = await web.transcript("web:abc", 10)
    assert entry.who == "bot" and "could not reach" in codec.load(entry.body).blocks[0].text.lower()
    assert await sender.already_sent("web:abc", str(row.id), clock()) is not None


async def test_chat_members_get_theirs_on_their_platform_unless_none_is_connected(store, web, config, clock):
    await person(web, store, clock, "mo")  # mo (Slack in app.yaml) also signed in on the web
    await person(web, store, clock, "lea")
    slack = Recorder(config)
    sender = WebSender(web, None, lambda: "https://c.example", "Test Movement", clock)
    await store.enqueue([note("mo", clock), note("cora", clock)], clock())
    await Delivery(store, config, {"slack": slack, "web": sender}, clock=clock, worker="w1").run_once()
    assert [m for m, _, _ in slack.sent] == ["mo", "cora"] and await web.transcript("mo", 10) == []
    # Without Slack, lea (Slack and Teams in app.yaml, neither connected) reads it on the web;
    # cora never used the web: the row fails as before, and her leaders would be told.
    await store.enqueue([note("lea", clock, "2"), note("cora", clock, "2")], clock())
    await Delivery(store, config, {"web": sender}, clock=clock, worker="w2").run_once()
    assert len(await web.transcript("lea", 10)) == 1
    cora = [r for r in await store.outbox(target="member:cora") if r.occurrence == "2"]
    assert [r.state for r in cora] == ["failed"]


async def test_a_live_message_is_updated_in_place(store, web, clock):
    await person(web, store, clock, "web:abc")
    sender = WebSender(web, None, lambda: "https://c.example", "Test Movement", clock)
    reply = codec.load({"blocks": [{"t": "text", "text": "3 of 10 answered"}]})
    where = await sender.to_member("web:abc", reply, "77")
    await sender.update(where, codec.load({"blocks": [{"t": "text", "text": "4 of 10 answered"}]}))
    [entry] = await web.transcript("web:abc", 10)
    assert codec.load(entry.body).blocks[0].text == "4 of 10 answered"
    assert await sender.to_channel("harbour", reply, "78") is None  # the web has no channels
