"""`storage.web.SqlWeb` (the web platform's `bot.ports.WebAccess`) and the invite records of
the engine's unit, against every backend via `store`: joins through invites, one-time
links, sessions, conversations, unsubscribing and rate-limited attempts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.ports import WebPerson
from bot.records import Invite, InviteRevoked, SignInLink
from bot.tokens import digest, new_token
from storage.models import WebAttempt, WebInvite, WebLink, WebPersonRow, WebSessionRow
from storage.repository import SqlStore
from storage.web import SqlWeb

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
MONTH = timedelta(days=30)


async def count(store: SqlStore, table) -> int:
    async with store.engine.connect() as db:
        return await db.scalar(select(func.count()).select_from(table))


async def add(store: SqlStore, *records, now: datetime = NOW) -> list[int]:
    async with store.unit() as unit:
        return await unit.add(list(records), now)


async def invite(store: SqlStore, coalition: str = "harbour", days: int = 14, token: str | None = None) -> tuple[str, int]:
    """A leader's invite: (its token, its id)."""
    token = token or new_token()
    [invite_id] = await add(store, Invite(coalition, "lea", digest(token), NOW + timedelta(days=days)))
    return token, invite_id


def person(n: int = 1, email: str | None = None) -> WebPerson:
    return WebPerson(f"web:p{n}", f"Person {n} ✨", "harbour", email)


# -- joining through an invite ---------------------------------------------------------------


async def test_joining_through_an_open_invite_makes_a_person_and_a_session(store: SqlStore) -> None:
    web = SqlWeb(store)
    token, invite_id = await invite(store)
    found = await web.invite(digest(token))
    assert (found.id, found.coalition_id, found.created_by, found.joins, found.state(NOW)) == (
        invite_id, "harbour", "lea", 0, "open")
    assert await web.invite(token) is None  # looked up by digest only

    session = new_token()
    assert await web.join(invite_id, person(1, "ada@example.org"), digest(session), "c" * 32, NOW, NOW + MONTH)
    opened = await web.session(digest(session), NOW + HOUR)
    assert opened.csrf == "c" * 32
    assert opened.person == WebPerson("web:p1", "Person 1 ✨", "harbour", "ada@example.org", False)
    assert await web.person("web:p1") == opened.person
    assert await web.people() == ["web:p1"]
    assert (await web.invite(digest(token))).joins == 1

    assert await web.join(invite_id, person(2), digest(new_token()), "d" * 32, NOW, NOW + MONTH)
    assert (await web.invite(digest(token))).joins == 2
    assert sorted(await web.people()) == ["web:p1", "web:p2"]


async def test_an_expired_or_revoked_invite_creates_nothing(store: SqlStore) -> None:
    web = SqlWeb(store)
    expired, expired_id = await invite(store, days=1)
    revoked, revoked_id = await invite(store)
    await add(store, InviteRevoked("harbour", revoked_id, "lea"), now=NOW + HOUR)

    later = NOW + timedelta(days=1)  # the first expires exactly now
    assert (await web.invite(digest(expired))).state(later) == "expired"
    assert (await web.invite(digest(revoked))).state(NOW + 2 * HOUR) == "revoked"
    assert not await web.join(expired_id, person(1), digest(new_token()), "c" * 32, later, later + MONTH)
    assert not await web.join(revoked_id, person(2), digest(new_token()), "c" * 32, NOW + 2 * HOUR, later)
    assert not await web.join(999_999, person(3), digest(new_token()), "c" * 32, NOW, later)
    assert await web.people() == []
    assert await count(store, WebPersonRow) == 0 and await count(store, WebSessionRow) == 0
    assert (await web.invite(digest(expired))).joins == 0 and (await web.invite(digest(revoked))).joins == 0


# -- invites as records of the engine's unit ---------------------------------------------------


