"""Members' languages: a choice made in chat and a platform's locale, kept apart, and read
together with the coordinators named in chat (one query a turn). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.records import CoordinatorGrant, LanguageChoice
from storage.repository import SqlStore

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


async def test_a_choice_and_a_locale_are_kept_apart_and_read_in_one_go(store: SqlStore) -> None:
    async with store.unit() as unit:
        assert await unit.speaker("mo") == (frozenset(), None, None)
        await unit.add([CoordinatorGrant("ann", "lea"), LanguageChoice("mo", "da")], NOW)
    await store.save_locale("mo", "en-GB", NOW)
    await store.save_locale("lea", "da-DK", NOW)
    async with store.unit() as unit:
        assert await unit.speaker("mo") == (frozenset({"ann"}), "da", "en-GB")
        assert await unit.speaker("lea") == (frozenset({"ann"}), None, "da-DK")
        assert await unit.language_of("mo") == ("da", "en-GB")
        await unit.add([LanguageChoice("mo", None)], NOW)  # `language auto`
    await store.save_locale("lea", None, NOW)  # the platform says nothing any more
    assert await store.languages() == {"mo": (None, "en-GB"), "lea": (None, None)}


async def test_a_choice_rolled_back_with_its_turn_is_not_kept(store: SqlStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit() as unit:
            await unit.add([LanguageChoice("mo", "da")], NOW)
            raise RuntimeError("the turn failed")
    assert await store.languages() == {}
