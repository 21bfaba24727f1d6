"""`digest` in chat: who may pull which digest, what each audience sees, and no repeats."""

from __future__ import annotations

from tests.support import Chat


async def share(chat, title, consent, named="yes", principles="1", body="It happened like this"):
    await chat.say("story")
    await chat.answer(title, body, principles, "citizen", consent, named)


def text(chat) -> str:
    return "\n".join(getattr(b, "text", "") for r in chat.replies for b in r.blocks)


async def test_leaders_see_their_coalition_and_nothing_twice(engine):
    mo, lea = Chat(engine, "mo"), Chat(engine, "lea")
    await share(mo, "Shared with us", "coalition", named="no", principles="1, 7")
    await share(mo, "Only for me", "only me")
    await lea.say("digest")
    out = text(lea)
    assert "Digest for Harbour Youth, last 30 days" in out
    assert "Shared with us" in out and "Only for me" not in out
    assert "shared anonymously" in out and "Mo Member" not in out  # anonymous stays anonymous
    assert "Not yet touched: #2" in out  # quiet principles are named as an invitation
    [detail] = [r for r in lea.replies if r.detail]
    assert "Shared with us" in detail.blocks[0].text
    assert "nothing new since the last digest" in await lea.say("digest")
    await share(mo, "A second one", "movement")
    await lea.say("digest 7d")
    assert "A second one" in text(lea) and "Shared with us" not in text(lea)


async def test_the_movement_digest_is_for_coordinators_and_respects_consent(engine):
    mo, lea, cora = Chat(engine, "mo"), Chat(engine, "lea"), Chat(engine, "cora")
    await share(mo, "Coalition only", "coalition")
    await share(mo, "For the movement", "movement")
    assert "Only movement coordinators" in await lea.say("digest all")
    await cora.say("digest all 30d")
    out = text(cora)
    assert "Digest for Test Movement" in out and "For the movement" in out and "Coalition only" not in out
    # A coordinator may also pull one coalition's digest: its own audience, its own marks.
    await cora.say("digest harbour")
    assert "Coalition only" in text(cora) and "For the movement" in text(cora)


async def test_who_may_not_and_bad_requests(engine):
    mo, lea = Chat(engine, "mo"), Chat(engine, "lea")
    assert "is for its leaders and the movement's coordinators" in await mo.say("digest")
    assert "is for its leaders" in await lea.say("digest elders")
    assert "I don't know the coalition 'nope'" in await lea.say("digest nope")
    assert "Please ask for 1 to 366 days" in await lea.say("digest 0d")
    assert "Try `digest`" in await lea.say("digest harbour elders")


async def test_digest_in_the_middle_of_a_flow_then_carry_on(engine):
    lea = Chat(engine, "lea")
    await lea.say("join")
    out = await lea.say("/digest")
    assert "Digest for Harbour Youth" in out or "nothing new" in out
    assert "Which sector do you come from?" in out


async def test_coordinators_name_other_coordinators(engine):
    lea, cora, mo = Chat(engine, "lea"), Chat(engine, "cora"), Chat(engine, "mo")
    assert "Only movement coordinators" in await lea.say("digest all")
    assert "Only movement coordinators can" in await mo.say("coordinator add mo")
    assert "Lea Leader is now a movement coordinator" in await cora.say("coordinator add lea")
    assert "Digest for Test Movement" in await lea.say("digest all") or "nothing new" in text(lea)
    assert "Coordinators named in chat: Lea Leader" in await lea.say("coordinator list")
    assert "coordinators in app.yaml are changed there" in await lea.say("coordinator remove cora")
    assert "no longer a coordinator" in await cora.say("coordinator remove lea")
    assert "Only movement coordinators" in await lea.say("digest all")
    assert "I don't know the member 'zed'" in await cora.say("coordinator add zed")