async def test_invites_are_listed_per_coalition_newest_first_and_revoked_once(store: SqlStore) -> None:
    web = SqlWeb(store)
    first, first_id = await invite(store)
    second, second_id = await invite(store, days=30)
    _, other_id = await invite(store, coalition="elders")
    async with store.unit() as unit:
        listed = await unit.invites("harbour")
    assert [i.id for i in listed] == [second_id, first_id]
    assert [i.expires_at for i in listed] == [NOW + timedelta(days=30), NOW + timedelta(days=14)]
    assert {(i.coalition_id, i.created_by, i.created_at, i.revoked_at, i.joins) for i in listed} == {
        ("harbour", "lea", NOW, None, 0)}
    async with store.engine.connect() as db:  # only digests are kept
        hashes = set((await db.execute(select(WebInvite.token_hash))).scalars())
    assert digest(first) in hashes and first not in hashes and all(len(h) == 64 for h in hashes)

    # Another coalition's invite is not revoked by a record naming this one.
    await add(store, InviteRevoked("harbour", other_id, "lea"), now=NOW + HOUR)
    async with store.unit() as unit:
        [elders] = await unit.invites("elders")
    assert elders.revoked_at is None and elders.state(NOW + HOUR) == "open"

    await add(store, InviteRevoked("harbour", first_id, "lea"), now=NOW + HOUR)
    await add(store, InviteRevoked("harbour", first_id, "lea"), now=NOW + 2 * HOUR)  # twice: no change
    revoked = await web.invite(digest(first))
    assert revoked.revoked_at == NOW + HOUR and revoked.state(NOW + HOUR) == "revoked"
    assert (await web.invite(digest(second))).state(NOW + HOUR) == "open"


# -- one-time sign-in links -------------------------------------------------------------------


async def test_a_sign_in_link_works_once(store: SqlStore) -> None:
    web = SqlWeb(store)
    token = new_token()
    await add(store, SignInLink("mo", "Mo Member", "harbour", digest(token), NOW + timedelta(minutes=15)))
    first = new_token()
    signed = await web.use_sign_in(digest(token), digest(first), "c" * 32, NOW + timedelta(minutes=5), NOW + MONTH)
    # A chat member's first time on the web makes them a web person, without an email.
    assert signed == WebPerson("mo", "Mo Member", "harbour", None, False)
    assert (await web.session(digest(first), NOW + HOUR)).person == signed
    assert await web.people() == ["mo"]

    again = new_token()
    assert await web.use_sign_in(digest(token), digest(again), "d" * 32, NOW + timedelta(minutes=6), NOW + MONTH) is None
    assert await web.session(digest(again), NOW + HOUR) is None
    assert await web.use_sign_in(digest(new_token()), digest(again), "d" * 32, NOW, NOW + MONTH) is None
    assert await count(store, WebSessionRow) == 1


async def test_a_sign_in_link_does_not_work_after_it_expires(store: SqlStore) -> None:
    web = SqlWeb(store)
    token = new_token()
    await web.issue_link(digest(token), "signin", "mo", NOW, NOW + timedelta(minutes=15))
    session = new_token()
    assert await web.use_sign_in(digest(token), digest(session), "c" * 32, NOW + timedelta(minutes=15), NOW + MONTH) is None
    assert await web.session(digest(session), NOW + HOUR) is None
    assert await web.people() == [] and await count(store, WebSessionRow) == 0


async def test_an_unsubscribe_link_is_not_a_sign_in_link(store: SqlStore) -> None:
    web = SqlWeb(store)
    _, invite_id = await invite(store)
    assert await web.join(invite_id, person(1, "ada@example.org"), digest(new_token()), "c" * 32, NOW, NOW + MONTH)
    token = new_token()
    await web.issue_link(digest(token), "unsubscribe", "web:p1", NOW, None)
    assert await web.use_sign_in(digest(token), digest(new_token()), "c" * 32, NOW, NOW + MONTH) is None
    assert await count(store, WebSessionRow) == 1


# -- sessions ----------------------------------------------------------------------------------


async def test_sessions_expire_and_close(store: SqlStore) -> None:
    web = SqlWeb(store)
    _, invite_id = await invite(store)
    phone, laptop = new_token(), new_token()
    assert await web.join(invite_id, person(1), digest(phone), "c" * 32, NOW, NOW + HOUR)
    link = new_token()
    await web.issue_link(digest(link), "signin", "web:p1", NOW, NOW + HOUR)
    assert await web.use_sign_in(digest(link), digest(laptop), "d" * 32, NOW, NOW + MONTH)

    assert (await web.session(digest(phone), NOW + HOUR - timedelta(seconds=1))).csrf == "c" * 32
    assert await web.session(digest(phone), NOW + HOUR) is None  # expired
    assert (await web.session(digest(laptop), NOW + HOUR)).csrf == "d" * 32
    assert await web.session(phone, NOW) is None  # the token itself is not a key

    await web.close_session(digest(laptop))
    assert await web.session(digest(laptop), NOW) is None
    await web.close_session(digest(laptop))  # closing twice is harmless
    assert await web.person("web:p1") is not None  # signing out keeps the person


