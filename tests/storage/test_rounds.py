"""Check-in rounds, schedule overrides and time zones (`bot.ports.Schedules`, the round
parts of `Reader`, and the records that change them), against every backend via `store`."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.ports import QUEUED, AnswerInfo, Override
from bot.records import CheckIn, CheckInRound, RoundClosed, ScheduleChanged
from storage.repository import SqlStore
from tests.storage.test_contract import C, OTHER, add, checkin, experiment

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CLOSES = NOW + timedelta(days=2)


async def an_experiment(store: SqlStore, coalition: str = C) -> int:
    [exp_id] = await add(store, experiment(date(2026, 3, 1), date(2026, 3, 30), coalition=coalition))
    return exp_id


def leader_round(exp_id: int, members: tuple[str, ...] = ("U1", "U2", "U3")) -> CheckInRound:
    return CheckInRound(C, exp_id, "L1", members, CLOSES, reminders=2, remind_after_s=3600)


def answer(exp_id: int, member: str, round_id: str, **kw) -> CheckIn:
    return dataclasses.replace(checkin(exp_id, round_id=round_id, **kw), member_id=member)


async def scheduled(store: SqlStore, origin: str, exp_id: int, **kw):
    fields = dict(coalition_id=C, experiment_id=exp_id, opened_by=None, opened_at=NOW,
                  closes_at=CLOSES, reminders=1, remind_after_s=600) | kw
    return await store.open_or_get_round(origin, **fields)


# -- rounds a leader opens -------------------------------------------------------------


async def test_opening_a_round_stores_it_with_its_invitations_and_progress(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    [round_id] = await add(store, leader_round(exp_id, ("U1", "U2", "U1")), now=NOW)

    async with store.unit() as unit:
        opened = await unit.round(round_id)
        assert await unit.open_round(C) == opened
        assert await unit.open_round(OTHER) is None
        assert await unit.round(round_id + 1) is None
    assert opened is not None and opened.origin.startswith("leader:")
    assert (opened.coalition_id, opened.experiment_id, opened.opened_by) == (C, exp_id, "L1")
    assert (opened.opened_at, opened.closes_at, opened.closed_at) == (NOW, CLOSES, None)
    assert (opened.reminders, opened.remind_after_s, opened.progress) == (2, 3600, None)

    rows = await store.outbox(source=f"round:{round_id}")
    assert [(r.occurrence, r.target, r.kind) for r in rows] == [
        ("invite", "member:U1", "checkin"),
        ("invite", "member:U2", "checkin"),  # U1 was listed twice: invited once
        ("progress", "member:L1", "progress"),
    ]
    assert {(r.coalition_id, r.state, r.due_at) for r in rows} == {(C, QUEUED, NOW)}
    assert {tuple(r.payload.items()) for r in rows} == {(("round", round_id),)}

    # Another round of the same leader: its own origin and messages.
    [second] = await add(store, leader_round(exp_id), now=NOW + timedelta(hours=1))
    assert len(await store.outbox(source=f"round:{second}")) == 4
    async with store.unit() as unit:
        assert (await unit.open_round(C)).id == second  # the most recently opened


async def test_a_round_and_its_messages_roll_back_together(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    with pytest.raises(RuntimeError):
        async with store.unit() as unit:
            await unit.add([leader_round(exp_id)], NOW)
            raise RuntimeError("the turn failed after the round was added")
    assert await store.rounds() == [] and await store.outbox() == []

    with pytest.raises(ValueError):  # an experiment of another coalition
        await add(store, leader_round(await an_experiment(store, OTHER)), now=NOW)
    assert await store.rounds() == [] and await store.outbox() == []


async def test_closing_a_round(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    [round_id] = await add(store, leader_round(exp_id), now=NOW)
    closed_at = NOW + timedelta(hours=3)
    assert await add(store, RoundClosed(round_id, "L1"), now=closed_at) == [0]
    assert await add(store, RoundClosed(round_id, "L1"), now=closed_at + timedelta(hours=1)) == [0]
    async with store.unit() as unit:
        assert (await unit.round(round_id)).closed_at == closed_at  # the first close counts
        assert await unit.open_round(C) is None
    assert not await store.close_round(round_id, closed_at + timedelta(hours=2))


async def test_answers_of_a_round(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    [round_id] = await add(store, leader_round(exp_id), now=NOW)
    await add(
        store,
        answer(exp_id, "U2", str(round_id), intended_seen="more visits", unintended="queues",
               decision="adapt", citizen_impact=5),
        checkin(exp_id),  # outside the round
        answer(exp_id, "U1", str(round_id)),
        answer(exp_id, "U3", str(round_id + 1)),
    )
    async with store.unit() as unit:
        assert await unit.answered(round_id) == {"U1", "U2"}
        assert await unit.answered(round_id + 7) == frozenset()
    assert await store.round_answers(round_id) == [
        AnswerInfo("U2", 5, "more visits", "queues", "adapt"),
        AnswerInfo("U1", 4, "yes", "none", "continue"),
    ]


# -- rounds the scheduler opens --------------------------------------------------------


async def test_scheduled_rounds_are_opened_once_per_origin(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    origin = f"weekly:{exp_id}:2026-W10"
    first = await scheduled(store, origin, exp_id)
    again = await scheduled(store, origin, exp_id, opened_at=NOW + timedelta(hours=1), reminders=5)
    assert again == first and first.opened_by is None and first.reminders == 1
    racing = await asyncio.gather(*(scheduled(store, "weekly:race", exp_id) for _ in range(4)))
    assert len({r.id for r in racing}) == 1
    assert [r.origin for r in await store.rounds()] == [origin, "weekly:race"]


async def test_listing_open_and_recently_closed_rounds(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    old, recent, open_ = [(await scheduled(store, name, exp_id)).id for name in ("a", "b", "c")]
    assert await store.close_round(old, NOW + timedelta(days=1))
    assert await store.close_round(recent, NOW + timedelta(days=3))
    since = NOW + timedelta(days=2)

    async def ids(**kw) -> list[int]:
        return [r.id for r in await store.rounds(**kw)]

    assert await ids() == [old, recent, open_]
    assert await ids(open_only=True) == [open_]
    assert await ids(closed_since=since) == [recent]
    assert await ids(open_only=True, closed_since=since) == [recent, open_]


async def test_progress_is_kept_as_json(store: SqlStore) -> None:
    exp_id = await an_experiment(store)
    round_id = (await scheduled(store, "x", exp_id)).id
    progress = {"platform": "slack", "conversation": "D1", "message_id": "1.2", "text": "2/3 ✅"}
    await store.set_progress(round_id, progress)
    async with store.unit() as unit:
        assert (await unit.round(round_id)).progress == progress


# -- schedule overrides, marks, zones --------------------------------------------------


async def test_schedule_changes_only_touch_what_they_give(store: SqlStore) -> None:
    async def overrides() -> dict:
        async with store.unit() as unit:
            return dict(await unit.overrides())

    assert await overrides() == {}
    await add(store, ScheduleChanged("weekly", C, "L1", paused=True))
    assert await overrides() == {("weekly", C): Override(paused=True)}
    await add(store, ScheduleChanged("weekly", C, "L2", time="07:30"))
    assert await overrides() == {("weekly", C): Override(True, "07:30")}
    await add(store, ScheduleChanged("weekly", C, "L1", paused=False),
              ScheduleChanged("weekly", OTHER, "L3", time="18:05"))
    assert await overrides() == {
        ("weekly", C): Override(False, "07:30"),
        ("weekly", OTHER): Override(False, "18:05"),
    }
    for bad in ("7:30", "24:00", "07:60", "07:30:00"):
        with pytest.raises(ValueError):
            await add(store, ScheduleChanged("weekly", C, "L1", time=bad))


async def test_planned_until_marks(store: SqlStore) -> None:
    assert await store.planned_until("weekly") is None
    await store.set_planned_until("weekly", NOW)
    await store.set_planned_until("weekly", NOW + timedelta(days=7))
    await store.set_planned_until("daily", NOW)
    assert await store.planned_until("weekly") == NOW + timedelta(days=7)
    with pytest.raises(ValueError):
        await store.set_planned_until("weekly", NOW.replace(tzinfo=None))


async def test_member_zones(store: SqlStore) -> None:
    await store.save_zone("U1", "Europe/Copenhagen", "slack", NOW)
    await store.save_zone("U2", "America/St_Johns", "teams", NOW)
    await store.save_zone("U1", "Europe/Lisbon", "slack", NOW + timedelta(days=1))
    assert await store.zones() == {"U1": "Europe/Lisbon", "U2": "America/St_Johns"}
