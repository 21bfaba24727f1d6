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
    # A coordinator may also pull one coalition's digest, with marks of its own; from outside
    # the coalition they see what was shared with the movement, never "my coalition" stories.
    await cora.say("digest harbour")
    assert "Digest for Harbour Youth" in text(cora)
    assert "For the movement" in text(cora) and "Coalition only" not in text(cora)
    await lea.say("digest")  # harbour's own leader: the coalition's audience
    assert "Coalition only" in text(lea) and "For the movement" in text(lea)


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


# -- in the member's language ----------------------------------------------------------

DANISH = {
    "commands.digest": "overblik|digest",
    "words.all": "alle",
    "commands.reflect": "refleksion",
    "labels.sector.public": "Offentlig sektor",
    "labels.sector.citizen": "Borger / bruger",
    "labels.decision.continue": "Fortsæt",
    "digest.title": "Overblik for {where}, de seneste {days} dage",
    "digest.new_stories": "Nye historier",
    "digest.outside_in_share": "{share} borgere og brugere",
    "digest.not_touched": "Endnu ikke berørt: {principles}. Hvem vil reflektere over et af dem? (`{reflect}`)",
    "digest.experiment": "- *{title}*: {status}, {checkins} indtjek{impact}{flag}",
    "digest.impact": ", borgernes oplevede effekt {average}/5{arrow}",
    "digest.status.running": "i gang",
    "digest.anonymous": "delt anonymt",
    "digest.decisions": "beslutninger: {decisions}",
    "digest.try": "Prøv `{digest}`, `{digest} 7d`, `{digest} <koalition> 30d` eller `{digest} {all} 30d`.",
}


def danish_context():
    from datetime import date, datetime, timezone
    from types import SimpleNamespace

    from bot.flow import Context
    from bot.i18n import Texts
    from bot.texts import TEXTS
    from bot.types import Actor, Capabilities
    from flows.prompts import PROMPTS, flat

    english = {**flat(TEXTS), **flat(PROMPTS)}
    now = datetime(2026, 12, 2, 9, tzinfo=timezone.utc)
    harbour = SimpleNamespace(id="harbour", name="Harbour Youth", wanted_sectors=("public", "citizen"), leaders=("lea",))
    return Context(
        actor=Actor("lea", "Lea Leader", "harbour"), coalition=harbour, movement=SimpleNamespace(name="M"),
        capabilities=Capabilities(), now=now, today=date(2026, 12, 2), read=None,
        texts=Texts("da", {**english, **DANISH}), news=Texts("en", english), principles=(), limits=None,
        coalitions=(harbour,),
    )


def danish_digest():
    from datetime import date, datetime, timedelta, timezone

    from bot.digest import (Audience, Digest, ExperimentItem, ImpactPoint, Mobilisation, OutsideIn,
                            PrincipleCount, Scope, StoryItem)

    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    monday = date(2026, 11, 16)
    return Digest(
        scope=Scope(Audience.COALITION, ("harbour",), now - timedelta(days=30), now, new_only=True),
        stories=(StoryItem(1, "harbour", "Åbent bibliotek", "Det skete sådan", (1,), ("citizen",), None, "coalition",
                           now),),
        principles=(PrincipleCount(1, "Nye veje", 2, 1), PrincipleCount(2, "Vaner", 0, 0)),
        experiments=(ExperimentItem(7, "harbour", "Sen åbning", date(2026, 11, 1), date(2026, 12, 31), "running", 4,
                                    3.5, (ImpactPoint(monday, 3.0, 2), ImpactPoint(date(2026, 11, 23), 4.0, 2)),
                                    (), (), {"continue": 1}, "continue", False),),
        mobilisation=(Mobilisation("harbour", {"public": 2}, 1, ("citizen",), 0),),
        outside_in=OutsideIn(1, 7, 0),
    )


def test_the_chat_digest_speaks_the_members_language():
    from flows.digest import details, summary

    ctx, digest = danish_context(), danish_digest()
    said = summary(ctx, digest, ctx.t("digest.title", where="Harbour Youth", days=30), digest.scope)
    out = "\n".join(getattr(b, "text", "") or "" for b in said)
    section = said[0]
    assert section.text == "*Overblik for Harbour Youth, de seneste 30 dage*"
    assert ("Nye historier", "1") in section.fields
    assert ("Outside-in voices", "12,5\xa0% borgere og brugere") in section.fields  # Babel: decimal comma
    assert "(`refleksion`)" in out  # the command word in the member's language
    assert "- *Sen åbning*: i gang, 4 indtjek, borgernes oplevede effekt 3,5/5 ↑" in out
    assert "Borger / bruger" in out
    assert "--format html --language da" in out  # the report in the same language
    thread = "\n".join(getattr(b, "text", "") for b in details(ctx, digest))
    assert "(Harbour Youth, delt anonymt)" in thread and "beslutninger: Fortsæt 1" in thread


async def test_what_to_type_uses_the_members_command_words():
    from flows.digest import Digests

    done = await Digests().start(danish_context(), "digest", "harbour elders")
    assert done.say[0].text == "Prøv `overblik`, `overblik 7d`, `overblik <koalition> 30d` eller `overblik alle 30d`."


def test_every_digest_text_is_used_and_every_used_one_exists():
    import re
    from pathlib import Path

    from flows.digest_texts import DIGEST_TEXTS

    source = (Path(__file__).resolve().parents[2] / "flows" / "digest.py").read_text(encoding="utf-8")
    used = set(re.findall(r"[\"'](digest\.[a-z_.]+[a-z_])[\"']", source))
    keys = {f"digest.{key}" for key in DIGEST_TEXTS["digest"]}
    assert used - keys == set()
    assert {k for k in keys - used if not k.startswith("digest.status.")} == set()