async def test_signing_in_again_clears_that_members_expired_sessions(store: SqlStore) -> None:
    web = SqlWeb(store)
    _, invite_id = await invite(store)
    assert await web.join(invite_id, person(1), digest(new_token()), "c" * 32, NOW, NOW + HOUR)
    link = new_token()
    await web.issue_link(digest(link), "signin", "web:p1", NOW, NOW + 3 * HOUR)
    assert await web.use_sign_in(digest(link), digest(new_token()), "d" * 32, NOW + 2 * HOUR, NOW + MONTH)
    assert await count(store, WebSessionRow) == 1


# -- people ------------------------------------------------------------------------------------


async def test_person_by_email_and_unsubscribe(store: SqlStore) -> None:
    web = SqlWeb(store)
    _, invite_id = await invite(store)
    assert await web.join(invite_id, person(1, "ada@example.org"), digest(new_token()), "c" * 32, NOW, NOW + MONTH)
    assert await web.join(invite_id, person(2), digest(new_token()), "c" * 32, NOW, NOW + MONTH)
    assert (await web.person_by_email("ada@example.org")).member_id == "web:p1"
    assert await web.person_by_email("nobody@example.org") is None
    assert await web.person("web:nobody") is None

    token = new_token()
    await web.issue_link(digest(token), "unsubscribe", "web:p1", NOW, None)
    assert await web.unsubscribe(digest(new_token()), NOW) is None
    assert await web.unsubscribe(token, NOW) is None  # by digest only
    gone = await web.unsubscribe(digest(token), NOW + HOUR)
    assert gone.member_id == "web:p1" and gone.unsubscribed
    assert (await web.person("web:p1")).unsubscribed and not (await web.person("web:p2")).unsubscribed
    assert (await web.unsubscribe(digest(token), NOW + 2 * HOUR)).unsubscribed  # again: still unsubscribed
    async with store.engine.connect() as db:
        at = await db.scalar(select(WebPersonRow.unsubscribed_at).where(WebPersonRow.member_id == "web:p1"))
    assert at == NOW + HOUR  # the first time counts

    # A sign-in link is not an unsubscribe link.
    signin = new_token()
    await web.issue_link(digest(signin), "signin", "web:p2", NOW, NOW + HOUR)
    assert await web.unsubscribe(digest(signin), NOW) is None
    assert not (await web.person("web:p2")).unsubscribed


# -- the conversation ---------------------------------------------------------------------------


async def test_a_tagged_entry_is_recorded_once(store: SqlStore) -> None:
    web = SqlWeb(store)
    body = {"blocks": [{"text": "Impact check-in 🌊 <b>"}]}
    first = await web.record("web:p1", [("bot", body), ("bot", {"n": 2})], NOW, tag="outbox:17")
    assert len(first) == 2
    assert await web.record("web:p1", [("bot", body), ("bot", {"n": 2})], NOW + HOUR, tag="outbox:17") == []
    entries = await web.transcript("web:p1", 10)
    assert [(e.who, dict(e.body)) for e in entries] == [("bot", body), ("bot", {"n": 2})]
    found = await web.entry("outbox:17")
    assert (found.id, found.created_at, found.emailed_at) == (first[0], NOW, None)
    assert await web.entry("outbox:18") is None

    await web.emailed(found.id, NOW + HOUR)
    assert (await web.entry("outbox:17")).emailed_at == NOW + HOUR


async def test_transcript_is_oldest_first_limited_to_the_latest_and_per_member(store: SqlStore) -> None:
    web = SqlWeb(store)
    for n in range(5):
        await web.record("web:p1", [("member", {"text": f"said {n}"}), ("bot", {"n": n})], NOW + n * HOUR)
    await web.record("web:p2", [("member", {"text": "someone else"})], NOW)
    latest = await web.transcript("web:p1", 3)
    assert [dict(e.body) for e in latest] == [{"n": 3}, {"text": "said 4"}, {"n": 4}]
    assert [e.who for e in latest] == ["bot", "member", "bot"]
    assert len(await web.transcript("web:p1", 60)) == 10
    assert [dict(e.body) for e in await web.transcript("web:p2", 60)] == [{"text": "someone else"}]
    assert await web.transcript("web:nobody", 60) == []


