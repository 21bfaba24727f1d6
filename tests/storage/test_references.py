"""Conversation references (`bot.ports.References`), on a `Unit` and on the `Store`,
run against every backend via `store`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.types import ConversationRef
from storage.models import ConversationRefRow
from storage.repository import SqlStore

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)
TEAMS_URL = "https://smba.trafficmanager.net/emea/"


def teams(conversation: str = "a:1personal", user: str = "29:1ada", **extra) -> ConversationRef:
    data = {"service_url": TEAMS_URL, "bot_id": "28:bot"} | extra
    return ConversationRef("teams", "tenant-1", conversation, user, None, data)


async def count(store: SqlStore) -> int:
    async with store.engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(ConversationRefRow))


async def test_a_saved_reference_is_found_with_its_extra(store: SqlStore) -> None:
    ref = teams(conversation_type="personal", name="Ada")
    assert await store.reference_for("teams", "ada") is None
    async with store.unit() as unit:
        await unit.save_reference(ref, "ada", "personal", NOW)
        assert await unit.reference_for("teams", "ada") == ref  # visible inside the unit
    found = await store.reference_for("teams", "ada")
    assert found == ref
    assert found is not None and found.thread is None
    assert dict(found.extra) == {
        "service_url": TEAMS_URL, "bot_id": "28:bot", "conversation_type": "personal",
        "name": "Ada",
    }
    # Other members, platforms and kinds see nothing.
    assert await store.reference_for("teams", "bo") is None
    assert await store.reference_for("slack", "ada") is None
    assert await store.reference_for("teams", "ada", kind="channel") is None


async def test_saving_again_updates_the_same_row_and_refreshes_extra(store: SqlStore) -> None:
    await store.save_reference(teams(), "ada", "personal", NOW)
    moved = teams(service_url="https://smba.trafficmanager.net/amer/", tenant_note="moved")
    await store.save_reference(moved, "ada-renamed", "personal", NOW + timedelta(minutes=1))
    assert await count(store) == 1
    found = await store.reference_for("teams", "ada-renamed")
    assert found is not None
    assert found.extra["service_url"] == "https://smba.trafficmanager.net/amer/"
    assert found.extra["tenant_note"] == "moved"
    assert await store.reference_for("teams", "ada") is None  # member_id refreshed too
    async with store.engine.connect() as connection:
        updated_at = await connection.scalar(select(ConversationRefRow.updated_at))
    assert updated_at == NOW + timedelta(minutes=1)


async def test_the_same_conversation_of_another_user_or_tenant_is_another_row(
    store: SqlStore,
) -> None:
    await store.save_reference(teams(), "ada", "personal", NOW)
    await store.save_reference(teams(user="29:1bo"), "bo", "personal", NOW)
    other_tenant = ConversationRef("teams", "tenant-2", "a:1personal", "29:1ada", None, {})
    await store.save_reference(other_tenant, "ada", "personal", NOW - timedelta(days=1))
    await store.save_reference(
        ConversationRef("slack", "tenant-1", "a:1personal", "29:1ada"), "ada", "personal", NOW
    )
    assert await count(store) == 4
    assert await store.reference_for("teams", "ada") == teams()
    assert await store.reference_for("teams", "bo") == teams(user="29:1bo")


async def test_the_most_recently_saved_conversation_wins(store: SqlStore) -> None:
    first, second, third = (teams(conversation=f"a:1chat-{n}") for n in (1, 2, 3))
    await store.save_reference(first, "ada", "personal", NOW)
    await store.save_reference(second, "ada", "personal", NOW + timedelta(hours=2))
    await store.save_reference(third, "ada", "personal", NOW + timedelta(hours=1))
    assert await store.reference_for("teams", "ada") == second
    await store.save_reference(first, "ada", "personal", NOW + timedelta(hours=3))
    assert await store.reference_for("teams", "ada") == first
    assert await count(store) == 3


async def test_kind_filters_and_none_means_any_kind(store: SqlStore) -> None:
    personal = teams()
    group = teams(conversation="19:group@thread.v2")
    channel = teams(conversation="19:general@thread.tacv2;messageid=1700000000000")
    await store.save_reference(personal, "ada", "personal", NOW)
    await store.save_reference(group, "ada", "group", NOW + timedelta(minutes=1))
    await store.save_reference(channel, "ada", "channel", NOW + timedelta(minutes=2))
    assert await store.reference_for("teams", "ada") == personal  # "personal" by default
    assert await store.reference_for("teams", "ada", "group") == group
    assert await store.reference_for("teams", "ada", kind="channel") == channel
    assert await store.reference_for("teams", "ada", kind=None) == channel
    assert await store.reference_for("teams", "ada", kind="meeting") is None


async def test_channel_reference_by_conversation_or_extra_channel(store: SqlStore) -> None:
    channel = "19:general@thread.tacv2"
    in_thread = teams(
        conversation=f"{channel};messageid=1700000000001", user="29:1bo", channel=channel
    )
    await store.save_reference(in_thread, "bo", "channel", NOW)
    assert await store.channel_reference("teams", channel) == in_thread
    # The channel's own conversation id, saved later, wins.
    top = teams(conversation=channel)
    await store.save_reference(top, "ada", "channel", NOW + timedelta(seconds=1))
    assert await store.channel_reference("teams", channel) == top
    # A newer threaded one wins again; personal chats never match.
    await store.save_reference(in_thread, "bo", "channel", NOW + timedelta(seconds=2))
    assert await store.channel_reference("teams", channel) == in_thread
    await store.save_reference(teams(), "ada", "personal", NOW + timedelta(seconds=3))
    assert await store.channel_reference("teams", channel) == in_thread
    assert await store.channel_reference("teams", "19:other@thread.tacv2") is None
    assert await store.channel_reference("slack", channel) is None
    slack = ConversationRef(
        "slack", "T1", "C0NEWS", "U1", "1700000000.000100", {"channel": "C0NEWS"}
    )
    await store.save_reference(slack, "ada", "channel", NOW)
    assert await store.channel_reference("slack", "C0NEWS") == slack


async def test_unreachable_marks_every_ref_of_the_member_until_the_next_save(
    store: SqlStore,
) -> None:
    await store.save_reference(teams(), "ada", "personal", NOW)
    await store.save_reference(teams(conversation="19:group@thread.v2"), "ada", "group", NOW)
    await store.save_reference(teams(user="29:1bo"), "bo", "personal", NOW)
    await store.save_reference(
        ConversationRef("slack", "T1", "D1", "U1"), "ada", "personal", NOW
    )
    assert await store.unreachable("teams") == []

    await store.mark_unreachable("teams", "ada", "BotNotInConversationRoster", NOW)
    await store.mark_unreachable("teams", "nobody", "no refs: nothing to mark", NOW)
    assert await store.unreachable("teams") == [("ada", "BotNotInConversationRoster")]
    assert await store.unreachable("slack") == []
    assert await store.reference_for("teams", "ada") == teams()  # still there to retry
    async with store.engine.connect() as connection:
        marked = (
            await connection.execute(
                select(ConversationRefRow.conversation, ConversationRefRow.unreachable_at)
                .where(ConversationRefRow.unreachable_at.is_not(None))
                .order_by(ConversationRefRow.conversation)
            )
        ).all()
    assert marked == [("19:group@thread.v2", NOW), ("a:1personal", NOW)]

    later = NOW + timedelta(hours=1)
    await store.mark_unreachable("teams", "bo", "ConversationBlockedByUser", later)
    await store.mark_unreachable("teams", "ada", "Forbidden", later)  # latest reason
    assert await store.unreachable("teams") == [
        ("ada", "Forbidden"), ("bo", "ConversationBlockedByUser"),
    ]

    # Ada talks to the bot again (even in another conversation): reachable again.
    await store.save_reference(
        teams(conversation="19:group@thread.v2"), "ada", "group", later + timedelta(minutes=1)
    )
    assert await store.unreachable("teams") == [("bo", "ConversationBlockedByUser")]
    await store.save_reference(teams(user="29:1bo"), "bo", "personal", later)
    assert await store.unreachable("teams") == []


async def test_ids_with_separators_round_trip(store: SqlStore) -> None:
    ref = ConversationRef(
        "teams",
        "tenant:1@contoso.onmicrosoft.com;x",
        "19:abc-DEF_1@thread.tacv2;messageid=1700000000000",
        "29:1AbC@x;y:z",
        "1700000000.000100;reply:1@2",
        {"channel": "19:abc-DEF_1@thread.tacv2", "note": "a:b@c;d|e", "nested": {"k": [1, None]}},
    )
    member = "teams:29:1AbC@x;y"
    await store.save_reference(ref, member, "channel;x:y@z", NOW)
    found = await store.reference_for("teams", member, kind="channel;x:y@z")
    assert found == ref
    assert found is not None and found.thread == ref.thread and found.extra == ref.extra
    assert await store.channel_reference("teams", "19:abc-DEF_1@thread.tacv2") == ref
    assert await store.channel_reference("teams", ref.conversation) == ref
    await store.mark_unreachable("teams", member, "403: Forbidden; user@blocked", NOW)
    assert await store.unreachable("teams") == [(member, "403: Forbidden; user@blocked")]


async def test_a_save_in_a_unit_that_raises_is_rolled_back(store: SqlStore) -> None:
    await store.save_reference(teams(), "ada", "personal", NOW)
    with pytest.raises(RuntimeError):
        async with store.unit() as unit:
            await unit.save_reference(
                teams(service_url="https://lost/"), "ada", "personal", NOW + timedelta(1)
            )
            await unit.save_reference(teams(user="29:1bo"), "bo", "personal", NOW)
            await unit.mark_unreachable("teams", "ada", "lost too", NOW)
            raise RuntimeError("the turn failed")
    assert await count(store) == 1
    found = await store.reference_for("teams", "ada")
    assert found is not None and found.extra["service_url"] == TEAMS_URL
    assert await store.reference_for("teams", "bo") is None
    assert await store.unreachable("teams") == []


async def test_a_save_and_the_turn_commit_together(store: SqlStore) -> None:
    async with store.unit() as unit:
        assert await unit.claim_event("Ev1")
        await unit.save_reference(teams(), "ada", "personal", NOW)
    async with store.unit() as unit:
        assert not await unit.claim_event("Ev1")
        assert await unit.reference_for("teams", "ada") == teams()


@pytest.mark.parametrize("existing", [False, True], ids=["first-save", "resave"])
async def test_concurrent_saves_of_one_reference_all_succeed(
    store: SqlStore, existing: bool
) -> None:
    if existing:
        await store.save_reference(teams(), "ada", "personal", NOW)
        await store.mark_unreachable("teams", "ada", "blocked", NOW)

    async def save(n: int) -> None:
        async with store.unit() as unit:
            assert await unit.claim_event(f"Ev{n}")
            await unit.save_reference(
                teams(turn=n), "ada", "personal", NOW + timedelta(seconds=n)
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the others try

    await asyncio.gather(*(save(n) for n in range(1, 5)))
    assert await count(store) == 1
    found = await store.reference_for("teams", "ada")
    assert found is not None and found.extra["turn"] in {1, 2, 3, 4}
    assert await store.unreachable("teams") == []


async def test_naive_times_are_refused(store: SqlStore) -> None:
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError):
        await store.save_reference(teams(), "ada", "personal", naive)
    with pytest.raises(ValueError):
        await store.mark_unreachable("teams", "ada", "x", naive)
    assert await count(store) == 0
