"""Identities (`References.identify`, `identities`, `last_platform`) on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.people import Identity
from bot.types import ConversationRef
from storage.repository import SqlStore

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


async def test_the_first_identity_of_an_account_wins(store: SqlStore) -> None:
    first = Identity("slack", "U1", "anna", "anna@kommune.dk", "users.lookupByEmail", "T1")
    row_id, stored = await store.identify(first, NOW)
    assert stored == first
    other = Identity("slack", "U1", "bo", "bo@skole.dk", "users.info", "T1")
    assert await store.identify(other, NOW) == (row_id, first)  # unchanged
    assert await store.identities() == [(row_id, first)]


async def test_concurrent_first_identities_agree(store: SqlStore) -> None:
    attempts = [Identity("teams", "29:x", f"m{i}", None, "roster") for i in range(6)]
    stored = await asyncio.gather(*(store.identify(i, NOW) for i in attempts))
    assert len({row for row in stored}) == 1
    assert len(await store.identities()) == 1


async def test_an_unlisted_account_gives_way_to_the_member_its_email_names(store: SqlStore) -> None:
    own = Identity("teams", "29:bo", "teams:29:bo", None, "roster")
    anna, _ = await store.identify(Identity("slack", "U1", "anna", None, "users.info"), NOW)
    first, _ = await store.identify(own, NOW)
    named = Identity("teams", "29:bo", "bo", "bo@skole.dk", "users.lookupByEmail")
    replaced, stored = await store.identify(named, NOW)
    assert stored == named and replaced > first  # a new row: other replicas learn it by id
    assert await store.identities(after=anna) == [(replaced, named)]
    # A member's account never gives way to another member.
    assert await store.identify(Identity("teams", "29:bo", "anna", None, "roster"), NOW) == (replaced, named)


async def test_the_platform_a_member_last_wrote_from(store: SqlStore) -> None:
    assert await store.last_platform("sam", ["slack", "teams"]) is None
    async with store.unit() as unit:
        await unit.save_reference(ConversationRef("teams", "t", "a:1", "29:sam"), "sam", "personal", NOW)
        await unit.save_reference(ConversationRef("slack", "T", "D1", "U_SAM"), "sam", "personal",
                                  NOW + timedelta(minutes=1))
    assert await store.last_platform("sam", ["slack", "teams"]) == "slack"
    assert await store.last_platform("sam", ["teams"]) == "teams"
    await store.save_reference(ConversationRef("teams", "t", "a:1", "29:sam"), "sam", "personal", NOW + timedelta(hours=1))
    assert await store.last_platform("sam", ["slack", "teams"]) == "teams"
