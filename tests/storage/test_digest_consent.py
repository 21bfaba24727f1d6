"""Consent in digests, as properties over random worlds: random stories (consent level,
anonymity, withdrawal, principles, time), reflections and members in a few coalitions,
looked at by random audiences over random periods. Each digest is checked against a
brute-force answer computed here from the generated data.

Most examples run on SQLite (one migrated database per test, emptied between examples);
fewer on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest import Audience, Digest, Scope
from bot.records import DigestShown, MemberProfile, Reflection, Story, StoryWithdrawal
from bot.types import Consent
from storage.digest import STORIES_SHOWN
from storage.repository import SqlStore, open_store
from tests.conftest import _copy_sqlite, empty_database, run_async

COALITIONS = ("a", "b", "c")
MEMBERS = ("m1", "m2", "m3")
T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
DAYS = 10
PRINCIPLES = [(1, "One"), (2, "Two"), (3, "Three")]  # the data also uses 4: never counted
TABLES = ("story_principles", "story_sectors", "stories", "reflections", "members", "digest_marks")


@dataclass(frozen=True)
class StoryData:
    coalition: str
    member: str
    consent: Consent
    anonymous: bool
    withdrawn: bool
    principles: tuple[int, ...]
    day: int


@dataclass(frozen=True)
class World:
    members: dict[tuple[str, str], str]  # (coalition, member id) -> display name
    stories: list[StoryData]  # in insertion order; the i-th is created at `at(i, day)`
    reflections: list[tuple[str, int, int]]  # (coalition, principle, day)


@dataclass(frozen=True)
class View:
    audience: Audience
    coalitions: tuple[str, ...]
    since: int  # days after T0
    until: int

    def scope(self, new_only: bool = False) -> Scope:
        return Scope(self.audience, self.coalitions, day(self.since), day(self.until), new_only)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def at(index: int, n: int) -> datetime:
    return day(n) + timedelta(minutes=index)  # distinct times: a known newest-first order


stories = st.builds(
    StoryData,
    coalition=st.sampled_from(COALITIONS),
    member=st.sampled_from(MEMBERS),
    consent=st.sampled_from(list(Consent)),
    anonymous=st.booleans(),
    withdrawn=st.sampled_from([False, False, True]),
    principles=st.lists(st.integers(1, 4), max_size=3).map(tuple),
    day=st.integers(0, DAYS - 1),
)
worlds = st.builds(
    World,
    members=st.dictionaries(
        st.tuples(st.sampled_from(COALITIONS), st.sampled_from(MEMBERS[:2])),
        st.sampled_from(["Ada", "Bo", "Chi", ""]),
    ),
    stories=st.lists(stories, max_size=STORIES_SHOWN // 2),
    reflections=st.lists(
        st.tuples(st.sampled_from(COALITIONS), st.integers(1, 4), st.integers(0, DAYS - 1)),
        max_size=15,
    ),
)


@st.composite
def views(draw: st.DrawFn) -> View:
    audience = draw(st.sampled_from(list(Audience)))
    coalitions = draw(st.permutations(COALITIONS))[: draw(st.integers(1, len(COALITIONS)))]
    if draw(st.booleans()):
        return View(audience, tuple(coalitions), 0, DAYS)  # the whole time
    since = draw(st.integers(0, DAYS - 1))
    until = draw(st.integers(since + 1, DAYS + 1))
    return View(audience, tuple(coalitions), since, until)


# -- the rules, brute force --------------------------------------------------------------


def visible(s: StoryData, view: View) -> bool:
    """The issue's rules: consent is a hard rule; withdrawn stories are gone."""
    if s.withdrawn or s.consent is Consent.PRIVATE or s.coalition not in view.coalitions:
        return False
    if view.audience is Audience.COALITION:
        return s.consent is not Consent.COALITION or s.coalition == view.coalitions[0]
    if view.audience is Audience.MOVEMENT:
        return s.consent in (Consent.MOVEMENT, Consent.PUBLIC)
    return s.consent is Consent.PUBLIC


def expected_stories(world: World, view: View, ids: list[int], after: int = 0):
    """(id, title, author) of what `view` should see, newest first."""
    shown = [
        (i, s) for i, s in enumerate(world.stories)
        if visible(s, view) and view.since <= s.day < view.until and ids[i] > after
    ]
    shown.sort(key=lambda pair: at(pair[0], pair[1].day), reverse=True)
    return [
        (ids[i], f"story {i}",
         None if s.anonymous else world.members.get((s.coalition, s.member)) or s.member)
        for i, s in shown
    ]


def expected_principles(world: World, view: View) -> list[tuple[int, int, int]]:
    counts = []
    for number, _ in PRINCIPLES:
        reflections = sum(
            1 for c, p, d in world.reflections
            if p == number and c in view.coalitions and view.since <= d < view.until
        )
        stories = sum(
            1 for s in world.stories
            if number in s.principles and visible(s, view) and view.since <= s.day < view.until
        )
        counts.append((number, reflections, stories))
    return counts


def expected_answers(world: World, view: View) -> int:
    """Everything members recorded, private stories included (a count shows no content),
    withdrawn ones not."""
    def counted(coalition: str, d: int) -> bool:
        return coalition in view.coalitions and view.since <= d < view.until

    return (
        sum(counted(s.coalition, s.day) for s in world.stories if not s.withdrawn)
        + sum(counted(c, d) for c, _, d in world.reflections)
        + sum(counted(c, 0) for c, _ in world.members)  # they all joined on day 0
    )


