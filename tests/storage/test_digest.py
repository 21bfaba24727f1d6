"""Digests (`Reader.digest`), against every backend via `store`: hand-made data whose
right answers are known."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.digest import Audience, Digest, ImpactPoint, Scope
from bot.records import (
    CheckIn,
    DigestShown,
    Experiment,
    Frame,
    MemberProfile,
    Perspective,
    ProblemStatement,
    Reflection,
    Resource,
    Story,
    StoryWithdrawal,
    Strength,
)
from storage.digest import KINDS, excerpt
from storage.models import DigestMark
from storage.repository import SqlStore

C, D, E = "harbour", "valley", "hills"  # E is never in scope
UTC = timezone.utc
SINCE = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
UNTIL = SINCE + timedelta(days=14)
IN = SINCE + timedelta(days=3, hours=10)  # inside the period
BEFORE = SINCE - timedelta(days=3)
AFTER = UNTIL + timedelta(hours=1)
TODAY = date(2026, 3, 16)
PRINCIPLES = [(3, "Three"), (1, "One"), (2, "Two"), (4, "Four")]  # given unordered


async def add(store: SqlStore, *records, at: datetime = IN) -> list[int]:
    async with store.unit() as unit:
        return await unit.add(records, at)


def scope(
    audience: Audience = Audience.MOVEMENT, coalitions: tuple[str, ...] = (C, D), *,
    since: datetime = SINCE, until: datetime = UNTIL, new_only: bool = False,
) -> Scope:
    return Scope(audience, coalitions, since, until, new_only)


async def digest(
    store: SqlStore, s: Scope | None = None, *, wanted=None, today: date = TODAY
) -> Digest:
    return await store.digest(s or scope(), PRINCIPLES, wanted or {}, today)


def story(
    title: str, consent: str = "movement", coalition: str = C, member: str = "U1", *,
    anonymous: bool = False, principles: tuple[int, ...] = (1,), body: str = "It worked.",
    sectors: tuple[str, ...] = ("public",),
) -> Story:
    return Story(coalition, member, title, body, principles, sectors, consent, anonymous)


def member(
    member_id: str, sector: str = "public", coalition: str = C, name: str | None = None
) -> MemberProfile:
    name = f"Name {member_id}" if name is None else name
    return MemberProfile(coalition, member_id, name, sector, "Org", "time")


def experiment(title: str, starts: date, ends: date, coalition: str = C) -> Experiment:
    return Experiment(
        coalition, "U1", title, "act", "effect", ("youth",), "library", starts, ends, "count", "Ada"
    )


def checkin(experiment_id: int, impact: int, coalition: str = C, *, intended: str = "",
            unintended: str = "", decision: str = "continue") -> CheckIn:
    return CheckIn(coalition, "U1", experiment_id, impact, (("youth", impact),), intended,
                   unintended, "photos", decision)


def titles(d: Digest) -> list[str]:
    return [s.title for s in d.stories]


# -- empty -------------------------------------------------------------------------------


async def test_an_empty_database_gives_every_principle_and_coalition_zeros(store: SqlStore) -> None:
    d = await digest(store, wanted={C: ["public", "citizen"]})
    assert [(p.number, p.title, p.reflections, p.stories) for p in d.principles] == [
        (1, "One", 0, 0), (2, "Two", 0, 0), (3, "Three", 0, 0), (4, "Four", 0, 0)]
    assert all(p.quiet for p in d.principles)
    assert [(m.coalition_id, dict(m.members_by_sector), m.new_members, m.missing_sectors,
             m.resources_mapped) for m in d.mobilisation] == [
        (C, {}, 0, ("public", "citizen"), 0), (D, {}, 0, (), 0)]
    assert d.stories == d.experiments == d.strengths == ()
    o = d.outside_in
    assert (o.citizens_and_users, o.institutions, o.others, o.share) == (0, 0, 0, None)
    assert (d.participation.answers, d.participation.active_members) == (0, 0)
    assert d.participation.prompts_sent == 0 and d.participation.prompts_answered == 0
    assert d.participation.response_rate is None
    assert d.nothing_new
    assert dict(d.marks) == dict.fromkeys(KINDS, 0)


# -- principles --------------------------------------------------------------------------


async def test_principle_counts_cover_visible_stories_and_the_periods_reflections(
    store: SqlStore,
) -> None:
    await add(store, Reflection(C, "U1", 1, "a"), Reflection(C, "U2", 1, "b"),
              Reflection(D, "U3", 3, "c"), Reflection(C, "U1", 9, "not a principle we count"))
    await add(store, Reflection(C, "U1", 2, "too early"), at=BEFORE)
    await add(store, Reflection(C, "U1", 2, "too late"), at=UNTIL)
    await add(store, Reflection(E, "U1", 2, "not in scope"))
    await add(
        store,
        story("movement", "movement", principles=(1, 3)),
        story("public", "public", coalition=D, principles=(3, 3)),  # repeats count once
        story("private", "private", principles=(1, 2, 4)),
        story("coalition", "coalition", principles=(2,)),
        story("elsewhere", "public", coalition=E, principles=(4,)),
    )
    [gone] = await add(store, story("withdrawn", "public", principles=(4,)))
    await add(store, StoryWithdrawal(gone, "U1"))

    counts = {p.number: (p.reflections, p.stories) for p in (await digest(store)).principles}
    assert counts == {1: (2, 1), 2: (0, 0), 3: (1, 2), 4: (0, 0)}
    # The harbour's own digest also counts its coalition-only story (and not the valley's).
    own = await digest(store, scope(Audience.COALITION, (C,)))
    assert {p.number: (p.reflections, p.stories) for p in own.principles} == {
        1: (2, 1), 2: (0, 1), 3: (0, 1), 4: (0, 0)}
    public = await digest(store, scope(Audience.PUBLIC))
    assert {p.number: p.stories for p in public.principles} == {1: 0, 2: 0, 3: 1, 4: 0}


# -- stories -----------------------------------------------------------------------------


async def test_each_audience_sees_only_the_stories_their_consent_allows(store: SqlStore) -> None:
    for coalition in (C, D):
        for consent in ("private", "coalition", "movement", "public"):
            await add(store, story(f"{coalition} {consent}", consent, coalition))
    await add(store, story("hills public", "public", E))

    own = await digest(store, scope(Audience.COALITION, (C,)))
    assert sorted(titles(own)) == ["harbour coalition", "harbour movement", "harbour public"]
    movement = await digest(store, scope(Audience.MOVEMENT))
    assert sorted(titles(movement)) == [
        "harbour movement", "harbour public", "valley movement", "valley public"]
    public = await digest(store, scope(Audience.PUBLIC))
    assert sorted(titles(public)) == ["harbour public", "valley public"]
    # A coalition audience over a wider scope still only sees its own coalition-only stories.
    wide = await digest(store, scope(Audience.COALITION, (D, C)))
    assert sorted(titles(wide)) == [
        "harbour movement", "harbour public", "valley coalition", "valley movement",
        "valley public",
    ]
    for d in (own, movement, public, wide):
        assert all(s.consent != "private" for s in d.stories)


async def test_anonymous_stories_never_show_their_author(store: SqlStore) -> None:
    await add(store, member("U1", name="Ada"), member("U3", name=""),
              member("U2", coalition=D, name="Bo"))
    await add(
        store,
        story("named", member="U1"),
        story("hidden", member="U1", anonymous=True),
        story("unknown", member="U9"),
        story("blank name", member="U3"),
        story("other coalition's name", member="U2"),  # U2 joined the valley, not the harbour
    )
    for audience in Audience:
        d = await digest(store, scope(audience, (C,)))
        authors = {s.title: s.author for s in d.stories}
        assert authors == {} if audience is Audience.PUBLIC else authors == {
            "named": "Ada", "hidden": None, "unknown": "U9", "blank name": "U3",
            "other coalition's name": "U2",
        }


async def test_a_withdrawn_story_disappears_from_every_later_digest(store: SqlStore) -> None:
    [kept, gone] = await add(store, story("kept", "public"), story("gone", "public"))
    before = await digest(store)
    assert titles(before) == ["gone", "kept"]
    await add(store, StoryWithdrawal(gone, "U1"), at=AFTER)
    for audience in Audience:
        assert "gone" not in titles(await digest(store, scope(audience)))
    after = await digest(store)
    assert [s.id for s in after.stories] == [kept]
    assert after.participation.answers == 1  # a withdrawn story is not counted either


async def test_stories_are_newest_first_and_capped_with_excerpts_principles_and_sectors(
    store: SqlStore,
) -> None:
    for i in range(55):
        await add(store, story(f"s{i:02}", principles=(4, 2), sectors=("education", "business")),
                  at=SINCE + timedelta(hours=i))
    long = ("word " * 100).strip()
    [long_id] = await add(store, story("long", body=long), at=SINCE - timedelta(hours=1))
    d = await digest(store)
    assert titles(d) == [f"s{i:02}" for i in range(54, 4, -1)]  # 50, newest first
    first = d.stories[0]
    assert (first.coalition_id, first.principles, first.sectors, first.consent, first.excerpt) == (
        C, (2, 4), ("business", "education"), "movement", "It worked.")
    assert first.created_at == SINCE + timedelta(hours=54)

    wider = await digest(store, scope(since=SINCE - timedelta(days=1)))
    assert long_id not in [s.id for s in wider.stories]  # beyond the cap: the oldest
    assert len(wider.stories) == 50


def test_excerpts_are_cut_at_a_word() -> None:
    assert excerpt("short\n\n  story ") == "short story"
    text = ("abcd " * 100).strip()
    cut = excerpt(text)
    assert len(cut) <= 280 and cut.endswith("abcd…") and cut[:-1] in text
    assert excerpt("x" * 281) == "x" * 279 + "…"
    exact = ("abcd " * 56).strip()  # 279 characters
    assert excerpt(exact) == exact
    at_space = "a" * 279 + " tail"
    assert excerpt(at_space) == "a" * 279 + "…"
    assert excerpt("a" * 270 + " bbbbbbbbbbbbbbbbbbbbbbb") == "a" * 270 + "…"


# -- experiments -------------------------------------------------------------------------


async def test_experiments_status_trend_quotes_and_decisions(store: SqlStore) -> None:
    await add(store, experiment("planned", date(2026, 3, 20), date(2026, 4, 20), D))  # created now
    await add(store, experiment("planned later", date(2026, 3, 20), date(2026, 4, 20)), at=BEFORE)
    [done, silent, _long_ago, running, elsewhere] = await add(
        store,
        experiment("done", date(2026, 2, 20), date(2026, 3, 10)),
        experiment("silent", date(2026, 2, 1), date(2026, 3, 5), D),
        experiment("long ago", date(2026, 1, 1), date(2026, 1, 31)),
        experiment("running", date(2026, 3, 10), date(2026, 3, 30)),
        experiment("elsewhere", date(2026, 3, 1), date(2026, 3, 30), E),
        at=BEFORE,
    )
    sunday_night = datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC)
    monday = datetime(2026, 3, 9, tzinfo=UTC)
    for record, at in [
        (checkin(done, 2, intended="early days", decision="adjust"),
         datetime(2026, 2, 25, tzinfo=UTC)),
        (checkin(done, 4, intended="more visits"), SINCE),
        (checkin(done, 5, intended="  ", unintended="queues"), sunday_night),
        (checkin(done, 3, intended="kids came", decision="adjust"), monday),
        (checkin(done, 1, intended="too late"), AFTER),  # counted in totals, not quoted
        (checkin(elsewhere, 5, E), IN),
    ]:
        await add(store, record, at=at)
    [_] = await add(store, checkin(running, 4, intended="a", unintended=""), at=monday)
    await add(store, checkin(running, 2, intended="b", decision=""), at=monday + timedelta(hours=1))
    await add(store, checkin(running, 4, intended="c", decision=""), at=monday + timedelta(hours=2))
    await add(store, checkin(running, 5, intended="d", decision=""), at=monday + timedelta(hours=3))

    d = await digest(store)
    by_title = {e.title: e for e in d.experiments}
    # Not "long ago" (nothing in the period), "planned later" (created before, starts after)
    # nor "elsewhere" (not in scope).
    assert set(by_title) == {"done", "planned", "silent", "running"}
    assert [e.title for e in d.experiments] == ["silent", "done", "running", "planned"]  # by start

    e = by_title["done"]
    assert (e.id, e.coalition_id, e.status, e.checkins, e.starts_on, e.ends_on) == (
        done, C, "ended", 5, date(2026, 2, 20), date(2026, 3, 10))
    assert e.average_impact == pytest.approx(3.0)
    assert e.trend == (
        ImpactPoint(date(2026, 2, 23), pytest.approx(2.0), 1),
        ImpactPoint(date(2026, 3, 2), pytest.approx(4.5), 2),
        ImpactPoint(date(2026, 3, 9), pytest.approx(3.0), 1),
        ImpactPoint(date(2026, 3, 16), pytest.approx(1.0), 1),
    )
    assert all(type(p.week) is date for p in e.trend)
    assert e.intended == ("kids came", "more visits")  # the period's, newest first, non-empty
    assert e.unintended == ("queues",)
    assert dict(e.decisions) == {"continue": 3, "adjust": 2}
    assert e.latest_decision == "continue"  # the check-in after the period is the latest
    assert not e.needs_decision

    r = by_title["running"]
    assert (r.status, r.checkins, r.intended, r.unintended) == ("running", 4, ("d", "c", "b"), ())
    assert r.average_impact == pytest.approx(3.75)
    assert r.trend == (ImpactPoint(date(2026, 3, 9), pytest.approx(3.75), 4),)
    assert (dict(r.decisions), r.latest_decision, r.needs_decision) == (
        {"continue": 1}, "continue", False)

    p = by_title["planned"]
    assert (p.status, p.checkins, p.average_impact, p.trend, p.intended, dict(p.decisions),
            p.latest_decision, p.needs_decision) == ("planned", 0, None, (), (), {}, None, False)

    s = by_title["silent"]
    assert (s.status, s.checkins, s.needs_decision, s.latest_decision) == ("ended", 0, True, None)
    # On its last day it still runs and needs nothing yet.
    early = await digest(store, today=date(2026, 3, 5))
    silent_then = {e.title: e for e in early.experiments}["silent"]
    assert (silent_then.status, silent_then.needs_decision) == ("running", False)


async def test_experiments_created_or_checked_in_in_the_period_are_shown(store: SqlStore) -> None:
    [old] = await add(store, experiment("old", date(2025, 1, 1), date(2025, 2, 1)), at=BEFORE)
    [new] = await add(store, experiment("new", date(2025, 1, 1), date(2025, 2, 1)))
    assert [e.title for e in (await digest(store)).experiments] == ["new"]
    await add(store, checkin(old, 4, intended="late news"))
    d = await digest(store)
    assert [(e.title, e.intended) for e in d.experiments] == [("old", ("late news",)), ("new", ())]
    assert not d.nothing_new


# -- mobilisation, outside-in, strengths -------------------------------------------------


async def test_mobilisation_counts_members_gaps_and_resources(store: SqlStore) -> None:
    await add(store, member("U1", "public"), at=BEFORE)
    await add(store, member("U2", "public"), member("U3", "business"), member("U4", "citizen", D),
              member("U5", "education", E))
    await add(store, member("U1", "public", name="Ada again"), at=IN)  # re-joining: not new
    await add(store, Resource(C, "U1", "hall", "space", "public", "evenings"),
              Resource(C, "U2", "van", "transport", "business", "weekends"),
              Resource(D, "U4", "garden", "space", "citizen", "always"))
    await add(store, Resource(C, "U1", "old", "space", "public", "x"), at=BEFORE)
    wanted = {C: ["citizen", "public", "education", "citizen"],
              D: ["education", "citizen", "public"]}
    d = await digest(store, wanted=wanted)
    assert [(m.coalition_id, dict(m.members_by_sector), m.new_members, m.missing_sectors,
             m.resources_mapped) for m in d.mobilisation] == [
        (C, {"public": 2, "business": 1}, 2, ("citizen", "education"), 2),
        (D, {"citizen": 1}, 1, ("education", "public"), 1),
    ]
    assert list(d.mobilisation[0].members_by_sector) == ["public", "business"]  # biggest first


async def test_outside_in_sorts_voices(store: SqlStore) -> None:
    voices = ["citizen", "user", "citizen", "partner", "employee", "other", "a resident"]
    await add(store, *(Perspective(C, "U1", v, "said", "shows") for v in voices))
    await add(store, Perspective(D, "U1", "user", "said", "shows"))
    await add(store, Perspective(C, "U1", "citizen", "said", "shows"), at=BEFORE)
    await add(store, Perspective(E, "U1", "citizen", "said", "shows"))
    o = (await digest(store)).outside_in
    assert (o.citizens_and_users, o.institutions, o.others) == (4, 2, 2)
    assert o.share == pytest.approx(0.5)


async def test_strengths_are_newest_first_and_capped(store: SqlStore) -> None:
    for i in range(25):
        await add(store, Strength(C if i % 2 else D, "U1", f"win {i}", "why", "more"),
                  at=SINCE + timedelta(hours=i))
    await add(store, Strength(E, "U1", "elsewhere", "why", "more"))
    d = await digest(store)
    assert [s.success for s in d.strengths] == [f"win {i}" for i in range(24, 4, -1)]
    first = d.strengths[0]
    assert (first.coalition_id, first.why, first.enlarge) == (C if 24 % 2 else D, "why", "more")


# -- participation -----------------------------------------------------------------------


async def test_participation_counts_every_answer_but_shows_no_content(store: SqlStore) -> None:
    [exp] = await add(store, experiment("e", date(2026, 3, 1), date(2026, 3, 30)), at=BEFORE)
    [statement_id] = await add(store, ProblemStatement(C, "U2", "why", 3, 3, 3))
    await add(
        store,
        member("U1"),
        Resource(C, "U1", "hall", "space", "public", "x"),
        Strength(C, "U2", "s", "w", "e"),
        Perspective(D, "U3", "citizen", "s", "s"),
        experiment("f", date(2026, 3, 1), date(2026, 3, 30), D),
        checkin(exp, 3),
        Reflection(C, "U1", 1, "r"),
        story("private one", "private", member="U3"),
        Frame(C, "U2", statement_id),  # closing a round is not an answer
    )
    [gone] = await add(store, story("taken back", "public", member="U4"))
    await add(store, StoryWithdrawal(gone, "U4"))
    await add(store, Reflection(C, "U5", 1, "too early"), at=BEFORE)
    await add(store, Reflection(E, "U6", 1, "elsewhere"))
    p = (await digest(store)).participation
    assert (p.answers, p.active_members) == (9, 3)
    assert p.response_rate is None
    assert titles(await digest(store)) == []


# -- periods -----------------------------------------------------------------------------


async def test_the_period_includes_since_and_excludes_until(store: SqlStore) -> None:
    at = {"before": SINCE - timedelta(microseconds=1), "first": SINCE,
          "last": UNTIL - timedelta(microseconds=1), "after": UNTIL}
    for title, when in at.items():
        await add(store, story(title), Reflection(C, "U1", 1, title),
                  Strength(C, "U1", title, "w", "e"), member(f"U-{title}"), at=when)
    d = await digest(store)
    assert titles(d) == ["last", "first"]
    assert [s.success for s in d.strengths] == ["last", "first"]
    assert d.principles[0].reflections == 2 and d.principles[0].stories == 2
    assert d.mobilisation[0].new_members == 2
    assert d.participation.answers == 8


async def test_a_period_in_another_time_zone_means_the_same_instants(store: SqlStore) -> None:
    await add(store, story("inside"), at=SINCE + timedelta(minutes=30))
    oslo = timezone(timedelta(hours=1))
    d = await digest(store, scope(since=SINCE.astimezone(oslo), until=UNTIL.astimezone(oslo)))
    assert titles(d) == ["inside"]
    late = await digest(store, scope(since=(SINCE + timedelta(hours=1)).astimezone(oslo)))
    assert titles(late) == []


# -- new only, marks ---------------------------------------------------------------------


async def show(store: SqlStore, s: Scope) -> Digest:
    """Pull a digest and record it as shown, as the digest flow does."""
    async with store.unit() as unit:
        d = await unit.digest(s, PRINCIPLES, {C: ["public"]}, TODAY)
        await unit.add([DigestShown(s.key, dict(d.marks))], IN)
    return d


async def test_new_only_digests_never_repeat_and_then_show_only_the_new(store: SqlStore) -> None:
    [exp] = await add(store, experiment("e", date(2026, 3, 1), date(2026, 3, 30)), at=BEFORE)
    [statement_id] = await add(store, ProblemStatement(C, "U2", "why", 3, 3, 3))
    await add(
        store, member("U1"), Resource(C, "U1", "hall", "space", "public", "x"),
        Strength(C, "U1", "s", "w", "e"), Perspective(C, "U1", "citizen", "s", "s"),
        checkin(exp, 4, intended="seen"), Reflection(C, "U1", 2, "r"),
        story("first", "coalition"), story("secret", "private"), Frame(C, "U2", statement_id),
    )
    s = scope(Audience.COALITION, (C,), new_only=True)
    first = await show(store, s)
    assert titles(first) == ["first"] and not first.nothing_new
    assert [(e.title, e.intended) for e in first.experiments] == [("e", ("seen",))]
    assert first.participation.answers == 9
    assert first.marks["stories"] == max(first.marks["stories"], first.stories[0].id)

    again = await show(store, s)
    assert again.nothing_new
    assert (again.stories, again.strengths, again.experiments) == ((), (), ())
    assert (again.participation.answers, again.participation.active_members) == (0, 0)
    assert all(p.quiet for p in again.principles)
    assert [(m.new_members, m.resources_mapped) for m in again.mobilisation] == [(0, 0)]
    assert (again.outside_in.citizens_and_users, again.outside_in.share) == (0, None)
    assert dict(again.marks) == dict(first.marks)  # nothing new: the previous marks
    # A report of the same period still shows everything.
    assert titles(await digest(store, scope(Audience.COALITION, (C,)))) == ["first"]

    [new] = await add(store, story("second", "movement"), at=IN + timedelta(hours=1))
    third = await show(store, s)
    assert [s.id for s in third.stories] == [new]
    assert third.participation.answers == 1 and third.experiments == ()
    assert third.marks["stories"] == new
    assert {k: v for k, v in third.marks.items() if k != "stories"} == {
        k: v for k, v in first.marks.items() if k != "stories"}
    assert [p.stories for p in third.principles] == [1, 0, 0, 0]

    await add(store, checkin(exp, 2, intended="new seen"), at=IN + timedelta(hours=2))
    fourth = await show(store, s)
    [e] = fourth.experiments
    assert (e.intended, e.checkins, len(e.trend)) == (("new seen",), 2, 1)
    assert fourth.stories == () and fourth.participation.answers == 1
    assert (await show(store, s)).nothing_new


async def test_marks_of_two_audiences_are_independent(store: SqlStore) -> None:
    await add(store, story("both", "movement"))
    own, movement = scope(Audience.COALITION, (C,), new_only=True), scope(new_only=True)
    assert titles(await show(store, own)) == ["both"]
    assert titles(await digest(store, movement)) == ["both"]  # the movement has not seen it
    assert titles(await digest(store, scope(Audience.COALITION, (D,), new_only=True))) == []
    assert titles(await show(store, movement)) == ["both"]
    assert (await digest(store, movement)).nothing_new
    assert (await digest(store, own)).nothing_new


async def test_new_only_stays_within_the_period(store: SqlStore) -> None:
    await add(store, story("old"), at=BEFORE)
    await add(store, story("now"))
    assert titles(await digest(store, scope(new_only=True))) == ["now"]


async def test_shown_marks_only_ever_move_forward(store: SqlStore) -> None:
    async def marks() -> dict[tuple[str, str], int]:
        async with store.engine.connect() as connection:
            t = DigestMark
            rows = await connection.execute(select(t.key, t.kind, t.last_id))
            return {(key, kind): last_id for key, kind, last_id in rows}

    await add(store, DigestShown("movement", {"stories": 5, "checkins": 3}),
              DigestShown("coalition:harbour", {"stories": 2}))
    assert await marks() == {("movement", "stories"): 5, ("movement", "checkins"): 3,
                             ("coalition:harbour", "stories"): 2}
    await add(store, DigestShown("movement", {"stories": 4, "checkins": 7, "strengths": 1}))
    assert await marks() == {("movement", "stories"): 5, ("movement", "checkins"): 7,
                             ("movement", "strengths"): 1, ("coalition:harbour", "stories"): 2}
    assert await add(store, DigestShown("movement", {})) == [0]


async def test_marks_hold_back_records_up_to_them(store: SqlStore) -> None:
    ids = await add(store, story("a"), story("b"), story("c"))
    await add(store, DigestShown("movement", {"stories": ids[1]}))
    d = await digest(store, scope(new_only=True))
    assert titles(d) == ["c"]
    assert d.marks["stories"] == ids[2]


async def test_a_unit_and_the_store_give_the_same_digest(store: SqlStore) -> None:
    [exp] = await add(store, experiment("e", date(2026, 3, 1), date(2026, 3, 30)))
    await add(store, checkin(exp, 4, intended="seen"), story("s"), member("U1"),
              Reflection(C, "U1", 3, "r"), Strength(C, "U1", "s", "w", "e"))
    async with store.unit() as unit:
        inside = await unit.digest(scope(), PRINCIPLES, {C: ["citizen"]}, TODAY)
    assert inside == await digest(store, wanted={C: ["citizen"]})
    assert not inside.nothing_new


async def test_the_digests_database_settings_end_with_its_unit(
    store: SqlStore, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("the digest changes PostgreSQL settings only")
    names = ("plan_cache_mode", "jit", "max_parallel_workers_per_gather")

    async def settings() -> list[str]:
        async with store.engine.connect() as connection:
            return [(await connection.exec_driver_sql(f"SHOW {n}")).scalar_one() for n in names]

    before = await settings()
    async with store.unit() as unit:
        await unit.digest(scope(), PRINCIPLES, {}, TODAY)
        inside = [(await unit._db.exec_driver_sql(f"SHOW {n}")).scalar_one() for n in names]
    assert inside == ["force_custom_plan", "off", "0"]
    assert await settings() == before


async def test_prompts_sent_and_answered_count_delivered_prompts_and_their_answers(store: SqlStore) -> None:
    from bot.ports import Outgoing

    def prompt(member: str, kind: str, coalition: str = C) -> Outgoing:
        return Outgoing("schedule:weekly", f"{kind}-2026-03-03", f"member:{member}", coalition, "prompt",
                        {"kind": kind, "number": 1}, IN)

    [exp] = await add(store, experiment("Job café", date(2026, 3, 1), date(2026, 4, 1)))
    rows = [prompt("U1", "principle"), prompt("U2", "principle"), prompt("U3", "story"),
            prompt("U4", "principle", coalition=E),  # out of scope
            Outgoing("round:7", "invite", "member:U1", C, "checkin", {"round": 7}, IN),
            Outgoing("round:7", "invite", "member:U2", C, "checkin", {"round": 7}, IN),
            Outgoing("round:7", "invite", "member:U3", C, "checkin", {"round": 7}, IN)]  # never delivered
    await store.enqueue(rows, IN)
    for row in await store.claim("w", IN, 100, timedelta(minutes=1)):
        if row.target != "member:U3" or row.kind == "prompt":
            await store.sent(row.id, "w", "slack", "D1", "1", IN)
    await add(store, Reflection(C, "U1", 1, "An answer"), at=IN + timedelta(hours=2))  # answers U1's prompt
    await add(store, Reflection(C, "U2", 1, "Too early"), at=IN - timedelta(hours=2))  # before it: not an answer
    await add(store, CheckIn(C, "U2", exp, 4, (), "seen", "", "", "continue", round_id="7"))
    d = await digest(store)
    assert (d.participation.prompts_sent, d.participation.prompts_answered) == (5, 2)
    assert d.participation.response_rate == 0.4