async def test_replace_entry_changes_only_that_entry(store: SqlStore) -> None:
    web = SqlWeb(store)
    [kept] = await web.record("web:p1", [("bot", {"text": "sent 0/2"})], NOW, tag="progress")
    [other] = await web.record("web:p1", [("bot", {"text": "other"})], NOW)
    await web.replace_entry(kept, {"text": "sent 2/2 · 1 answered ✓"})
    assert [dict(e.body) for e in await web.transcript("web:p1", 10)] == [
        {"text": "sent 2/2 · 1 answered ✓"}, {"text": "other"}]
    assert (await web.entry("progress")).id == kept and other != kept


# -- rate-limited attempts --------------------------------------------------------------------


async def test_allow_counts_within_the_window_and_refuses_over_the_limit(store: SqlStore) -> None:
    web = SqlWeb(store)
    assert await web.allow("join-address", "10.0.0.1", NOW, HOUR, 2)
    assert await web.allow("join-address", "10.0.0.1", NOW + timedelta(minutes=10), HOUR, 2)
    assert not await web.allow("join-address", "10.0.0.1", NOW + timedelta(minutes=20), HOUR, 2)
    assert not await web.allow("join-address", "10.0.0.1", NOW + timedelta(minutes=30), HOUR, 2)
    # Other keys and kinds have their own counts.
    assert await web.allow("join-address", "10.0.0.2", NOW, HOUR, 2)
    assert await web.allow("join-invite", "10.0.0.1", NOW, HOUR, 2)
    # Refusals are not counted: once the first attempt is an hour old, one more is allowed.
    assert await web.allow("join-address", "10.0.0.1", NOW + HOUR, HOUR, 2)
    assert not await web.allow("join-address", "10.0.0.1", NOW + HOUR, HOUR, 2)
    # Once both are out of the window, there is room for two again, and old rows are gone.
    later = NOW + timedelta(minutes=10) + 2 * HOUR
    assert await web.allow("join-address", "10.0.0.1", later, HOUR, 2)
    assert await web.allow("join-address", "10.0.0.1", later, HOUR, 2)
    assert not await web.allow("join-address", "10.0.0.1", later, HOUR, 2)
    async with store.engine.connect() as db:
        kept = await db.scalar(select(func.count()).select_from(WebAttempt).where(WebAttempt.key == "10.0.0.1",
                                                                                   WebAttempt.kind == "join-address"))
    assert kept == 2


async def test_allow_lets_no_more_than_the_limit_through_at_once(store: SqlStore) -> None:
    """Requests arrive together (a script hammering the join page, or several replicas): the
    limit holds however many ask at the same moment."""
    web = SqlWeb(store)
    allowed = await asyncio.gather(*(web.allow("join-invite", "7", NOW, HOUR, 3) for _ in range(12)))
    assert sum(allowed) == 3
    assert not await web.allow("join-invite", "7", NOW, HOUR, 3)


async def test_a_sign_in_link_used_twice_at_once_opens_one_session(store: SqlStore) -> None:
    web = SqlWeb(store)
    token = new_token()
    await web.issue_link(digest(token), "signin", "mo", NOW, NOW + HOUR)
    sessions = [new_token() for _ in range(6)]
    signed = await asyncio.gather(*(web.use_sign_in(digest(token), digest(s), "c" * 32, NOW, NOW + MONTH)
                                    for s in sessions))
    assert [p.member_id for p in signed if p is not None] == ["mo"]
    assert await count(store, WebSessionRow) == 1 and await web.people() == ["mo"]


async def test_links_are_stored_as_digests(store: SqlStore) -> None:
    web = SqlWeb(store)
    token = new_token()
    await web.issue_link(digest(token), "unsubscribe", "web:p1", NOW, None)
    await add(store, SignInLink("mo", "Mo Member", "harbour", digest(new_token()), NOW + HOUR))
    async with store.engine.connect() as db:
        rows = (await db.execute(select(WebLink.token_hash, WebLink.purpose, WebLink.expires_at)
                                 .order_by(WebLink.purpose))).all()
    assert [(r.purpose, r.expires_at) for r in rows] == [("signin", NOW + HOUR), ("unsubscribe", None)]
    assert digest(token) in {r.token_hash for r in rows} and token not in {r.token_hash for r in rows}