# -- running a world ---------------------------------------------------------------------


async def load(store: SqlStore, world: World) -> list[int]:
    """Empty the tables a world uses, then store it; returns the stories' ids."""
    async with store.engine.begin() as connection:
        for table in TABLES:
            await connection.exec_driver_sql(f"DELETE FROM {table}")
    async with store.unit() as unit:
        for (coalition, member), name in world.members.items():
            profile = MemberProfile(coalition, member, name, "public", "Org", "time")
            await unit.add([profile], day(0))
        for coalition, principle, d in world.reflections:
            await unit.add([Reflection(coalition, "m1", principle, "text")], day(d))
    return await add_stories(store, world.stories)


async def add_stories(store: SqlStore, stories: list[StoryData], start: int = 0) -> list[int]:
    """Each story in a unit of its own (withdrawn ones are withdrawn at once); their ids."""
    ids = []
    for i, s in enumerate(stories, start=start):
        async with store.unit() as unit:
            story = Story(s.coalition, s.member, f"story {i}", f"body {i} " * 80, s.principles,
                          ("public",), s.consent.value, s.anonymous)
            [story_id] = await unit.add([story], at(i, s.day))
            if s.withdrawn:
                await unit.add([StoryWithdrawal(story_id, s.member)], at(i, s.day))
            ids.append(story_id)
    return ids


async def pull(store: SqlStore, scope: Scope, *, show: bool = False) -> Digest:
    async with store.unit() as unit:
        digest = await unit.digest(scope, PRINCIPLES, {}, day(DAYS).date())
        if show:
            await unit.add([DigestShown(scope.key, dict(digest.marks))], day(DAYS))
    return digest


def check(digest: Digest, world: World, view: View, ids: list[int], after: int = 0) -> None:
    got = [(s.id, s.title, s.author) for s in digest.stories]
    assert got == expected_stories(world, view, ids, after)
    by_id = {story_id: world.stories[i] for i, story_id in enumerate(ids)}
    for item in digest.stories:
        story = by_id[item.id]
        assert item.consent == story.consent.value and item.consent != Consent.PRIVATE
        assert not story.withdrawn
        assert item.author is None if story.anonymous else item.author is not None
        assert item.principles == tuple(sorted(set(story.principles)))
        assert len(item.excerpt) <= 280 and item.excerpt.endswith("…")


async def consent_holds(url: str, world: World, views_: list[View]) -> None:
    store = open_store(url)
    try:
        ids = await load(store, world)
        for view in views_:
            digest = await pull(store, view.scope())
            check(digest, world, view, ids)
            assert [(p.number, p.reflections, p.stories) for p in digest.principles] == (
                expected_principles(world, view))
            assert digest.participation.answers == expected_answers(world, view)
    finally:
        await store.close()


async def new_only_holds(url: str, world: World, view: View, split: int) -> None:
    """Shown once, the first `split` stories never come back; the later ones show alone."""
    store = open_store(url)
    first = World(world.members, world.stories[:split], world.reflections)
    try:
        ids = await load(store, first)
        shown = await pull(store, view.scope(new_only=True), show=True)
        check(shown, first, view, ids)
        again = await pull(store, view.scope(new_only=True))
        assert again.stories == () and again.participation.answers == 0 and again.nothing_new
        assert dict(again.marks) == dict(shown.marks)
        mark = max(ids, default=0)
        ids += await add_stories(store, world.stories[split:], start=split)
        later = await pull(store, view.scope(new_only=True))
        check(later, world, view, ids, after=mark)
    finally:
        await store.close()


# -- the properties ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def consent_db(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite database for this module's examples (each empties it first)."""
    return _copy_sqlite(_sqlite_template, tmp_path_factory.mktemp("consent") / "consent.db")


@pytest.fixture(scope="module")
def consent_pg(pg_url: str) -> str:
    """The session's PostgreSQL database, emptied once (each example empties what it uses)."""
    run_async(empty_database(pg_url))
    return pg_url


def examples(n: int) -> Callable:
    return settings(
        max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


@examples(40)
@given(world=worlds, views_=st.lists(views(), min_size=1, max_size=4))
def test_digests_show_exactly_what_consent_allows_sqlite(
    consent_db: str, world: World, views_: list[View]
) -> None:
    run_async(consent_holds(consent_db, world, views_))


@examples(25)
@given(world=worlds, view=views(), data=st.data())
def test_new_only_digests_show_each_story_once_sqlite(
    consent_db: str, world: World, view: View, data: st.DataObject
) -> None:
    split = data.draw(st.integers(0, len(world.stories)), label="split")
    run_async(new_only_holds(consent_db, world, view, split))


@pytest.mark.postgres
@examples(10)
@given(world=worlds, views_=st.lists(views(), min_size=1, max_size=4))
def test_digests_show_exactly_what_consent_allows_postgres(
    consent_pg: str, world: World, views_: list[View]
) -> None:
    run_async(consent_holds(consent_pg, world, views_))


@pytest.mark.postgres
@examples(8)
@given(world=worlds, view=views(), data=st.data())
def test_new_only_digests_show_each_story_once_postgres(
    consent_pg: str, world: World, view: View, data: st.DataObject
) -> None:
    split = data.draw(st.integers(0, len(world.stories)), label="split")
    run_async(new_only_holds(consent_pg, world, view, split))
