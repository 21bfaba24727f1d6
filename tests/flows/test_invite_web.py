"""`invite` (a leader's link for joining in a browser) and `web` (a member's one-time sign-in
link), through the real engine on a real database."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.ports import WebPerson
from bot.tokens import digest, new_token
from storage.models import WebInvite, WebLink
from storage.web import SqlWeb

from tests.support import Chat

JOIN = re.compile(r"http://localhost:3000/join/([A-Za-z0-9_-]+)(?=\s|$)")
SIGNIN = re.compile(r"http://localhost:3000/signin/([A-Za-z0-9_-]+)(?=\s|$)")


async def invites(store, coalition="harbour"):
    async with store.unit() as unit:
        return await unit.invites(coalition)


async def stored_hashes(store, table) -> list[str]:
    async with store.engine.connect() as db:
        return list((await db.execute(select(table.token_hash))).scalars())


def token_in(pattern: re.Pattern, out: str) -> str:
    [token] = set(pattern.findall(out))
    return token


async def test_a_leaders_invite_shows_the_link_once_and_stores_only_its_digest(engine, store, clock):
    out = await Chat(engine, "lea").say("invite")
    token = token_in(JOIN, out)
    assert len(token) == 43
    assert "Invite link for Harbour Youth, valid until Mar 16, 2026" in out  # 14 days from Mar 2
    assert f"http://localhost:3000/join/{token}/qr.svg" in out
    assert await stored_hashes(store, WebInvite) == [digest(token)]
    [invite] = await invites(store)
    assert (invite.coalition_id, invite.created_by, invite.joins, invite.revoked_at) == ("harbour", "lea", 0, None)
    assert invite.expires_at == clock.now + timedelta(days=14)
    found = await SqlWeb(store).invite(digest(token))
    assert found.id == invite.id and found.state(clock.now) == "open"

    # Each invite is a new link.
    again = token_in(JOIN, await Chat(engine, "lea").say("invite"))
    assert again != token and len(await invites(store)) == 2


async def test_invite_for_30_days(engine, store, clock):
    out = await Chat(engine, "lea").say("invite 30d")
    assert "valid until Apr 1, 2026" in out
    [invite] = await invites(store)
    assert invite.expires_at - clock.now == timedelta(days=30)
    out = await Chat(engine, "lea").say("invite 90d")
    assert "valid until May 31, 2026" in out
    assert (await invites(store))[0].expires_at - clock.now == timedelta(days=90)


async def test_a_wrong_duration_gives_the_usage_and_stores_nothing(engine, store):
    lea = Chat(engine, "lea")
    for typed in ("invite 0d", "invite 91d", "invite nonsense", "invite 30", "invite -5d", "invite revoke",
                  "invite revoke x", "invite list all"):
        out = await lea.say(typed)
        assert out == ("Try `invite` (valid 14 days), `invite 30d` (1 to 90 days), `invite list` or "
                       "`invite revoke <number>`."), typed
        assert "/join/" not in out
    assert await invites(store) == []
    assert await stored_hashes(store, WebInvite) == []


async def test_invite_list_shows_each_links_state_and_joins(engine, store, clock):
    lea = Chat(engine, "lea")
    assert await lea.say("invite list") == "Harbour Youth has no invite links yet. Type `invite` to make one."
    short = token_in(JOIN, await lea.say("invite 1d"))
    kept = token_in(JOIN, await lea.say("invite"))
    token_in(JOIN, await lea.say("invite 30d"))
    web = SqlWeb(store)
    open_invite = await web.invite(digest(kept))
    for n in range(2):
        assert await web.join(open_invite.id, WebPerson(f"web:j{n}", f"Joiner {n}", "harbour"),
                              digest(new_token()), "c" * 32, clock.now, clock.now + timedelta(days=30))
    [newest, middle, oldest] = await invites(store)
    assert await lea.say(f"invite revoke {newest.id}") == (
        f"Invite link #{newest.id} is revoked: nobody can join with it any more. 0 joined through it; they stay members.")

    clock.now += timedelta(days=2)  # the first has expired
    out = await lea.say("invite list")
    assert out.splitlines() == [
        "Invite links for Harbour Youth",
        f"- #{newest.id}: revoked, until Apr 1, 2026, 0 joined (made by Lea Leader)",
        f"- #{middle.id}: open, until Mar 16, 2026, 2 joined (made by Lea Leader)",
        f"- #{oldest.id}: expired, until Mar 3, 2026, 0 joined (made by Lea Leader)",
    ]
    assert (await web.invite(digest(short))).state(clock.now) == "expired"


async def test_invite_revoke_only_in_the_leaders_own_coalition(engine, store, clock):
    cora = Chat(engine, "cora")  # the leader of Together Not Alone
    theirs = token_in(JOIN, await cora.say("invite"))
    [elders] = await invites(store, "elders")
    lea = Chat(engine, "lea")
    ours = token_in(JOIN, await lea.say("invite"))
    [harbour] = await invites(store)

    assert await lea.say(f"invite revoke {elders.id}") == (
        f"Harbour Youth has no invite link #{elders.id}. Type `invite list` to see them.")
    assert await lea.say("invite revoke 999") == "Harbour Youth has no invite link #999. Type `invite list` to see them."
    web = SqlWeb(store)
    assert (await web.invite(digest(theirs))).state(clock.now) == "open"

    out = await lea.say(f"invite revoke #{harbour.id}")
    assert out.startswith(f"Invite link #{harbour.id} is revoked")
    assert (await web.invite(digest(ours))).state(clock.now) == "revoked"
    assert await lea.say(f"invite revoke {harbour.id}") == f"Invite link #{harbour.id} was revoked already."
    assert (await web.invite(digest(theirs))).state(clock.now) == "open"
    assert "Harbour" not in await cora.say("invite list")


async def test_a_member_who_is_not_a_leader_cannot_invite(engine, store):
    mo = Chat(engine, "mo")
    for typed in ("invite", "invite list", "invite 30d"):
        out = await mo.say(typed)
        assert out == ("Only coalition leaders can invite people to the coalition with a link. "
                       "The leaders of Harbour Youth are: Lea Leader."), typed
    assert await invites(store) == []
    token_in(JOIN, await Chat(engine, "lea").say("invite"))
    [invite] = await invites(store)
    assert "revoked" not in await mo.say(f"invite revoke {invite.id}")
    assert (await invites(store))[0].revoked_at is None


async def test_web_gives_a_one_time_sign_in_link(engine, store, clock):
    out = await Chat(engine, "mo").say("web")
    token = token_in(SIGNIN, out)
    assert len(token) == 43
    assert "It works once, within 15 minutes. Don't share it: it signs in as you." in out
    assert await stored_hashes(store, WebLink) == [digest(token)]
    async with store.engine.connect() as db:
        link = (await db.execute(select(WebLink))).one()
    assert (link.purpose, link.member_id, link.name, link.coalition_id, link.used_at) == (
        "signin", "mo", "Mo Member", "harbour", None)
    assert link.expires_at == clock.now + timedelta(minutes=15)

    web = SqlWeb(store)
    session = new_token()
    signed = await web.use_sign_in(digest(token), digest(session), "c" * 32, clock.now, clock.now + timedelta(days=30))
    assert signed == WebPerson("mo", "Mo Member", "harbour")
    assert await web.use_sign_in(digest(token), digest(new_token()), "c" * 32, clock.now, clock.now) is None


async def test_web_in_the_middle_of_a_flow_answers_and_keeps_the_flow(engine, store):
    mo = Chat(engine, "mo")
    await mo.say("join")
    out = await mo.say("/web")  # typed as a command, it asks nothing: the open question stays
    token_in(SIGNIN, out)
    assert "Which sector do you come from?" in out
    assert len(await stored_hashes(store, WebLink)) == 1
    assert "(2/3)" in await mo.say("business")  # the join carries on where it was


async def test_the_same_event_twice_makes_one_invite(engine, store):
    lea = Chat(engine, "lea")
    first = await lea.say("invite", event_id="slack-evt-1")
    token_in(JOIN, first)
    second = await lea.say("invite", event_id="slack-evt-1")
    assert "/join/" not in second
    assert len(await invites(store)) == 1
    await lea.say("web", event_id="slack-evt-2")
    await lea.say("web", event_id="slack-evt-2")
    assert len(await stored_hashes(store, WebLink)) == 1
