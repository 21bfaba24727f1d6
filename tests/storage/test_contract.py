"""The storage contract (`bot.ports.Store`), run against every backend via `store`."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.ports import FlowState, StaleState, StorageUnavailable
from bot.records import (
    CheckIn,
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
from storage.repository import SqlStore

C, OTHER = "T-coalition", "T-other"
NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=1)

TRICKY = [
    "🌱 seedling 👩🏽‍🌾",
    "æøå ÆØÅ",
    "مرحبا بالعالم",
    "שלום עולם",
    "quotes ' \" `",
    "'; DROP TABLE members; --",
    "line one\nline two\r\n\ttabbed",
    "%s %(name)s ? :param \\ \\\\",
    "",
]
TEXT = " | ".join(TRICKY)


def profile(member: str = "U1", sector: str = "public", coalition: str = C, **kw) -> MemberProfile:
    fields = dict(name=f"Name {member}", organisation="Org", brings="time") | kw
    return MemberProfile(coalition, member, sector=sector, **fields)


def experiment(starts: date, ends: date, member: str = "U1", coalition: str = C) -> Experiment:
    return Experiment(
        coalition, member, f"exp {starts}", "act", "effect", ("youth", "elders"), "library",
        starts, ends, "count visits", "Ada",
    )


def checkin(experiment_id: int, coalition: str = C, **kw) -> CheckIn:
    fields = dict(
        citizen_impact=4, effects=(("youth", 5), ("elders", 3)), intended_seen="yes",
        unintended="none", evidence="photos", decision="continue",
    ) | kw
    return CheckIn(coalition, "U1", experiment_id, **fields)


def statement(text: str, ratings: tuple[int, int, int], coalition: str = C) -> ProblemStatement:
    return ProblemStatement(coalition, "U1", text, *ratings)


def perspective(said: str, coalition: str = C) -> Perspective:
    return Perspective(coalition, "U2", "a resident", said, "a gap")


def story(title: str, member: str = "U1", **kw) -> Story:
    fields = dict(
        body="it worked", principles=(3, 1), sectors=("public", "civil"),
        consent="share", anonymous=False,
    ) | kw
    return Story(C, member, title, **fields)


async def add(store: SqlStore, *records, now: datetime = NOW) -> list[int]:
    async with store.unit() as unit:
        return await unit.add(records, now)


def state(version: int = 1, step: str = "ask", **data) -> FlowState:
    return FlowState("slack:T1:C1:U1", "U1", C, "join", step, version, data)


# -- text round trip ---------------------------------------------------------------------


async def test_text_round_trips_exactly_through_records_and_export(store: SqlStore) -> None:
    member = MemberProfile(C, "U1", TEXT, TEXT, TEXT, TEXT, TEXT)
    [exp_id] = await add(store, Experiment(
        C, "U1", TEXT, TEXT, TEXT, tuple(TRICKY), TEXT, date(2026, 3, 1), date(2026, 3, 9),
        TEXT, TEXT,
    ))
    await add(
        store,
        member,
        Resource(C, "U1", TEXT, TEXT, TEXT, TEXT),
        Strength(C, "U1", TEXT, TEXT, TEXT, TEXT),
        Perspective(C, "U1", TEXT, TEXT, TEXT),
        ProblemStatement(C, "U1", TEXT, 1, 2, 3),
        CheckIn(C, "U1", exp_id, 3, tuple((t, 2) for t in TRICKY), TEXT, TEXT, TEXT, TEXT, TEXT),
        Reflection(C, "U1", 2, TEXT),
        Story(C, "U1", TEXT, TEXT, (1,), tuple(TRICKY), TEXT, True),
    )
    async with store.unit() as unit:
        assert await unit.member_profile(C, "U1") == member
        assert (await unit.experiment(exp_id)).stakeholders == tuple(TRICKY)
        assert [s.statement for s in await unit.open_statements(C)] == [TEXT]
        assert [s.title for s in await unit.stories(C, "U1")] == [TEXT]

    exported = await store.export(C)
    json.dumps(exported)  # JSON-ready
    skip = {"id", "coalition_id", "member_id", "created_at", "joined_at", "updated_at"}
    texts = {
        (kind, key): value
        for kind, rows in exported.items()
        for row in rows[:1]
        for key, value in row.items()
        if isinstance(value, str) and key not in skip and not key.endswith(("_on", "_at"))
    }
    assert len(texts) == 32 and set(texts.values()) == {TEXT}, texts
    assert exported["experiments"][0]["stakeholders"] == TRICKY
    assert [e["stakeholder"] for e in exported["checkins"][0]["effects"]] == TRICKY
    assert sorted(exported["stories"][0]["sectors"]) == sorted(TRICKY)


async def test_text_round_trips_through_flow_state_data(store: SqlStore) -> None:
    data = {t or "empty": [t, {"nested": t}, 1, 2.5, None, True] for t in TRICKY}
    key = "teams:" + TEXT  # keys are platform ids, but nothing should break on odd ones
    saved = FlowState(key, "U1", C, "join", "ask", 1, data)
    async with store.unit() as unit:
        await unit.save_state(saved)
    async with store.unit() as unit:
        assert await unit.load_state(key) == saved
        assert await unit.load_state(key + "x") is None


# -- events and flow state -------------------------------------------------------------


async def test_claim_event_is_true_once_across_units(store: SqlStore) -> None:
    async with store.unit() as unit:
        assert await unit.claim_event("Ev1") is True
        assert await unit.claim_event("Ev1") is False
        assert await unit.claim_event("Ev2") is True
    async with store.unit() as unit:
        assert await unit.claim_event("Ev1") is False
        assert await unit.claim_event("ev1") is True  # ids are case-sensitive


async def test_save_state_inserts_then_updates_version_by_version(store: SqlStore) -> None:
    async with store.unit() as unit:
        await unit.save_state(state(1, answers={"name": "Ada"}))
    async with store.unit() as unit:
        assert await unit.load_state(state().key) == state(1, answers={"name": "Ada"})
        await unit.save_state(state(2, step="sector", answers={"name": "Ada", "x": 1}))
        await unit.save_state(state(3, step="done"))
    async with store.unit() as unit:
        assert await unit.load_state(state().key) == state(3, step="done")


@pytest.mark.parametrize("version", [1, 2, 4])
async def test_stale_save_raises_and_leaves_stored_state_unchanged(
    store: SqlStore, version: int
) -> None:
    async with store.unit() as unit:
        await unit.save_state(state(1, answers="first"))
        await unit.save_state(state(2, answers="second"))
    async with store.unit() as unit:
        with pytest.raises(StaleState):
            await unit.save_state(state(version, step="lost", answers="stale"))
        # The transaction is still usable (no aborted PostgreSQL transaction) and commits.
        assert await unit.claim_event("after-stale") is True
        assert await unit.load_state(state().key) == state(2, answers="second")
    async with store.unit() as unit:
        assert await unit.load_state(state().key) == state(2, answers="second")
        assert await unit.claim_event("after-stale") is False


async def test_update_of_a_missing_state_is_stale(store: SqlStore) -> None:
    async with store.unit() as unit:
        with pytest.raises(StaleState):
            await unit.save_state(state(2))
        assert await unit.load_state(state().key) is None


async def test_delete_state_only_at_the_given_version(store: SqlStore) -> None:
    async with store.unit() as unit:
        await unit.save_state(state(1))
        await unit.save_state(state(2, step="b"))
    async with store.unit() as unit:
        for stale in (1, 3):
            with pytest.raises(StaleState):
                await unit.delete_state(state().key, stale)
        assert await unit.load_state(state().key) == state(2, step="b")
        await unit.delete_state(state().key, 2)
        assert await unit.load_state(state().key) is None
        with pytest.raises(StaleState):
            await unit.delete_state(state().key, 2)
    async with store.unit() as unit:
        assert await unit.load_state(state().key) is None


async def test_an_exception_in_a_unit_rolls_back_everything(store: SqlStore) -> None:
    async with store.unit() as unit:
        await unit.save_state(state(1))
    with pytest.raises(RuntimeError, match="boom"):
        async with store.unit() as unit:
            assert await unit.claim_event("Ev1") is True
            await unit.save_state(state(2, step="moved"))
            await unit.save_state(FlowState("other", "U9", C, "join", "ask"))
            [exp_id] = await unit.add([experiment(date(2026, 3, 1), date(2026, 3, 2))], NOW)
            await unit.add([profile(), statement("s", (1, 1, 1)), checkin(exp_id), story("t")], NOW)
            assert await unit.sector_counts(C) == {"public": 1}  # visible inside the unit
            raise RuntimeError("boom")
    async with store.unit() as unit:
        assert await unit.claim_event("Ev1") is True
        assert await unit.load_state(state().key) == state(1)
        assert await unit.load_state("other") is None
        assert await unit.sector_counts(C) == {}
    assert all(rows == [] for rows in (await store.export(C)).values())


async def test_a_failure_aside_undoes_only_its_own_part_of_the_unit(store: SqlStore) -> None:
    async with store.unit() as unit:
        assert await unit.claim_event("Ev-aside") is True
        with pytest.raises(RuntimeError, match="aside"):
            async with unit.aside():
                await unit.save_zone("lea", "Europe/Copenhagen", "slack", NOW)
                await unit.save_state(FlowState("gone", "U9", C, "join", "ask"))
                raise RuntimeError("aside")
        # A statement the database refuses: PostgreSQL aborts the whole transaction at one,
        # unless it was aside.
        with pytest.raises(DBAPIError):
            async with unit.aside():
                await unit.save_locale("mo", "da-DK", NOW)
                await unit._db.execute(text("SELECT * FROM no_such_table"))
        async with unit.aside():
            await unit.save_locale("lea", "da-DK", NOW)
            await unit.save_zone("mo", "Europe/London", "slack", NOW)
        await unit.save_state(state(1))
    async with store.unit() as unit:
        assert await unit.claim_event("Ev-aside") is False
        assert await unit.load_state(state().key) == state(1)
        assert await unit.load_state("gone") is None
    assert await store.zones() == {"mo": "Europe/London"}
    assert await store.languages() == {"lea": (None, "da-DK")}


async def test_a_connection_lost_aside_fails_the_whole_unit_with_the_first_error(store: SqlStore) -> None:
    with pytest.raises(StorageUnavailable, match="lost"):
        async with store.unit() as unit:
            await unit.claim_event("Ev-lost")
            async with unit.aside():
                await unit._db.invalidate()  # as a database restart does: nothing to roll back to
                raise StorageUnavailable("the database connection was lost")
    async with store.unit() as unit:  # the next unit works, and nothing of that one stayed
        assert await unit.claim_event("Ev-lost") is True


async def test_records_need_an_aware_now(store: SqlStore) -> None:
    async with store.unit() as unit:
        with pytest.raises(ValueError, match="timezone-aware"):
            await unit.add([profile()], NOW.replace(tzinfo=None))


# -- members -----------------------------------------------------------------------------


async def test_joining_again_updates_the_profile_and_keeps_joined_at(store: SqlStore) -> None:
    [first] = await add(store, profile(sector="public", platform="slack"))
    [again] = await add(store, profile(sector="civil", name="Ada L."), now=LATER)
    assert again == first
    async with store.unit() as unit:
        assert await unit.member_profile(C, "U1") == profile(sector="civil", name="Ada L.")
        assert await unit.member_profile(C, "U2") is None
        assert await unit.member_profile(OTHER, "U1") is None
    [row] = (await store.export(C))["members"]
    assert row["joined_at"] == NOW.isoformat() and row["updated_at"] == LATER.isoformat()


async def test_sector_counts_count_members_of_the_coalition(store: SqlStore) -> None:
    await add(
        store,
        profile("U1", "public"), profile("U2", "public"), profile("U3", "business"),
        profile("U4", "civil"), profile("U1", "public", coalition=OTHER),
        profile("U5", "research", coalition=OTHER),
        profile("U3", "public"),  # U3 moves sector: counted once, in the new one
    )
    async with store.unit() as unit:
        assert await unit.sector_counts(C) == {"public": 3, "civil": 1}
        assert await unit.sector_counts(OTHER) == {"public": 1, "research": 1}
        assert await unit.sector_counts("nobody") == {}


# -- experiments ---------------------------------------------------------------------------


async def test_experiments_running_on_is_inclusive_and_ordered_by_end(store: SqlStore) -> None:
    a, b, c, d = await add(
        store,
        experiment(date(2026, 3, 1), date(2026, 3, 10)),
        experiment(date(2026, 3, 5), date(2026, 3, 5), member="U2"),
        experiment(date(2026, 3, 11), date(2026, 3, 20)),
        experiment(date(2026, 3, 1), date(2026, 3, 10), member="U2"),
    )
    await add(store, experiment(date(2026, 3, 1), date(2026, 3, 31), coalition=OTHER))

    async def ids(**kw) -> list[int]:
        async with store.unit() as unit:
            return [e.id for e in await unit.experiments(C, **kw)]

    assert await ids() == [b, a, d, c]
    assert await ids(running_on=date(2026, 2, 28)) == []
    assert await ids(running_on=date(2026, 3, 1)) == [a, d]
    assert await ids(running_on=date(2026, 3, 5)) == [b, a, d]
    assert await ids(running_on=date(2026, 3, 10)) == [a, d]
    assert await ids(running_on=date(2026, 3, 11)) == [c]
    assert await ids(running_on=date(2026, 3, 21)) == []
    assert await ids(member_id="U2") == [b, d]
    assert await ids(member_id="U2", running_on=date(2026, 3, 6)) == [d]


async def test_experiment_info_counts_checkins(store: SqlStore) -> None:
    a, b = await add(
        store,
        experiment(date(2026, 3, 1), date(2026, 3, 10)),
        experiment(date(2026, 3, 2), date(2026, 3, 12)),
    )
    await add(store, checkin(a), checkin(a, round_id="r1"), checkin(a), checkin(b))
    async with store.unit() as unit:
        info = await unit.experiment(a)
        assert info is not None
        assert (info.id, info.coalition_id, info.member_id) == (a, C, "U1")
        assert info.title == "exp 2026-03-01"
        assert info.stakeholders == ("youth", "elders")
        assert (info.starts_on, info.ends_on) == (date(2026, 3, 1), date(2026, 3, 10))
        assert info.owner == "Ada"
        assert info.checkins == 3
        assert [(e.id, e.checkins) for e in await unit.experiments(C)] == [(a, 3), (b, 1)]
        assert await unit.experiment(b + 100) is None


async def test_checkin_must_name_an_experiment_of_the_coalition(store: SqlStore) -> None:
    [theirs] = await add(store, experiment(date(2026, 3, 1), date(2026, 3, 2), coalition=OTHER))
    async with store.unit() as unit:
        for missing in (theirs, theirs + 1):
            with pytest.raises(ValueError):
                await unit.add([checkin(missing)], NOW)
        await unit.claim_event("still-usable")
    assert (await store.export(C))["checkins"] == []


# -- framing rounds ------------------------------------------------------------------------


async def test_open_statements_are_scored_and_ordered(store: SqlStore) -> None:
    low, high, tie_a, tie_b = await add(
        store,
        statement("low", (1, 2, 2)),
        statement("high", (5, 5, 4)),
        statement("tie a", (3, 3, 3)),
        statement("tie b", (4, 3, 2)),
    )
    await add(store, statement("elsewhere", (5, 5, 5), coalition=OTHER))
    async with store.unit() as unit:
        found = await unit.open_statements(C)
    assert [(s.id, s.statement, s.member_id) for s in found] == [
        (high, "high", "U1"), (tie_a, "tie a", "U1"), (tie_b, "tie b", "U1"), (low, "low", "U1"),
    ]
    assert [s.score for s in found] == pytest.approx([14 / 3, 3.0, 3.0, 5 / 3])
    assert all(isinstance(s.score, float) for s in found)


async def test_a_frame_closes_the_round(store: SqlStore) -> None:
    p1, p2, s1, s2 = await add(
        store, perspective("one"), perspective("two"),
        statement("first", (3, 3, 3)), statement("chosen", (2, 2, 2)),
    )
    [p_other, s_other] = await add(
        store, perspective("theirs", coalition=OTHER), statement("theirs", (1, 1, 1), OTHER)
    )
    async with store.unit() as unit:
        assert await unit.open_perspective_count(C) == 2
        assert await unit.current_frame(C) is None
        [frame_id] = await unit.add([Frame(C, "U3", s2)], NOW)
        assert await unit.open_statements(C) == []
        assert await unit.open_perspective_count(C) == 0
        frame = await unit.current_frame(C)
        assert (frame.id, frame.statement, frame.perspectives, frame.closed_at) == (
            frame_id, "chosen", 2, NOW
        )
        # Another coalition's round stays open.
        assert [s.id for s in await unit.open_statements(OTHER)] == [s_other]
        assert await unit.open_perspective_count(OTHER) == 1
        assert await unit.current_frame(OTHER) is None

    # A closed statement cannot close another round, nor can another coalition's.
    for bad in (Frame(C, "U3", s1), Frame(C, "U3", s_other), Frame(C, "U3", s_other + 99)):
        with pytest.raises(ValueError):
            await add(store, bad)

    # The next round: only what is new gets linked to the next frame.
    p3, s3 = await add(store, perspective("three"), statement("next", (4, 4, 4)), now=LATER)
    async with store.unit() as unit:
        assert await unit.open_perspective_count(C) == 1
        assert [s.id for s in await unit.open_statements(C)] == [s3]
        [next_frame] = await unit.add([Frame(C, "U1", s3)], LATER)
        frame = await unit.current_frame(C)
        assert (frame.id, frame.statement, frame.perspectives, frame.closed_at) == (
            next_frame, "next", 1, LATER
        )

    exported = await store.export(C)
    assert [(f["id"], f["statement_id"], f["statement"], f["perspective_ids"], f["member_id"])
            for f in exported["frames"]] == [
        (frame_id, s2, "chosen", [p1, p2], "U3"), (next_frame, s3, "next", [p3], "U1"),
    ]
    assert {p["id"]: p["frame_id"] for p in exported["perspectives"]} == {
        p1: frame_id, p2: frame_id, p3: next_frame
    }
    assert {s["id"]: s["frame_id"] for s in exported["problem_statements"]} == {
        s1: frame_id, s2: frame_id, s3: next_frame
    }
    assert [p["frame_id"] for p in (await store.export(OTHER))["perspectives"]] == [None]
    assert p_other not in (p1, p2, p3)


# -- stories -------------------------------------------------------------------------------


async def test_stories_are_the_members_own_newest_first(store: SqlStore) -> None:
    [old] = await add(store, story("old", anonymous=True, consent="internal"))
    [theirs] = await add(store, story("theirs", member="U2"), now=LATER)
    [new] = await add(store, story("new"), now=LATER)
    async with store.unit() as unit:
        found = await unit.stories(C, "U1")
        assert [
            (s.id, s.title, s.consent, s.anonymous, s.withdrawn, s.created_at) for s in found
        ] == [
            (new, "new", "share", False, False, LATER),
            (old, "old", "internal", True, False, NOW),
        ]
        assert [s.id for s in await unit.stories(C, "U2")] == [theirs]
        assert await unit.stories(OTHER, "U1") == []


async def test_only_the_author_can_withdraw_a_story(store: SqlStore) -> None:
    [mine, kept] = await add(store, story("mine"), story("kept"))
    for bad in (StoryWithdrawal(mine, "U2"), StoryWithdrawal(mine + 99, "U1")):
        with pytest.raises(ValueError):
            await add(store, bad, now=LATER)
    async with store.unit() as unit:
        assert [s.withdrawn for s in await unit.stories(C, "U1")] == [False, False]
        assert await unit.add([StoryWithdrawal(mine, "U1")], LATER) == [0]
        assert {s.id: s.withdrawn for s in await unit.stories(C, "U1")} == {mine: True, kept: False}
    await add(store, StoryWithdrawal(mine, "U1"), now=LATER + timedelta(days=1))  # again: no-op
    stories = {s["id"]: s for s in (await store.export(C))["stories"]}
    assert stories[mine]["withdrawn_at"] == LATER.isoformat()
    assert stories[kept]["withdrawn_at"] is None


# -- export --------------------------------------------------------------------------------


async def test_export_holds_every_record_of_the_coalition(store: SqlStore) -> None:
    local = datetime(2026, 3, 2, 11, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert local == NOW  # the same instant: stored and returned as UTC
    [member_id] = await add(store, profile(platform="teams"), now=local)
    [res, stren, persp, stmt, exp, refl] = await add(
        store,
        Resource(C, "U1", "Hall", "room", "public", "free on Mondays"),
        Strength(C, "U1", "ran a festival", "trust", "do it twice"),
        perspective("we need shade"),
        statement("heat", (5, 4, 3)),
        experiment(date(2026, 3, 1), date(2026, 3, 31)),
        Reflection(C, "U1", 4, "learned a lot"),
    )
    [frame] = await add(store, Frame(C, "U2", stmt))
    [chk, sto] = await add(
        store, checkin(exp), story("shade", principles=(5, 2, 5), sectors=("civil", "public"))
    )
    await add(store, profile("U9", coalition=OTHER), Reflection(OTHER, "U9", 1, "not ours"))

    exported = await store.export(C)
    assert json.loads(json.dumps(exported)) == exported
    at = NOW.isoformat()
    assert exported == {
        "members": [{
            "id": member_id, "coalition_id": C, "member_id": "U1", "name": "Name U1",
            "sector": "public", "organisation": "Org", "brings": "time", "platform": "teams",
            "joined_at": at, "updated_at": at,
        }],
        "resources": [{
            "id": res, "coalition_id": C, "member_id": "U1", "name": "Hall", "kind": "room",
            "sector": "public", "offer": "free on Mondays", "created_at": at, "erased_at": None,
        }],
        "strengths": [{
            "id": stren, "coalition_id": C, "member_id": "U1", "success": "ran a festival",
            "why": "trust", "enlarge": "do it twice", "challenge": "", "created_at": at, "erased_at": None,
        }],
        "perspectives": [{
            "id": persp, "coalition_id": C, "member_id": "U2", "voice": "a resident",
            "said": "we need shade", "shows": "a gap", "frame_id": frame, "created_at": at, "erased_at": None,
        }],
        "problem_statements": [{
            "id": stmt, "coalition_id": C, "member_id": "U1", "statement": "heat",
            "cross_sector": 5, "complex": 4, "not_solved": 3, "frame_id": frame,
            "created_at": at, "erased_at": None,
        }],
        "frames": [{
            "id": frame, "coalition_id": C, "member_id": "U2", "statement_id": stmt,
            "statement": "heat", "perspective_ids": [persp], "created_at": at, "erased_at": None,
        }],
        "experiments": [{
            "id": exp, "coalition_id": C, "member_id": "U1", "title": "exp 2026-03-01",
            "action": "act", "intended_effect": "effect", "stakeholders": ["youth", "elders"],
            "partners": "library", "starts_on": "2026-03-01", "ends_on": "2026-03-31",
            "measures": "count visits", "owner": "Ada", "created_at": at, "erased_at": None,
        }],
        "checkins": [{
            "id": chk, "coalition_id": C, "member_id": "U1", "experiment_id": exp,
            "citizen_impact": 4, "intended_seen": "yes", "unintended": "none",
            "evidence": "photos", "decision": "continue", "round_id": None, "created_at": at, "erased_at": None,
            "effects": [
                {"stakeholder": "youth", "rating": 5}, {"stakeholder": "elders", "rating": 3},
            ],
        }],
        "reflections": [{
            "id": refl, "coalition_id": C, "member_id": "U1", "principle": 4,
            "text": "learned a lot", "created_at": at, "erased_at": None,
        }],
        "stories": [{
            "id": sto, "coalition_id": C, "member_id": "U1", "title": "shade",
            "body": "it worked", "consent": "share", "anonymous": False, "withdrawn_at": None,
            "principles": [2, 5], "sectors": ["civil", "public"], "created_at": at, "erased_at": None,
        }],
    }
    assert at.endswith("+00:00")


async def test_export_rows_are_ordered_by_id(store: SqlStore) -> None:
    ids = await add(store, *(Reflection(C, f"U{i}", i, f"r{i}") for i in range(5)))
    ids += await add(store, Reflection(C, "U0", 0, "earlier"), now=NOW - timedelta(days=3))
    assert [r["id"] for r in (await store.export(C))["reflections"]] == sorted(ids)
    assert len(set(ids)) == 6 and all(isinstance(i, int) and i > 0 for i in ids)
