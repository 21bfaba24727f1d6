"""The coordinators' dashboard (`Reader.overview`, `story_page`, `treasures`, `perspectives`,
`schedule_changes`), against every backend via `store`: hand-made data whose right answers
are known."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from bot.digest import Audience, OutsideIn, Overview, Scope, StoryItem, WeekActivity
from bot.ports import Outgoing, ScheduleChange
from bot.records import (
    CheckIn,
    Experiment,
    MemberProfile,
    Perspective,
    Reflection,
    Resource,
    ScheduleChanged,
    Story,
    StoryWithdrawal,
    Strength,
)
from storage.repository import SqlStore

A, B, Q, X = "harbour", "valley", "quiet", "hills"  # Q has nothing; X is never in scope
UTC = timezone.utc
SINCE = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
UNTIL = SINCE + timedelta(days=14)
IN = SINCE + timedelta(days=3, hours=10)  # in the first week
WEEK2 = IN + timedelta(days=7)
BEFORE = SINCE - timedelta(days=3)
TODAY = date(2026, 3, 16)
PRINCIPLES = [(3, "Three"), (1, "One"), (2, "Two")]  # given unordered


async def add(store: SqlStore, *records, at: datetime = IN) -> list[int]:
    async with store.unit() as unit:
        return await unit.add(records, at)


def scope(audience: Audience = Audience.MOVEMENT, coalitions: tuple[str, ...] = (A, B, Q)) -> Scope:
    return Scope(audience, coalitions, SINCE, UNTIL)


async def overview(store: SqlStore, s: Scope | None = None, *, wanted=None, today: date = TODAY) -> Overview:
    async with store.unit() as unit:
        return await unit.overview(s or scope(), PRINCIPLES, wanted or {}, today)


async def page(store: SqlStore, s: Scope | None = None, principle: int | None = None,
               sector: str | None = None, limit: int = 10, offset: int = 0) -> tuple[list[str], int]:
    async with store.unit() as unit:
        items, total = await unit.story_page(s or scope(), principle, sector, limit, offset)
    return [item.title for item in items], total


def story(title: str, consent: str = "movement", coalition: str = A, member: str = "U1", *,
          anonymous: bool = False, principles: tuple[int, ...] = (1,),
          sectors: tuple[str, ...] = ("public",)) -> Story:
    return Story(coalition, member, title, f"{title}: it worked.", principles, sectors, consent, anonymous)


def member(member_id: str, sector: str = "public", coalition: str = A, name: str | None = None) -> MemberProfile:
    return MemberProfile(coalition, member_id, f"Name {member_id}" if name is None else name, sector, "Org", "time")


def experiment(title: str, starts: date, ends: date, coalition: str = A) -> Experiment:
    return Experiment(coalition, "U1", title, "act", "effect", ("youth",), "library", starts, ends, "count", "Ada")


def checkin(experiment_id: int, coalition: str = A, decision: str = "") -> CheckIn:
    return CheckIn(coalition, "U1", experiment_id, 4, (("youth", 4),), "seen", "", "photos", decision)


def row(o: Overview, coalition: str):
    [found] = [c for c in o.coalitions if c.coalition_id == coalition]
    return found


# -- the overview ------------------------------------------------------------------------


async def test_each_coalition_has_its_own_row_and_a_quiet_one_a_row_of_zeros(store: SqlStore) -> None:
    await add(store, member("U1", "public"), at=BEFORE)  # at the table, not new
    await add(store, member("U2", "business"), member("U3", "public"), member("U4", "citizen", B),
              member("U5", "education", X))
    await add(store, Resource(A, "U2", "hall", "space", "business", "evenings"),
              Resource(B, "U4", "garden", "space", "citizen", "always"),
              Resource(B, "U4", "van", "transport", "citizen", "weekends"))
    await add(store, *(Perspective(A, "U1", v, "said", "shows") for v in ("citizen", "user", "partner", "x")),
              Perspective(B, "U4", "employee", "said", "shows"))
    await add(store, Reflection(A, "U1", 1, "r"), Reflection(A, "U2", 3, "r"), Reflection(B, "U4", 2, "r"),
              Reflection(B, "U4", 9, "not a principle of ours"), Strength(A, "U1", "s", "w", "e"))
    await add(store, Reflection(A, "U1", 2, "too early"), at=BEFORE)
    await add(store, Reflection(X, "U5", 1, "elsewhere"))
    wanted = {A: ["citizen", "public", "education"], Q: ["public"]}

    o = await overview(store, wanted=wanted)
    assert o.principles == ((1, "One"), (2, "Two"), (3, "Three"))
    assert [c.coalition_id for c in o.coalitions] == [A, B, Q]  # the scope's order
    a, b, q = o.coalitions
    assert (dict(a.members_by_sector), a.members, a.missing_sectors, a.new_members, a.resources_mapped) == (
        {"public": 2, "business": 1}, 3, ("citizen", "education"), 2, 1)
    # Every answer of the period: 2 members, 1 resource, 4 perspectives, 2 reflections, 1 strength.
    assert (a.answers, a.active_members) == (10, 3)
    assert (b.answers, b.active_members) == (6, 1)
    assert (dict(a.principles), dict(b.principles)) == ({1: 1, 3: 1}, {2: 1})
    assert (a.touched(1), a.touched(2)) == (1, 0)
    assert a.outside_in == OutsideIn(2, 1, 1) and b.outside_in == OutsideIn(0, 1, 0)
    assert (q.coalition_id, dict(q.members_by_sector), q.missing_sectors, q.new_members, q.resources_mapped,
            q.answers, q.active_members, q.prompts_sent, q.prompts_answered, dict(q.principles),
            q.outside_in, q.experiments_running, q.experiments_overdue) == (
        Q, {}, ("public",), 0, 0, 0, 0, 0, 0, {}, OutsideIn(0, 0, 0), 0, 0)
    assert q.response_rate is None and q.outside_in.share is None


async def test_an_empty_database_gives_every_coalition_zeros_and_no_weeks(store: SqlStore) -> None:
    o = await overview(store)
    assert [(c.coalition_id, c.members, c.answers, dict(c.principles)) for c in o.coalitions] == [
        (A, 0, 0, {}), (B, 0, 0, {}), (Q, 0, 0, {})]
    assert o.weeks == ()


async def test_private_and_withdrawn_stories_never_count_towards_principles_nor_show(store: SqlStore) -> None:
    await add(store, story("shared", "movement", principles=(1, 2)),
              story("only me", "private", principles=(1, 2, 3)),
              story("valley's", "public", B, "U4", principles=(3,)))
    [gone] = await add(store, story("taken back", "public", principles=(1, 3)))
    await add(store, StoryWithdrawal(gone, "U1"))

    o = await overview(store)
    assert (dict(row(o, A).principles), dict(row(o, B).principles)) == ({1: 1, 2: 1}, {3: 1})
    assert row(o, A).answers == 2  # the private story counts as an answer, its content never shows
    for audience in Audience:
        titles, total = await page(store, scope(audience, (A, B)))
        assert "only me" not in titles and "taken back" not in titles
        assert total == len(titles)


async def test_a_coalition_only_story_stays_in_its_coalition(store: SqlStore) -> None:
    await add(store, story("ours", "coalition", principles=(2,)), story("everyone's", "public", principles=(1,)))
    assert await page(store) == (["everyone's"], 1)
    assert await page(store, scope(Audience.COALITION, (A,))) == (["everyone's", "ours"], 2)
    assert await page(store, scope(Audience.COALITION, (B, A))) == (["everyone's"], 1)  # the valley's view
    assert dict(row(await overview(store), A).principles) == {1: 1}
    own = await overview(store, scope(Audience.COALITION, (A,)))
    assert dict(row(own, A).principles) == {1: 1, 2: 1}


async def test_experiments_running_and_overdue_as_of_today(store: SqlStore) -> None:
    ids = await add(
        store,
        experiment("running", date(2026, 3, 10), date(2026, 3, 20)),
        experiment("ends today", date(2026, 3, 1), TODAY),
        experiment("planned", date(2026, 4, 1), date(2026, 4, 30)),
        experiment("overdue", date(2026, 1, 1), date(2026, 2, 1)),
        experiment("decided", date(2026, 1, 1), date(2026, 2, 1)),
        experiment("undecided check-ins", date(2026, 1, 1), date(2026, 2, 1)),
        experiment("valley's overdue", date(2025, 1, 1), date(2025, 2, 1), B),
        at=BEFORE - timedelta(days=90),  # made long before the period: counted all the same
    )
    by_title = dict(zip(["running", "ends today", "planned", "overdue", "decided", "undecided", "valley"], ids))
    await add(store, checkin(by_title["decided"], decision="stop"), checkin(by_title["undecided"]),
              checkin(by_title["running"], decision="continue"))
    o = await overview(store)
    a, b = row(o, A), row(o, B)
    assert (a.experiments_running, a.experiments_overdue) == (2, 2)
    assert (b.experiments_running, b.experiments_overdue) == (0, 1)
    later = row(await overview(store, today=date(2026, 4, 2)), A)
    assert (later.experiments_running, later.experiments_overdue) == (1, 3)


async def test_prompts_sent_and_answered_per_coalition(store: SqlStore) -> None:
    def prompt(member_id: str, coalition: str) -> Outgoing:
        return Outgoing("schedule:weekly", "2026-03-05", f"member:{member_id}", coalition, "prompt",
                        {"kind": "principle", "number": 1}, IN)

    await store.enqueue([prompt("U1", A), prompt("U2", A), prompt("U4", B), prompt("U9", X)], IN)
    for claimed in await store.claim("w", IN, 100, timedelta(minutes=1)):
        await store.sent(claimed.id, "w", "slack", "D1", "1", IN)
    await add(store, Reflection(A, "U1", 1, "an answer"), Reflection(B, "U4", 1, "an answer"),
              at=IN + timedelta(hours=1))
    o = await overview(store)
    assert [(c.prompts_sent, c.prompts_answered) for c in o.coalitions] == [(2, 1), (1, 1), (0, 0)]
    assert row(o, A).response_rate == 0.5


async def test_weeks_count_answers_per_week_and_coalition_oldest_first(store: SqlStore) -> None:
    await add(store, Reflection(B, "U4", 1, "r"), Reflection(A, "U1", 1, "r"), story("s"))
    await add(store, Strength(A, "U1", "s", "w", "e"), at=WEEK2)
    await add(store, Reflection(A, "U1", 1, "before"), at=BEFORE)
    await add(store, Reflection(X, "U5", 1, "elsewhere"), at=WEEK2)
    [gone] = await add(store, story("taken back"), at=WEEK2)
    await add(store, StoryWithdrawal(gone, "U1"))
    assert (await overview(store)).weeks == (
        WeekActivity(date(2026, 3, 2), A, 2), WeekActivity(date(2026, 3, 2), B, 1),
        WeekActivity(date(2026, 3, 9), A, 1),
    )
    backwards = await overview(store, scope(coalitions=(B, A)))
    assert [(w.week.day, w.coalition_id) for w in backwards.weeks] == [(2, B), (2, A), (9, A)]


async def test_the_overview_takes_as_many_statements_for_many_coalitions_as_for_one(
    store: SqlStore, backend: str
) -> None:
    many = tuple(f"c{i}" for i in range(30))
    for cid in many:
        await add(store, member("U1", coalition=cid), story("s", coalition=cid), Reflection(cid, "U1", 1, "r"))

    async def statements(coalitions: tuple[str, ...]) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
            seen.append(statement)

        event.listen(store.engine.sync_engine, "before_cursor_execute", count)
        try:
            o = await overview(store, scope(coalitions=coalitions))
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", count)
        assert [c.answers for c in o.coalitions] == [3] * len(coalitions)
        # Queries only: not BEGIN, nor PostgreSQL's settings for the transaction.
        return sum(s.startswith("SELECT") and "set_config" not in s for s in seen)

    assert await statements(many[:1]) == await statements(many) <= 9


# -- story pages -------------------------------------------------------------------------


async def test_story_pages_filter_by_principle_and_sector_newest_first(store: SqlStore) -> None:
    for i in range(7):
        await add(store, story(f"s{i}", principles=(1, 2) if i % 2 else (3,),
                               sectors=("public", "business") if i < 3 else ("citizen",)),
                  at=IN + timedelta(hours=i))
    await add(store, story("valley", coalition=B, principles=(1,)), at=IN + timedelta(hours=10))

    assert await page(store, limit=3) == (["valley", "s6", "s5"], 8)
    assert await page(store, limit=3, offset=3) == (["s4", "s3", "s2"], 8)
    assert await page(store, limit=3, offset=6) == (["s1", "s0"], 8)
    assert await page(store, limit=3, offset=9) == ([], 8)
    assert await page(store, principle=1) == (["valley", "s5", "s3", "s1"], 4)
    assert await page(store, principle=1, limit=2, offset=1) == (["s5", "s3"], 4)
    assert await page(store, sector="business") == (["s2", "s1", "s0"], 3)
    assert await page(store, principle=2, sector="business") == (["s1"], 1)
    assert await page(store, principle=4) == ([], 0)
    assert await page(store, scope(coalitions=(B,))) == (["valley"], 1)


async def test_story_pages_hide_anonymous_authors_and_carry_principles_and_sectors(store: SqlStore) -> None:
    await add(store, member("U1", name="Ada"), member("U3", name=""))
    await add(store, story("named"), at=IN)
    await add(store, story("hidden", anonymous=True, principles=(2, 1), sectors=("citizen",)),
              at=IN + timedelta(hours=1))
    await add(store, story("blank name", member="U3"), at=IN + timedelta(hours=2))
    async with store.unit() as unit:
        items, total = await unit.story_page(scope(), None, None, 10, 0)
    assert total == 3
    assert [(s.title, s.author) for s in items] == [("blank name", "U3"), ("hidden", None), ("named", "Ada")]
    hidden = items[1]
    assert isinstance(hidden, StoryItem)
    assert (hidden.principles, hidden.sectors, hidden.excerpt, hidden.consent) == (
        (1, 2), ("citizen",), "hidden: it worked.", "movement")


async def test_a_story_page_without_filters_is_the_digests_story_list(store: SqlStore) -> None:
    await add(store, member("U1", name="Ada"))
    for i, consent in enumerate(["private", "coalition", "movement", "public"] * 3):
        await add(store, story(f"{consent} {i}", consent, (A, B)[i % 2], anonymous=i == 2),
                  at=IN + timedelta(hours=i))
    await add(store, story("old"), at=BEFORE)
    for s in (scope(), scope(Audience.COALITION, (A,)), scope(Audience.PUBLIC, (A, B))):
        async with store.unit() as unit:
            d = await unit.digest(s, PRINCIPLES, {}, TODAY)
            items, total = await unit.story_page(s, None, None, 50, 0)
        assert d.stories and items == d.stories and total == len(d.stories)


# -- treasures and perspectives ------------------------------------------------------------


async def test_treasures_of_the_period_newest_first_by_who_mapped_them(store: SqlStore) -> None:
    await add(store, member("U1", name="Ada"), member("U2", name=""), member("U3", coalition=B, name="Bo"))
    await add(store, Resource(A, "U1", "first", "space", "public", "evenings"), at=SINCE)
    await add(store, Resource(A, "U2", "second", "van", "business", "weekends"), at=IN)
    await add(store, Resource(A, "U3", "third", "garden", "citizen", "always"), at=WEEK2)
    await add(store, Resource(A, "U1", "too early", "x", "x", "x"), at=SINCE - timedelta(microseconds=1))
    await add(store, Resource(A, "U1", "too late", "x", "x", "x"), at=UNTIL)
    await add(store, Resource(B, "U3", "the valley's", "x", "x", "x"), at=IN)
    async with store.unit() as unit:
        found = await unit.treasures(A, SINCE, UNTIL, 10)
        capped = await unit.treasures(A, SINCE, UNTIL, 2)
    # U2 left no name; U3 joined the valley, not the harbour: their member ids.
    assert [(t.name, t.member) for t in found] == [("third", "U3"), ("second", "U2"), ("first", "Ada")]
    second = found[1]
    assert (second.coalition_id, second.kind, second.sector, second.offer, second.created_at) == (
        A, "van", "business", "weekends", IN)
    assert capped == found[:2]


async def test_names_are_those_members_gave_when_they_joined_that_coalition(store: SqlStore) -> None:
    await add(store, member("U1", name="Ada"), member("U2", name=""), member("U3", coalition=B, name="Bo"))
    async with store.unit() as unit:
        assert await unit.names(A) == {"U1": "Ada"}  # no name given: none to show
        assert await unit.names(B) == {"U3": "Bo"}
        assert await unit.names(Q) == {}


async def test_perspectives_of_the_period_newest_first(store: SqlStore) -> None:
    await add(store, Perspective(A, "U1", "citizen", "first said", "first shows"), at=SINCE)
    await add(store, Perspective(A, "U1", "partner", "second said", "second shows"), at=WEEK2)
    await add(store, Perspective(A, "U1", "user", "too late", "x"), at=UNTIL)
    await add(store, Perspective(B, "U1", "user", "the valley's", "x"), at=IN)
    async with store.unit() as unit:
        found = await unit.perspectives(A, SINCE, UNTIL, 10)
        assert await unit.perspectives(A, SINCE, UNTIL, 1) == found[:1]
    assert [(p.voice, p.said, p.shows, p.created_at) for p in found] == [
        ("partner", "second said", "second shows", WEEK2), ("citizen", "first said", "first shows", SINCE)]
    assert all(p.coalition_id == A for p in found)


# -- schedule history ----------------------------------------------------------------------


async def test_the_schedule_history_keeps_every_change_and_who_made_it(store: SqlStore) -> None:
    await add(store, ScheduleChanged("weekly", A, "U1", paused=True), at=IN)
    await add(store, ScheduleChanged("weekly", A, "U2", paused=False), at=IN + timedelta(hours=1))
    await add(store, ScheduleChanged("monthly", A, "U2", time="08:30"), at=IN + timedelta(hours=2))
    await add(store, ScheduleChanged("weekly", B, "U4", paused=True), at=IN + timedelta(hours=3))
    with pytest.raises(ValueError):
        await add(store, ScheduleChanged("weekly", A, "U1", time="25:00"))  # refused: nothing kept
    async with store.unit() as unit:
        history = await unit.schedule_changes(A, 10)
        latest = await unit.schedule_changes(A, 1)
        overrides = await unit.overrides()
    assert history == (
        ScheduleChange("monthly", A, "U2", None, "08:30", IN + timedelta(hours=2)),
        ScheduleChange("weekly", A, "U2", False, None, IN + timedelta(hours=1)),
        ScheduleChange("weekly", A, "U1", True, None, IN),
    )
    assert latest == history[:1]
    # The override keeps only where things stand: resumed.
    assert (overrides[("weekly", A)].paused, overrides[("monthly", A)].time) == (False, "08:30")
